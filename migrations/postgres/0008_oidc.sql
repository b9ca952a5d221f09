-- Refresh rotation with a grace window: how many times a rotated refresh token was
-- presented again, within the window, and answered with a new pair of its family.
ALTER TABLE refresh_tokens ADD COLUMN grace_uses BIGINT NOT NULL DEFAULT 0;

-- The grant that began a refresh token's family (its first access token's grant): a
-- family begun at the authorization endpoint answers its refreshes with the granted
-- scope as a string. NULL: unknown (the family's first access token was purged).
ALTER TABLE refresh_tokens ADD COLUMN began_with TEXT;
UPDATE refresh_tokens SET began_with = (
    SELECT a.grant_type FROM access_tokens a
    WHERE a.family_id = refresh_tokens.family_id AND a.grant_type <> 'refresh_token'
    ORDER BY a.created_at LIMIT 1
);

-- The keys that sign ID tokens, generated on the first start and shared by every node.
-- The private key is PKCS#8 DER, kept as is: the server must sign with it (see
-- docs/deployment.md, Backups). A rotation retires the current key of each algorithm; a
-- retired key's public half stays published until what it signed has expired.
CREATE TABLE signing_keys (
    kid         TEXT    PRIMARY KEY NOT NULL,
    alg         TEXT    NOT NULL,
    private_key BYTEA   NOT NULL,
    public_jwk  TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL,
    retired_at  BIGINT
);
-- One current key per algorithm, even when two nodes start on an empty database at once.
CREATE UNIQUE INDEX signing_keys_current_key ON signing_keys (alg) WHERE retired_at IS NULL;
