-- Alerts (capability G): authored and received CAP 1.2 alerts, rejected intake, pulled feeds,
-- and the product-wide notification outbox (channels, endpoints, preferences, delivery log).

CREATE TABLE alerts (
    id            INTEGER PRIMARY KEY,
    origin        TEXT NOT NULL DEFAULT 'local',
    state         TEXT NOT NULL,
    msg_type      TEXT NOT NULL DEFAULT 'Alert',
    ref_id        BIGINT REFERENCES alerts(id),
    identifier    TEXT,
    sender        TEXT NOT NULL,
    sent          BIGINT,
    category      TEXT NOT NULL,
    event         TEXT NOT NULL,
    colour        TEXT NOT NULL,
    urgency       TEXT NOT NULL,
    certainty     TEXT NOT NULL,
    headline      TEXT NOT NULL,
    description   TEXT NOT NULL DEFAULT '',
    instruction   TEXT NOT NULL DEFAULT '',
    effective     BIGINT NOT NULL,
    expires       BIGINT NOT NULL,
    area_desc     TEXT NOT NULL,
    area_json     TEXT NOT NULL,
    division_code TEXT NOT NULL DEFAULT '',
    division_path TEXT NOT NULL,
    reach_json    TEXT NOT NULL DEFAULT '{}',
    cap_xml       TEXT NOT NULL DEFAULT '',
    note          TEXT NOT NULL DEFAULT '',
    created_by    BIGINT,
    approved_by   BIGINT,
    created_at    BIGINT NOT NULL,
    approved_at   BIGINT,
    updated_at    BIGINT NOT NULL
);
CREATE UNIQUE INDEX alerts_cap_key ON alerts(sender, identifier, sent);
CREATE INDEX alerts_path ON alerts(division_path, id);
CREATE INDEX alerts_state ON alerts(state, expires);
CREATE INDEX alerts_ref ON alerts(ref_id);

CREATE TABLE alert_rejected (
    id        INTEGER PRIMARY KEY,
    at        BIGINT NOT NULL,
    origin    TEXT NOT NULL,
    size      BIGINT NOT NULL,
    errors    TEXT NOT NULL,
    excerpt   TEXT NOT NULL DEFAULT ''
);

CREATE TABLE alert_sources (
    id             INTEGER PRIMARY KEY,
    url            TEXT NOT NULL UNIQUE,
    interval_s     BIGINT NOT NULL,
    next_poll_at   BIGINT NOT NULL,
    last_polled_at BIGINT,
    last_status    TEXT NOT NULL DEFAULT '',
    created_by     BIGINT,
    created_at     BIGINT NOT NULL
);

CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    created_at      BIGINT NOT NULL,
    channel         TEXT NOT NULL,
    recipient       TEXT NOT NULL,
    user_id         BIGINT,
    kind            TEXT NOT NULL,
    ref_type        TEXT NOT NULL DEFAULT '',
    ref_id          BIGINT,
    urgent          BIGINT NOT NULL DEFAULT 0,
    idempotency_key TEXT NOT NULL UNIQUE,
    subject         TEXT NOT NULL DEFAULT '',
    body            TEXT NOT NULL DEFAULT '',
    link            TEXT NOT NULL DEFAULT '',
    state           TEXT NOT NULL DEFAULT 'queued',
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_at         BIGINT NOT NULL,
    locked_by       TEXT,
    locked_until    BIGINT,
    last_error      TEXT NOT NULL DEFAULT '',
    sent_at         BIGINT
);
CREATE INDEX outbox_due ON outbox(state, next_at);
CREATE INDEX outbox_ref ON outbox(ref_type, ref_id, state);

CREATE TABLE outbox_log (
    id        INTEGER PRIMARY KEY,
    outbox_id BIGINT NOT NULL,
    at        BIGINT NOT NULL,
    status    TEXT NOT NULL,
    detail    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX outbox_log_msg ON outbox_log(outbox_id, id);

CREATE TABLE outbox_endpoints (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL,
    url           TEXT NOT NULL,
    secret        TEXT NOT NULL,
    kinds         TEXT NOT NULL DEFAULT '',
    division_path TEXT NOT NULL DEFAULT '',
    active        BIGINT NOT NULL DEFAULT 1,
    created_at    BIGINT NOT NULL
);

CREATE TABLE notify_prefs (
    user_id     BIGINT PRIMARY KEY REFERENCES users(id),
    channels    TEXT NOT NULL DEFAULT 'inapp',
    email       TEXT NOT NULL DEFAULT '',
    phone_enc   TEXT NOT NULL DEFAULT '',
    quiet_start BIGINT,
    quiet_end   BIGINT,
    updated_at  BIGINT NOT NULL
);
