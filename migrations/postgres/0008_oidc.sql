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
