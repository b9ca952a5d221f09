-- OpenID Connect: what the ID token of a code's exchange says beyond the code's grant.
-- `nonce`: the authorization request's, echoed (NULL: none sent). `auth_time`: when the
-- user signed in to the browser session that approved the code (NULL: a code issued
-- before this migration, whose ID token then leaves the claim out).
ALTER TABLE authorization_codes ADD COLUMN nonce TEXT;
ALTER TABLE authorization_codes ADD COLUMN auth_time INTEGER;
