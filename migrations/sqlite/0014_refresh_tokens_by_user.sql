-- The Tokens page asks, per account, which token families a refresh token can still
-- renew: the refresh tokens of one user, found by index.
CREATE INDEX refresh_tokens_user_idx ON refresh_tokens (user_id);
