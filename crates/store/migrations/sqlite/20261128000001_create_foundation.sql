-- Foundation: division tree and grids, accounts, sessions, API tokens, login throttling, audit chain,
-- and the registry's core tables that the demo seed fills (the registry issue extends them).
-- Times are unix milliseconds (BIGINT) on both backends so one query text serves both.

CREATE TABLE divisions (
    code        TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    level       TEXT NOT NULL,
    parent_code TEXT REFERENCES divisions(code),
    path        TEXT NOT NULL UNIQUE,
    depth       BIGINT NOT NULL,
    lon         DOUBLE PRECISION,
    lat         DOUBLE PRECISION
);
CREATE INDEX divisions_parent ON divisions(parent_code, code);

CREATE TABLE organizations (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL,
    credit_code   TEXT NOT NULL UNIQUE,
    kind          TEXT NOT NULL,
    division_code TEXT NOT NULL REFERENCES divisions(code),
    division_path TEXT NOT NULL,
    address       TEXT NOT NULL DEFAULT '',
    lon           DOUBLE PRECISION,
    lat           DOUBLE PRECISION,
    contact_name  TEXT NOT NULL DEFAULT '',
    contact_phone TEXT NOT NULL DEFAULT '',
    domains       TEXT NOT NULL DEFAULT '',
    people_count  BIGINT NOT NULL DEFAULT 0,
    state         TEXT NOT NULL DEFAULT 'filed',
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
CREATE INDEX organizations_path ON organizations(division_path, id);
CREATE INDEX organizations_name ON organizations(name, id);

CREATE TABLE volunteers (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL,
    id_number     TEXT NOT NULL UNIQUE,
    phone         TEXT NOT NULL,
    division_code TEXT NOT NULL REFERENCES divisions(code),
    division_path TEXT NOT NULL,
    lon           DOUBLE PRECISION,
    lat           DOUBLE PRECISION,
    skills        TEXT NOT NULL DEFAULT '',
    insured       BIGINT NOT NULL DEFAULT 0,
    org_id        BIGINT REFERENCES organizations(id),
    created_at    BIGINT NOT NULL
);
CREATE INDEX volunteers_path ON volunteers(division_path, id);
CREATE INDEX volunteers_org ON volunteers(org_id, id);

CREATE TABLE households (
    id            INTEGER PRIMARY KEY,
    grid_code     TEXT NOT NULL REFERENCES divisions(code),
    division_path TEXT NOT NULL,
    address       TEXT NOT NULL,
    lon           DOUBLE PRECISION NOT NULL,
    lat           DOUBLE PRECISION NOT NULL,
    members       BIGINT NOT NULL,
    vulnerable    TEXT NOT NULL DEFAULT '',
    contact_phone TEXT NOT NULL DEFAULT ''
);
CREATE INDEX households_path ON households(division_path, id);

CREATE TABLE users (
    id                  INTEGER PRIMARY KEY,
    username            TEXT NOT NULL UNIQUE,
    display_name        TEXT NOT NULL,
    password_hash       TEXT NOT NULL,
    role                TEXT NOT NULL,
    division_code       TEXT REFERENCES divisions(code),
    division_path       TEXT,
    org_id              BIGINT REFERENCES organizations(id),
    lang                TEXT NOT NULL DEFAULT 'zh',
    disabled            BIGINT NOT NULL DEFAULT 0,
    created_at          BIGINT NOT NULL,
    password_changed_at BIGINT NOT NULL
);

CREATE TABLE sessions (
    id_hash    TEXT PRIMARY KEY,
    user_id    BIGINT NOT NULL REFERENCES users(id),
    csrf_token TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    last_seen  BIGINT NOT NULL,
    ip         TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE api_tokens (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    user_id    BIGINT NOT NULL REFERENCES users(id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT,
    revoked_at BIGINT
);

CREATE TABLE login_failures (
    id      INTEGER PRIMARY KEY,
    key     TEXT NOT NULL,
    at      BIGINT NOT NULL
);
CREATE INDEX login_failures_key ON login_failures(key, at);

CREATE TABLE audit_head (
    id   BIGINT PRIMARY KEY,
    seq  BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

CREATE TABLE audit_log (
    seq           BIGINT PRIMARY KEY,
    at            BIGINT NOT NULL,
    user_id       BIGINT NOT NULL,
    username      TEXT NOT NULL,
    role          TEXT NOT NULL,
    division_code TEXT NOT NULL,
    action        TEXT NOT NULL,
    object_type   TEXT NOT NULL,
    object_id     TEXT NOT NULL,
    summary       TEXT NOT NULL,
    request_id    TEXT NOT NULL,
    ip            TEXT NOT NULL,
    prev_hash     TEXT NOT NULL,
    hash          TEXT NOT NULL
);
CREATE INDEX audit_log_at ON audit_log(at);
