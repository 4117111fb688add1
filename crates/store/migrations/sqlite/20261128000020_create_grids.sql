-- Capability H: grids and base data. Boundaries of division nodes and grids, buildings,
-- households placed in buildings (contact phone encrypted by the application), vulnerable
-- residents, local responders (grid workers, party members, building heads) and the
-- door-to-door check rounds.

CREATE TABLE boundaries (
    division_code TEXT PRIMARY KEY REFERENCES divisions(code),
    division_path TEXT NOT NULL,
    level         TEXT NOT NULL,
    geometry      TEXT NOT NULL,
    min_lon       DOUBLE PRECISION NOT NULL,
    min_lat       DOUBLE PRECISION NOT NULL,
    max_lon       DOUBLE PRECISION NOT NULL,
    max_lat       DOUBLE PRECISION NOT NULL,
    source        TEXT NOT NULL,
    synthetic     BIGINT NOT NULL DEFAULT 0,
    updated_at    BIGINT NOT NULL
);
CREATE INDEX boundaries_path ON boundaries(division_path);

CREATE TABLE buildings (
    id            INTEGER PRIMARY KEY,
    grid_code     TEXT NOT NULL REFERENCES divisions(code),
    division_path TEXT NOT NULL,
    name          TEXT NOT NULL,
    address       TEXT NOT NULL,
    lon           DOUBLE PRECISION NOT NULL,
    lat           DOUBLE PRECISION NOT NULL,
    floors        BIGINT NOT NULL,
    kind          TEXT NOT NULL,
    route_seq     BIGINT NOT NULL DEFAULT 0,
    updated_at    BIGINT NOT NULL
);
CREATE INDEX buildings_grid ON buildings(grid_code, route_seq, id);
CREATE INDEX buildings_path ON buildings(division_path, id);
CREATE INDEX buildings_address ON buildings(address);

ALTER TABLE households ADD COLUMN building_id BIGINT REFERENCES buildings(id);
ALTER TABLE households ADD COLUMN floor BIGINT;
ALTER TABLE households ADD COLUMN head_name TEXT NOT NULL DEFAULT '';
ALTER TABLE households ADD COLUMN updated_at BIGINT NOT NULL DEFAULT 0;
CREATE INDEX households_grid ON households(grid_code, id);
CREATE INDEX households_building ON households(building_id);
CREATE INDEX households_address ON households(address);

CREATE TABLE vulnerable_people (
    id            INTEGER PRIMARY KEY,
    household_id  BIGINT NOT NULL REFERENCES households(id),
    grid_code     TEXT NOT NULL,
    division_path TEXT NOT NULL,
    name          TEXT NOT NULL,
    kind          TEXT NOT NULL,
    needs         TEXT NOT NULL DEFAULT '',
    tier          BIGINT NOT NULL,
    note          TEXT NOT NULL DEFAULT '',
    active        BIGINT NOT NULL DEFAULT 1,
    updated_at    BIGINT NOT NULL
);
CREATE INDEX vulnerable_grid ON vulnerable_people(grid_code, tier, id);
CREATE INDEX vulnerable_path ON vulnerable_people(division_path, id);
CREATE INDEX vulnerable_household ON vulnerable_people(household_id);

CREATE TABLE grid_responders (
    id            INTEGER PRIMARY KEY,
    grid_code     TEXT NOT NULL REFERENCES divisions(code),
    division_path TEXT NOT NULL,
    kind          TEXT NOT NULL,
    name          TEXT NOT NULL,
    phone_enc     TEXT NOT NULL DEFAULT '',
    user_id       BIGINT REFERENCES users(id),
    volunteer_id  BIGINT REFERENCES volunteers(id),
    zone          TEXT NOT NULL DEFAULT '',
    active        BIGINT NOT NULL DEFAULT 1,
    created_at    BIGINT NOT NULL
);
CREATE INDEX grid_responders_grid ON grid_responders(grid_code, kind, id);
CREATE INDEX grid_responders_path ON grid_responders(division_path, id);
CREATE INDEX grid_responders_user ON grid_responders(user_id);

CREATE TABLE responder_buildings (
    responder_id BIGINT NOT NULL REFERENCES grid_responders(id),
    building_id  BIGINT NOT NULL REFERENCES buildings(id),
    PRIMARY KEY (responder_id, building_id)
);
CREATE INDEX responder_buildings_building ON responder_buildings(building_id);

CREATE TABLE check_rounds (
    id            INTEGER PRIMARY KEY,
    grid_code     TEXT NOT NULL REFERENCES divisions(code),
    division_path TEXT NOT NULL,
    title         TEXT NOT NULL,
    state         TEXT NOT NULL,
    total         BIGINT NOT NULL,
    started_by    BIGINT NOT NULL REFERENCES users(id),
    started_at    BIGINT NOT NULL,
    closed_at     BIGINT
);
CREATE INDEX check_rounds_grid ON check_rounds(grid_code, id);
CREATE INDEX check_rounds_path ON check_rounds(division_path, id);

CREATE TABLE check_marks (
    round_id   BIGINT NOT NULL REFERENCES check_rounds(id),
    person_id  BIGINT NOT NULL REFERENCES vulnerable_people(id),
    status     TEXT NOT NULL,
    note       TEXT NOT NULL DEFAULT '',
    by_user    BIGINT NOT NULL REFERENCES users(id),
    at         BIGINT NOT NULL,
    PRIMARY KEY (round_id, person_id)
);
