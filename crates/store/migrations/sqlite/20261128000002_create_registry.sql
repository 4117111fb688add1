-- Registry of social forces (capability A): filing history, rescue specialties and grades,
-- equipment, insurance, inspections/evaluations/spot checks, teams and memberships, volunteer
-- certificates and availability, leader training. Personal data moves to encrypted columns:
-- `*_enc` hold ChaCha20-Poly1305 ciphertext (base64, key from TONGXIN_DATA_KEY) and `*_hash`
-- an HMAC-SHA256 blind index for lookups and uniqueness. `pii_v` = 0 marks rows written before
-- this migration (plain values still in the renamed columns); the application re-encrypts them.

ALTER TABLE organizations RENAME COLUMN contact_phone TO contact_phone_enc;
ALTER TABLE organizations ADD COLUMN pii_v BIGINT NOT NULL DEFAULT 0;
ALTER TABLE organizations ADD COLUMN specialties TEXT NOT NULL DEFAULT '';
ALTER TABLE organizations ADD COLUMN grade TEXT NOT NULL DEFAULT '';
ALTER TABLE organizations ADD COLUMN state_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE organizations ADD COLUMN last_inspection_year BIGINT NOT NULL DEFAULT 0;
ALTER TABLE organizations ADD COLUMN eval_grade TEXT NOT NULL DEFAULT '';
ALTER TABLE organizations ADD COLUMN insured_until TEXT NOT NULL DEFAULT '';
CREATE INDEX organizations_state ON organizations(state, name, id);
CREATE INDEX organizations_kind ON organizations(kind, name, id);

ALTER TABLE volunteers RENAME COLUMN id_number TO id_hash;
ALTER TABLE volunteers RENAME COLUMN phone TO phone_enc;
ALTER TABLE volunteers ADD COLUMN id_enc TEXT NOT NULL DEFAULT '';
ALTER TABLE volunteers ADD COLUMN phone_hash TEXT NOT NULL DEFAULT '';
ALTER TABLE volunteers ADD COLUMN pii_v BIGINT NOT NULL DEFAULT 0;
ALTER TABLE volunteers ADD COLUMN birth_year BIGINT NOT NULL DEFAULT 0;
ALTER TABLE volunteers ADD COLUMN real_name BIGINT NOT NULL DEFAULT 0;
ALTER TABLE volunteers ADD COLUMN available_now BIGINT NOT NULL DEFAULT 0;
ALTER TABLE volunteers ADD COLUMN weekly TEXT NOT NULL DEFAULT '';
ALTER TABLE volunteers ADD COLUMN cert_kinds TEXT NOT NULL DEFAULT '';
ALTER TABLE volunteers ADD COLUMN user_id BIGINT;
ALTER TABLE volunteers ADD COLUMN updated_at BIGINT NOT NULL DEFAULT 0;
CREATE INDEX volunteers_phone_hash ON volunteers(phone_hash);
CREATE INDEX volunteers_name ON volunteers(name, id);
CREATE INDEX volunteers_user ON volunteers(user_id);

-- Every filing decision, oldest first.
CREATE TABLE org_state_history (
    id          INTEGER PRIMARY KEY,
    org_id      BIGINT NOT NULL REFERENCES organizations(id),
    from_state  TEXT NOT NULL,
    to_state    TEXT NOT NULL,
    reason      TEXT NOT NULL DEFAULT '',
    user_id     BIGINT NOT NULL,
    username    TEXT NOT NULL,
    at          BIGINT NOT NULL
);
CREATE INDEX org_state_history_org ON org_state_history(org_id, id);

CREATE TABLE org_equipment (
    id       INTEGER PRIMARY KEY,
    org_id   BIGINT NOT NULL REFERENCES organizations(id),
    name     TEXT NOT NULL,
    quantity BIGINT NOT NULL,
    note     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX org_equipment_org ON org_equipment(org_id, id);

CREATE TABLE org_insurance (
    id             INTEGER PRIMARY KEY,
    org_id         BIGINT NOT NULL REFERENCES organizations(id),
    insurer        TEXT NOT NULL,
    policy_no      TEXT NOT NULL,
    covered_people BIGINT NOT NULL,
    valid_from     TEXT NOT NULL,
    valid_to       TEXT NOT NULL
);
CREATE INDEX org_insurance_org ON org_insurance(org_id, id);

-- Yearly inspection (年检), evaluation (评估, 1A–5A) and spot checks (抽查), per year.
CREATE TABLE org_reviews (
    id         INTEGER PRIMARY KEY,
    org_id     BIGINT NOT NULL REFERENCES organizations(id),
    kind       TEXT NOT NULL,
    year       BIGINT NOT NULL,
    result     TEXT NOT NULL,
    findings   TEXT NOT NULL DEFAULT '',
    user_id    BIGINT NOT NULL,
    username   TEXT NOT NULL,
    at         BIGINT NOT NULL
);
CREATE INDEX org_reviews_org ON org_reviews(org_id, year, id);

CREATE TABLE teams (
    id            INTEGER PRIMARY KEY,
    org_id        BIGINT NOT NULL REFERENCES organizations(id),
    name          TEXT NOT NULL,
    specialty     TEXT NOT NULL DEFAULT '',
    created_at    BIGINT NOT NULL,
    UNIQUE (org_id, name)
);

-- A volunteer's membership of an organisation (team_id 0 = no particular team).
CREATE TABLE memberships (
    id           INTEGER PRIMARY KEY,
    volunteer_id BIGINT NOT NULL REFERENCES volunteers(id),
    org_id       BIGINT NOT NULL REFERENCES organizations(id),
    team_id      BIGINT NOT NULL DEFAULT 0,
    state        TEXT NOT NULL,
    note         TEXT NOT NULL DEFAULT '',
    requested_at BIGINT NOT NULL,
    decided_at   BIGINT,
    decided_by   BIGINT,
    UNIQUE (volunteer_id, org_id, team_id)
);
CREATE INDEX memberships_org ON memberships(org_id, state, id);

CREATE TABLE volunteer_certificates (
    id           INTEGER PRIMARY KEY,
    volunteer_id BIGINT NOT NULL REFERENCES volunteers(id),
    kind         TEXT NOT NULL,
    name         TEXT NOT NULL,
    number       TEXT NOT NULL DEFAULT '',
    expires_on   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX volunteer_certificates_vol ON volunteer_certificates(volunteer_id, id);

-- Training of organisation leaders: courses run by a jurisdiction, sessions, attendance.
CREATE TABLE training_courses (
    id            INTEGER PRIMARY KEY,
    title         TEXT NOT NULL,
    division_code TEXT NOT NULL REFERENCES divisions(code),
    division_path TEXT NOT NULL,
    created_at    BIGINT NOT NULL
);
CREATE TABLE training_sessions (
    id        INTEGER PRIMARY KEY,
    course_id BIGINT NOT NULL REFERENCES training_courses(id),
    starts_at BIGINT NOT NULL,
    place     TEXT NOT NULL DEFAULT ''
);
CREATE TABLE training_attendance (
    id          INTEGER PRIMARY KEY,
    session_id  BIGINT NOT NULL REFERENCES training_sessions(id),
    org_id      BIGINT NOT NULL REFERENCES organizations(id),
    person_name TEXT NOT NULL,
    attended    BIGINT NOT NULL DEFAULT 1,
    UNIQUE (session_id, org_id, person_name)
);
