-- Live events (the source of every screen update, resumable by id) and the per-user inbox.
CREATE TABLE events (
    id            INTEGER PRIMARY KEY,
    at            BIGINT NOT NULL,
    topic         TEXT NOT NULL,
    kind          TEXT NOT NULL,
    division_path TEXT NOT NULL DEFAULT '',
    org_id        BIGINT,
    user_id       BIGINT,
    public        BIGINT NOT NULL DEFAULT 0,
    payload       TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX events_at ON events(at);

CREATE TABLE notifications (
    id         INTEGER PRIMARY KEY,
    user_id    BIGINT NOT NULL REFERENCES users(id),
    at         BIGINT NOT NULL,
    kind       TEXT NOT NULL,
    title_zh   TEXT NOT NULL,
    title_en   TEXT NOT NULL,
    body       TEXT NOT NULL DEFAULT '',
    link       TEXT NOT NULL DEFAULT '',
    read_at    BIGINT
);
CREATE INDEX notifications_user ON notifications(user_id, id);
