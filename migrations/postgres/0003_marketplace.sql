-- Projects and the add-on marketplace. Timestamps are Unix seconds (BIGINT); ids are text;
-- JSON documents (databases, composer.json) are stored as TEXT.

CREATE TABLE projects (
    id          TEXT    PRIMARY KEY NOT NULL,
    owner_id    TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name        TEXT    NOT NULL,
    slug        TEXT    NOT NULL,
    description TEXT,
    url         TEXT,
    databases   TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL
);
CREATE UNIQUE INDEX projects_owner_slug_key ON projects (owner_id, slug);
CREATE INDEX projects_owner_idx ON projects (owner_id, created_at);

CREATE TABLE packages (
    name           TEXT    PRIMARY KEY NOT NULL,
    owner_id       TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    package_type   TEXT    NOT NULL,
    description    TEXT,
    visibility     TEXT    NOT NULL DEFAULT 'public',
    repository_url TEXT,
    webhook_secret TEXT,
    created_at     BIGINT  NOT NULL,
    updated_at     BIGINT  NOT NULL
);
CREATE INDEX packages_owner_idx ON packages (owner_id);

CREATE TABLE package_versions (
    package            TEXT    NOT NULL REFERENCES packages (name) ON DELETE CASCADE,
    version            TEXT    NOT NULL,
    version_normalized TEXT    NOT NULL,
    manifest           TEXT    NOT NULL,
    sha256             TEXT    NOT NULL,
    shasum             TEXT    NOT NULL,
    size               BIGINT  NOT NULL,
    dist_path          TEXT    NOT NULL,
    created_at         BIGINT  NOT NULL,
    PRIMARY KEY (package, version)
);
CREATE UNIQUE INDEX package_versions_normalized_key ON package_versions (package, version_normalized);

CREATE TABLE project_addons (
    project_id         TEXT    NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    package            TEXT    NOT NULL REFERENCES packages (name) ON DELETE CASCADE,
    version_constraint TEXT    NOT NULL,
    created_at         BIGINT  NOT NULL,
    PRIMARY KEY (project_id, package)
);

CREATE TABLE webhook_deliveries (
    delivery_id TEXT    PRIMARY KEY NOT NULL,
    received_at BIGINT  NOT NULL
);
