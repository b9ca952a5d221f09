-- Sender-constrained tokens (DPoP, RFC 9449). `jkt`: the RFC 7638 thumbprint of the key an
-- access token (or a public client's refresh token) is bound to; NULL for bearer tokens.
ALTER TABLE access_tokens ADD COLUMN jkt TEXT;
ALTER TABLE refresh_tokens ADD COLUMN jkt TEXT;

-- The replay cache of DPoP proofs: the SHA-256 of each accepted proof's key thumbprint and
-- `jti`, kept until the proof is too old to be accepted anyway. In the database so that a
-- proof used on one node is refused on every other; the cleanup job deletes expired rows.
CREATE TABLE dpop_proofs (
    digest     BYTEA   PRIMARY KEY NOT NULL,
    expires_at BIGINT  NOT NULL
);
CREATE INDEX dpop_proofs_expiry_idx ON dpop_proofs (expires_at);

-- Secrets the server makes for itself on first start and every node shares (the key of
-- the DPoP nonces). The first one stored wins.
CREATE TABLE server_secrets (
    name       TEXT    PRIMARY KEY NOT NULL,
    secret     BYTEA   NOT NULL,
    created_at BIGINT  NOT NULL
);
