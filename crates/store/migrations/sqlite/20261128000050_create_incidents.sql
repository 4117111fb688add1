-- Incidents, graded mobilisation, tasks and dispatch (capabilities B, C, D).
-- Claims are race-safe in the database: a task slot is held by at most one live assignment
-- and a responder holds at most one live assignment (partial unique indexes), and every state
-- change is a conditional UPDATE on the expected state, so several app nodes cannot double-book.

CREATE TABLE incidents (
    id                INTEGER PRIMARY KEY,
    title             TEXT NOT NULL,
    category          TEXT NOT NULL,
    subtype           TEXT NOT NULL,
    severity          BIGINT NOT NULL,
    response_level    BIGINT NOT NULL DEFAULT 0,
    phase             TEXT NOT NULL DEFAULT 'response',
    state             TEXT NOT NULL DEFAULT 'open',
    merged_into       BIGINT,
    lon               DOUBLE PRECISION NOT NULL,
    lat               DOUBLE PRECISION NOT NULL,
    radius_m          BIGINT NOT NULL DEFAULT 0,
    division_code     TEXT NOT NULL REFERENCES divisions(code),
    division_path     TEXT NOT NULL,
    description       TEXT NOT NULL DEFAULT '',
    reporter_id       BIGINT NOT NULL,
    source            TEXT NOT NULL DEFAULT 'web',
    reported_at       BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL,
    first_dispatch_at BIGINT,
    first_on_scene_at BIGINT,
    first_action_at   BIGINT,
    reinforce_at      BIGINT
);
CREATE INDEX incidents_path ON incidents(division_path, id);
CREATE INDEX incidents_cat_time ON incidents(category, reported_at);

-- Everyone who reported the event (merging keeps both reporters).
CREATE TABLE incident_reporters (
    id          INTEGER PRIMARY KEY,
    incident_id BIGINT NOT NULL REFERENCES incidents(id),
    user_id     BIGINT NOT NULL,
    username    TEXT NOT NULL,
    at          BIGINT NOT NULL
);
CREATE INDEX incident_reporters_inc ON incident_reporters(incident_id, id);

-- Every event of an incident, automatic and manual.
CREATE TABLE incident_timeline (
    id          INTEGER PRIMARY KEY,
    incident_id BIGINT NOT NULL REFERENCES incidents(id),
    at          BIGINT NOT NULL,
    kind        TEXT NOT NULL,
    auto        BIGINT NOT NULL DEFAULT 1,
    user_id     BIGINT NOT NULL DEFAULT 0,
    username    TEXT NOT NULL DEFAULT '',
    text_zh     TEXT NOT NULL,
    text_en     TEXT NOT NULL
);
CREATE INDEX incident_timeline_inc ON incident_timeline(incident_id, at, id);

CREATE TABLE sitreps (
    id          INTEGER PRIMARY KEY,
    incident_id BIGINT NOT NULL REFERENCES incidents(id),
    at          BIGINT NOT NULL,
    user_id     BIGINT NOT NULL,
    username    TEXT NOT NULL,
    deaths      BIGINT NOT NULL DEFAULT 0,
    injured     BIGINT NOT NULL DEFAULT 0,
    missing     BIGINT NOT NULL DEFAULT 0,
    affected    BIGINT NOT NULL DEFAULT 0,
    deployed    BIGINT NOT NULL DEFAULT 0,
    body        TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sitreps_inc ON sitreps(incident_id, id);

-- Mobilisation plans: per category (and sub-type, '' = any) and response level, which forces
-- (organisation domains or rescue specialties) are called, how many people, from how far.
CREATE TABLE mobilisation_plans (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL,
    category      TEXT NOT NULL,
    subtype       TEXT NOT NULL DEFAULT '',
    level         BIGINT NOT NULL,
    domains       TEXT NOT NULL DEFAULT '',
    people        BIGINT NOT NULL,
    radius_m      BIGINT NOT NULL,
    mode          TEXT NOT NULL,
    division_code TEXT NOT NULL REFERENCES divisions(code),
    division_path TEXT NOT NULL,
    created_at    BIGINT NOT NULL
);
CREATE INDEX mobilisation_plans_cat ON mobilisation_plans(category, level);

-- One notice per incident and organisation; a new level updates it.
CREATE TABLE mobilisations (
    id               INTEGER PRIMARY KEY,
    incident_id      BIGINT NOT NULL REFERENCES incidents(id),
    org_id           BIGINT NOT NULL REFERENCES organizations(id),
    plan_id          BIGINT,
    level            BIGINT NOT NULL,
    mode             TEXT NOT NULL,
    requested        BIGINT NOT NULL,
    state            TEXT NOT NULL,
    answer_people    BIGINT NOT NULL DEFAULT 0,
    answer_note      TEXT NOT NULL DEFAULT '',
    distance_m       BIGINT NOT NULL DEFAULT 0,
    notified_at      BIGINT NOT NULL,
    answered_at      BIGINT,
    division_path    TEXT NOT NULL,
    UNIQUE (incident_id, org_id)
);
CREATE INDEX mobilisations_org ON mobilisations(org_id, id);

CREATE TABLE tasks (
    id                 INTEGER PRIMARY KEY,
    incident_id        BIGINT REFERENCES incidents(id),
    title              TEXT NOT NULL,
    skill              TEXT NOT NULL DEFAULT '',
    head_count         BIGINT NOT NULL,
    lon                DOUBLE PRECISION NOT NULL,
    lat                DOUBLE PRECISION NOT NULL,
    geofence_m         BIGINT NOT NULL,
    priority           TEXT NOT NULL,
    insurance_required BIGINT NOT NULL DEFAULT 1,
    starts_at          BIGINT NOT NULL,
    ends_at            BIGINT NOT NULL,
    state              TEXT NOT NULL DEFAULT 'open',
    division_code      TEXT NOT NULL REFERENCES divisions(code),
    division_path      TEXT NOT NULL,
    created_by         BIGINT NOT NULL,
    created_at         BIGINT NOT NULL
);
CREATE INDEX tasks_path ON tasks(division_path, id);
CREATE INDEX tasks_incident ON tasks(incident_id, id);

-- A responder's hold on one slot of a task. `live` = 1 while offered/accepted/en route/on scene.
CREATE TABLE task_assignments (
    id            INTEGER PRIMARY KEY,
    task_id       BIGINT NOT NULL REFERENCES tasks(id),
    slot          BIGINT NOT NULL,
    volunteer_id  BIGINT NOT NULL REFERENCES volunteers(id),
    org_id        BIGINT,
    user_id       BIGINT,
    state         TEXT NOT NULL,
    live          BIGINT NOT NULL DEFAULT 1,
    distance_m    BIGINT NOT NULL DEFAULT 0,
    offered_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    answered_at   BIGINT,
    en_route_at   BIGINT,
    on_scene_at   BIGINT,
    done_at       BIGINT,
    checkin_lon   DOUBLE PRECISION,
    checkin_lat   DOUBLE PRECISION,
    division_path TEXT NOT NULL
);
CREATE UNIQUE INDEX task_assignments_slot ON task_assignments(task_id, slot) WHERE live = 1;
CREATE UNIQUE INDEX task_assignments_responder ON task_assignments(volunteer_id) WHERE live = 1;
CREATE INDEX task_assignments_task ON task_assignments(task_id, id);
CREATE INDEX task_assignments_user ON task_assignments(user_id, id);
CREATE INDEX task_assignments_expiry ON task_assignments(live, expires_at);

-- Service hours on the volunteer's record (time on duty: check-in to check-out).
CREATE TABLE service_hours (
    id            INTEGER PRIMARY KEY,
    volunteer_id  BIGINT NOT NULL REFERENCES volunteers(id),
    assignment_id BIGINT NOT NULL UNIQUE REFERENCES task_assignments(id),
    task_id       BIGINT NOT NULL,
    org_id        BIGINT,
    checkin_at    BIGINT NOT NULL,
    checkout_at   BIGINT NOT NULL,
    minutes       BIGINT NOT NULL,
    edited_by     BIGINT,
    edit_reason   TEXT NOT NULL DEFAULT '',
    division_path TEXT NOT NULL,
    created_at    BIGINT NOT NULL
);
CREATE INDEX service_hours_vol ON service_hours(volunteer_id, id);
