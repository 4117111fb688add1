-- Photos of incidents (capability B; uploads hardened per issue 11). Only images decoded and
-- re-encoded by the server are stored (EXIF, GPS and anything else the client sent are gone);
-- rows are named by generated ids, the client's file name is kept as display text only.
CREATE TABLE incident_photos (
    id          INTEGER PRIMARY KEY,
    incident_id BIGINT NOT NULL REFERENCES incidents(id),
    name        TEXT NOT NULL,
    mime        TEXT NOT NULL,
    width       BIGINT NOT NULL,
    height      BIGINT NOT NULL,
    size        BIGINT NOT NULL,
    sha256      TEXT NOT NULL,
    content     BLOB NOT NULL,
    user_id     BIGINT NOT NULL,
    username    TEXT NOT NULL,
    at          BIGINT NOT NULL
);
CREATE INDEX incident_photos_inc ON incident_photos(incident_id, id);
