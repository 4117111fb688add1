-- Residents' requests as work orders (capability E), complaints and price monitoring (J).
-- Times are unix ms; deadlines are computed in Asia/Shanghai working time by the application
-- and stored here, so a restarted node escalates whatever became overdue while it was down.

-- The deadline policy (JSON, one row) and the holiday calendar (法定节假日 and 调休 working days).
CREATE TABLE wo_settings (
    id         BIGINT PRIMARY KEY,
    policy     TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
INSERT INTO wo_settings (id, policy, updated_at) VALUES (1, '{}', 0);

CREATE TABLE wo_calendar (
    day  TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    name TEXT NOT NULL DEFAULT ''
);

-- Cluster-wide lease of the overdue scan: one node at a time.
CREATE TABLE wo_lease (
    id     BIGINT PRIMARY KEY,
    holder TEXT NOT NULL,
    until  BIGINT NOT NULL
);
INSERT INTO wo_lease (id, holder, until) VALUES (1, '', 0);

CREATE TABLE work_orders (
    id                 INTEGER PRIMARY KEY,
    code               TEXT NOT NULL UNIQUE,
    track_hash         TEXT NOT NULL UNIQUE,
    kind               TEXT NOT NULL,
    urgency            TEXT NOT NULL,
    vulnerable         TEXT NOT NULL DEFAULT '',
    description        TEXT NOT NULL,
    division_code      TEXT NOT NULL,
    division_path      TEXT NOT NULL,
    district_code      TEXT NOT NULL,
    street_code        TEXT NOT NULL,
    address_enc        TEXT NOT NULL DEFAULT '',
    contact_name       TEXT NOT NULL DEFAULT '',
    phone_enc          TEXT NOT NULL DEFAULT '',
    lon                DOUBLE PRECISION,
    lat                DOUBLE PRECISION,
    requester_user_id  BIGINT,
    filed_by_user_id   BIGINT,
    channel            TEXT NOT NULL,
    state              TEXT NOT NULL,
    assignee_kind      TEXT NOT NULL DEFAULT '',
    assignee_org_id    BIGINT,
    assignee_user_id   BIGINT,
    assignee_name      TEXT NOT NULL DEFAULT '',
    step_started_at    BIGINT NOT NULL,
    due_at             BIGINT,
    escalate_at        BIGINT,
    step_ms            BIGINT NOT NULL DEFAULT 0,
    escalation         BIGINT NOT NULL DEFAULT 0,
    extensions         BIGINT NOT NULL DEFAULT 0,
    answer             TEXT NOT NULL DEFAULT '',
    rating             BIGINT,
    rating_comment     TEXT NOT NULL DEFAULT '',
    answered_on_time   BIGINT,
    answered_at        BIGINT,
    closed_at          BIGINT,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL
);
CREATE INDEX work_orders_path ON work_orders(division_path, id);
CREATE INDEX work_orders_escalate ON work_orders(escalate_at);
CREATE INDEX work_orders_org ON work_orders(assignee_org_id, id);
CREATE INDEX work_orders_requester ON work_orders(requester_user_id, id);

CREATE TABLE work_order_steps (
    id            INTEGER PRIMARY KEY,
    order_id      BIGINT NOT NULL REFERENCES work_orders(id),
    at            BIGINT NOT NULL,
    action        TEXT NOT NULL,
    from_state    TEXT NOT NULL,
    to_state      TEXT NOT NULL,
    actor_name    TEXT NOT NULL,
    note          TEXT NOT NULL DEFAULT '',
    due_at        BIGINT
);
CREATE INDEX work_order_steps_order ON work_order_steps(order_id, id);

CREATE TABLE complaints (
    id                 INTEGER PRIMARY KEY,
    track_hash         TEXT NOT NULL UNIQUE,
    category           TEXT NOT NULL,
    subject_kind       TEXT NOT NULL,
    subject_user_id    BIGINT,
    subject_org_id     BIGINT,
    subject_name       TEXT NOT NULL,
    division_code      TEXT NOT NULL,
    division_path      TEXT NOT NULL,
    district_code      TEXT NOT NULL,
    street_code        TEXT NOT NULL,
    description        TEXT NOT NULL,
    anonymous          BIGINT NOT NULL,
    complainant_user_id BIGINT,
    complainant_name   TEXT NOT NULL DEFAULT '',
    state              TEXT NOT NULL,
    handler_user_id    BIGINT,
    handler_name       TEXT NOT NULL DEFAULT '',
    verified           BIGINT,
    finding            TEXT NOT NULL DEFAULT '',
    due_at             BIGINT NOT NULL,
    escalate_at        BIGINT,
    escalation         BIGINT NOT NULL DEFAULT 0,
    concluded_at       BIGINT,
    on_time            BIGINT,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL
);
CREATE INDEX complaints_path ON complaints(division_path, id);
CREATE INDEX complaints_escalate ON complaints(escalate_at);

CREATE TABLE complaint_steps (
    id           INTEGER PRIMARY KEY,
    complaint_id BIGINT NOT NULL REFERENCES complaints(id),
    at           BIGINT NOT NULL,
    action       TEXT NOT NULL,
    to_state     TEXT NOT NULL,
    actor_name   TEXT NOT NULL,
    note         TEXT NOT NULL DEFAULT ''
);
CREATE INDEX complaint_steps_c ON complaint_steps(complaint_id, id);

CREATE TABLE complaint_files (
    id           INTEGER PRIMARY KEY,
    complaint_id BIGINT NOT NULL REFERENCES complaints(id),
    name         TEXT NOT NULL,
    mime         TEXT NOT NULL,
    size         BIGINT NOT NULL,
    content      BLOB NOT NULL
);
CREATE INDEX complaint_files_c ON complaint_files(complaint_id);

-- Live accountability figures, kept per community in the same transaction as each change, so
-- the public page sums a few hundred rows instead of scanning every order.
CREATE TABLE wo_stats (
    community_code       TEXT PRIMARY KEY,
    street_code          TEXT NOT NULL,
    district_code        TEXT NOT NULL,
    received             BIGINT NOT NULL DEFAULT 0,
    resolved             BIGINT NOT NULL DEFAULT 0,
    resolved_on_time     BIGINT NOT NULL DEFAULT 0,
    rating_sum           BIGINT NOT NULL DEFAULT 0,
    rating_n             BIGINT NOT NULL DEFAULT 0,
    complaints           BIGINT NOT NULL DEFAULT 0,
    complaints_verified  BIGINT NOT NULL DEFAULT 0,
    complaints_concluded BIGINT NOT NULL DEFAULT 0,
    complaints_on_time   BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX wo_stats_district ON wo_stats(district_code, street_code);

-- Price monitoring: reference prices per item, division and period; reported offers and sales.
CREATE TABLE price_refs (
    id            INTEGER PRIMARY KEY,
    item          TEXT NOT NULL,
    unit          TEXT NOT NULL,
    division_code TEXT NOT NULL,
    division_path TEXT NOT NULL,
    period        TEXT NOT NULL,
    price_fen     BIGINT NOT NULL,
    set_by        TEXT NOT NULL,
    created_at    BIGINT NOT NULL
);
CREATE UNIQUE INDEX price_refs_key ON price_refs(item, division_code, period);

CREATE TABLE price_reports (
    id            INTEGER PRIMARY KEY,
    item          TEXT NOT NULL,
    division_code TEXT NOT NULL,
    division_path TEXT NOT NULL,
    seller        TEXT NOT NULL,
    kind          TEXT NOT NULL,
    price_fen     BIGINT NOT NULL,
    ref_fen       BIGINT,
    flagged       BIGINT NOT NULL DEFAULT 0,
    reported_by   TEXT NOT NULL,
    reported_at   BIGINT NOT NULL
);
CREATE INDEX price_reports_path ON price_reports(division_path, id);
CREATE INDEX price_reports_item ON price_reports(item, reported_at);
