-- OpenID Connect: the algorithm a client's ID tokens are signed with
-- (`id_token_signed_response_alg`, OpenID Connect Dynamic Client Registration §2):
-- `ES256` (the default, and every client registered before) or `RS256`.
ALTER TABLE clients ADD COLUMN id_token_signed_response_alg TEXT NOT NULL DEFAULT 'ES256';
-- RP-initiated logout: where a client may send the browser after signing out
-- (`post_logout_redirect_uris`, OpenID Connect RP-Initiated Logout §3.1), a JSON array
-- like `redirect_uris`.
ALTER TABLE clients ADD COLUMN post_logout_redirect_uris TEXT NOT NULL DEFAULT '[]';
