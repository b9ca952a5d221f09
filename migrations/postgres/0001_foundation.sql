-- Accounts, OAuth clients and tokens. Timestamps are Unix seconds (BIGINT); secrets are
-- stored only as SHA-256 digests (BYTEA); ids are text.

CREATE TABLE users (
    id            TEXT    PRIMARY KEY NOT NULL,
    username      TEXT    NOT NULL,
    email         TEXT    NOT NULL,
    name          TEXT,
    password_hash TEXT    NOT NULL,
    is_admin      BOOLEAN NOT NULL DEFAULT FALSE,
    disabled      BOOLEAN NOT NULL DEFAULT FALSE,
    created_at    BIGINT  NOT NULL,
    updated_at    BIGINT  NOT NULL
);
CREATE UNIQUE INDEX users_username_key ON users (lower(username));
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

CREATE TABLE clients (
    id            TEXT    PRIMARY KEY NOT NULL,
    owner_id      TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name          TEXT    NOT NULL,
    secret_digest BYTEA,
    redirect_uris TEXT    NOT NULL,
    grant_types   TEXT    NOT NULL,
    scopes        TEXT    NOT NULL,
    trusted       BOOLEAN NOT NULL DEFAULT FALSE,
    created_at    BIGINT  NOT NULL,
    updated_at    BIGINT  NOT NULL
);
CREATE INDEX clients_owner_idx ON clients (owner_id);

CREATE TABLE access_tokens (
    id           TEXT    PRIMARY KEY NOT NULL,
    digest       BYTEA   NOT NULL,
    family_id    TEXT    NOT NULL,
    client_id    TEXT    NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    user_id      TEXT    REFERENCES users (id) ON DELETE CASCADE,
    grant_type   TEXT    NOT NULL,
    scope        TEXT    NOT NULL,
    created_at   BIGINT  NOT NULL,
    expires_at   BIGINT  NOT NULL,
    last_used_at BIGINT,
    revoked_at   BIGINT
);
CREATE UNIQUE INDEX access_tokens_digest_key ON access_tokens (digest);
CREATE INDEX access_tokens_user_idx ON access_tokens (user_id, created_at);
CREATE INDEX access_tokens_family_idx ON access_tokens (family_id);
CREATE INDEX access_tokens_client_idx ON access_tokens (client_id);

CREATE TABLE refresh_tokens (
    id              TEXT    PRIMARY KEY NOT NULL,
    digest          BYTEA   NOT NULL,
    family_id       TEXT    NOT NULL,
    access_token_id TEXT    NOT NULL,
    client_id       TEXT    NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    user_id         TEXT    REFERENCES users (id) ON DELETE CASCADE,
    scope           TEXT    NOT NULL,
    created_at      BIGINT  NOT NULL,
    expires_at      BIGINT  NOT NULL,
    used_at         BIGINT,
    revoked_at      BIGINT
);
CREATE UNIQUE INDEX refresh_tokens_digest_key ON refresh_tokens (digest);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_client_idx ON refresh_tokens (client_id);
