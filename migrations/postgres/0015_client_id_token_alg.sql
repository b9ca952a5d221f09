-- OpenID Connect: the algorithm a client's ID tokens are signed with
-- (`id_token_signed_response_alg`, OpenID Connect Dynamic Client Registration §2):
-- `ES256` (the default, and every client registered before) or `RS256`.
ALTER TABLE clients ADD COLUMN id_token_signed_response_alg TEXT NOT NULL DEFAULT 'ES256';
