-- Sender-constrained tokens (DPoP, RFC 9449). `jkt`: the RFC 7638 thumbprint of the key an
-- access token (or a public client's refresh token) is bound to; NULL for bearer tokens.
ALTER TABLE access_tokens ADD COLUMN jkt TEXT;
ALTER TABLE refresh_tokens ADD COLUMN jkt TEXT;

-- The replay cache of DPoP proofs: the SHA-256 of each accepted proof's key thumbprint and
-- `jti`, kept until the proof is too old to be accepted anyway. In the database so that a
-- proof used on one node is refused on every other; the cleanup job deletes expired rows.
CREATE TABLE dpop_proofs (
    digest     BLOB    PRIMARY KEY NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX dpop_proofs_expiry_idx ON dpop_proofs (expires_at);

-- Secrets the server makes for itself on first start and every node shares (the key of
-- the DPoP nonces). The first one stored wins.
CREATE TABLE server_secrets (
    name       TEXT    PRIMARY KEY NOT NULL,
    secret     BLOB    NOT NULL,
    created_at INTEGER NOT NULL
);

-- Pushed authorization requests (RFC 9126): the SHA-256 of each request_uri, the client
-- that pushed it, its parameters (form-encoded, as the authorization endpoint reads them),
-- when it expires (60 s after the push) and when a code was issued for it (single use).
CREATE TABLE pushed_requests (
    digest     BLOB PRIMARY KEY NOT NULL,
    client_id  TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    params     TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
);
CREATE INDEX pushed_requests_expiry_idx ON pushed_requests (expires_at);

-- A client that accepts authorization requests only when pushed (RFC 9126 §5).
ALTER TABLE clients ADD COLUMN require_par BOOLEAN NOT NULL DEFAULT FALSE;
