-- Where the audit chain starts after the retention job removed old records: the first kept
-- sequence number and the hash it must link to.
CREATE TABLE audit_anchor (
    id        BIGINT PRIMARY KEY,
    seq       BIGINT NOT NULL,
    prev_hash TEXT NOT NULL
);
INSERT INTO audit_anchor (id, seq, prev_hash) VALUES (1, 1, '0000000000000000000000000000000000000000000000000000000000000000');
