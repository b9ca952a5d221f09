-- The failed-credentials limiter's counters, shared by every node on this database. One row
-- per key: the SHA-256 of (kind, account or client, client address), never the key itself;
-- the start of the key's current window (Unix seconds) and the attempts counted in it.

CREATE TABLE auth_attempts (
    digest       BLOB    PRIMARY KEY NOT NULL,
    window_start INTEGER NOT NULL,
    attempts     INTEGER NOT NULL
);
CREATE INDEX auth_attempts_window_idx ON auth_attempts (window_start);
