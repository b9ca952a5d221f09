-- Third-party applications (issue #3): browser sessions of the authorization endpoint,
-- authorization codes and remembered consent. Session ids and codes are stored only as
-- SHA-256 digests (BYTEA); timestamps are Unix seconds (BIGINT).

CREATE TABLE auth_sessions (
    digest     BYTEA   PRIMARY KEY NOT NULL,
    user_id    TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT  NOT NULL,
    expires_at BIGINT  NOT NULL
);
CREATE INDEX auth_sessions_user_idx ON auth_sessions (user_id);
CREATE INDEX auth_sessions_expiry_idx ON auth_sessions (expires_at);

CREATE TABLE authorization_codes (
    digest         BYTEA   PRIMARY KEY NOT NULL,
    family_id      TEXT    NOT NULL,
    client_id      TEXT    NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    user_id        TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    redirect_uri   TEXT    NOT NULL,
    scope          TEXT    NOT NULL,
    scope_named    BOOLEAN NOT NULL,
    code_challenge TEXT    NOT NULL,
    created_at     BIGINT  NOT NULL,
    expires_at     BIGINT  NOT NULL,
    used_at        BIGINT
);
CREATE INDEX authorization_codes_expiry_idx ON authorization_codes (expires_at);
CREATE INDEX authorization_codes_client_idx ON authorization_codes (client_id);
CREATE INDEX authorization_codes_user_idx ON authorization_codes (user_id);

CREATE TABLE consents (
    user_id    TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id  TEXT    NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    scope      TEXT    NOT NULL,
    created_at BIGINT  NOT NULL,
    PRIMARY KEY (user_id, client_id)
);
CREATE INDEX consents_client_idx ON consents (client_id);
