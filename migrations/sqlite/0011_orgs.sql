-- Organizations: named groups of accounts, each member with a role (owner: manages the
-- members; maintainer: publishes and manages the organization's add-ons; reader:
-- installs its private add-ons). Names follow the vendor-name rules.
CREATE TABLE orgs (
    name       TEXT    PRIMARY KEY NOT NULL,
    created_at INTEGER NOT NULL,
    -- Moves on every change of membership: member changes lock this row first, so that
    -- two concurrent demotions cannot both leave the organization without an owner.
    updated_at INTEGER NOT NULL
);

CREATE TABLE org_members (
    org_name   TEXT    NOT NULL REFERENCES orgs (name) ON DELETE CASCADE,
    user_id    TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role       TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (org_name, user_id)
);
CREATE INDEX org_members_user_idx ON org_members (user_id);

-- A vendor belongs to an account (`owner_id`) or to an organization (`org_name`), never
-- both: given to an organization, its owners and maintainers publish under it.
ALTER TABLE vendors ADD COLUMN org_name TEXT REFERENCES orgs (name);
