-- The supply-chain registry: security advisories filed against add-ons, abandoned
-- add-ons and yanked versions, the provenance of each version, the metadata change feed,
-- download counts.

-- An advisory says that the versions of `package` matching `affected_versions` (a
-- Composer constraint) are vulnerable. It goes with its add-on.
CREATE TABLE security_advisories (
    advisory_id       TEXT    PRIMARY KEY NOT NULL,
    package           TEXT    NOT NULL REFERENCES packages (name) ON DELETE CASCADE,
    title             TEXT    NOT NULL,
    affected_versions TEXT    NOT NULL,
    severity          TEXT,
    cve               TEXT,
    link              TEXT,
    reported_at       INTEGER NOT NULL,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
);
CREATE INDEX security_advisories_package_idx ON security_advisories (package, reported_at);
CREATE INDEX security_advisories_updated_idx ON security_advisories (updated_at);

-- An add-on may be abandoned, optionally naming the package that replaces it; Composer
-- warns whoever installs it.
ALTER TABLE packages ADD COLUMN abandoned BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE packages ADD COLUMN abandoned_replacement TEXT;

-- A yanked version no longer resolves for new requirements, with a reason; its dist stays
-- served with the same bytes, so a lock file that pins it still installs.
ALTER TABLE package_versions ADD COLUMN yanked_reason TEXT;
ALTER TABLE package_versions ADD COLUMN yanked_at INTEGER;

-- Where each version came from: who published it (the kind and name of the publisher as
-- they were then), with which access token, and how (an upload, or the push webhook from
-- a git commit). NULL for versions published before this was recorded.
ALTER TABLE package_versions ADD COLUMN publisher_kind TEXT;
ALTER TABLE package_versions ADD COLUMN publisher_name TEXT;
ALTER TABLE package_versions ADD COLUMN publisher_token_id TEXT;
ALTER TABLE package_versions ADD COLUMN source_kind TEXT;
ALTER TABLE package_versions ADD COLUMN source_commit TEXT;

-- Each change of an add-on's Composer metadata, for mirrors (`/metadata/changes.json`):
-- written by the database itself whenever an add-on row is inserted, changed (every
-- publish, yank, advisory and edit moves `updated_at`) or deleted, with its owner and
-- whether it was public before and after, so that each caller is told exactly the changes
-- of what it may see. `at` is in ten-thousandths of a second, as Packagist counts.
CREATE TABLE metadata_changes (
    package    TEXT    NOT NULL,
    at         INTEGER NOT NULL,
    owner_id   TEXT,
    was_public BOOLEAN NOT NULL,
    is_public  BOOLEAN NOT NULL,
    deleted    BOOLEAN NOT NULL
);
CREATE INDEX metadata_changes_at_idx ON metadata_changes (at);

CREATE TRIGGER packages_change_inserted AFTER INSERT ON packages
BEGIN
    INSERT INTO metadata_changes (package, at, owner_id, was_public, is_public, deleted)
    VALUES (NEW.name, CAST((julianday('now') - 2440587.5) * 864000000 AS INTEGER),
            NEW.owner_id, FALSE, NEW.visibility = 'public', FALSE);
END;

CREATE TRIGGER packages_change_updated AFTER UPDATE ON packages
BEGIN
    INSERT INTO metadata_changes (package, at, owner_id, was_public, is_public, deleted)
    VALUES (NEW.name, CAST((julianday('now') - 2440587.5) * 864000000 AS INTEGER),
            NEW.owner_id, OLD.visibility = 'public', NEW.visibility = 'public', FALSE);
END;

CREATE TRIGGER packages_change_deleted AFTER DELETE ON packages
BEGIN
    INSERT INTO metadata_changes (package, at, owner_id, was_public, is_public, deleted)
    VALUES (OLD.name, CAST((julianday('now') - 2440587.5) * 864000000 AS INTEGER),
            OLD.owner_id, OLD.visibility = 'public', FALSE, TRUE);
END;

-- Installs per version per day, from Composer's notifications (`notify-batch`), added up in
-- memory and written in batches; nothing about who installed. `day` counts days since
-- 1970 (UTC).
CREATE TABLE download_counts (
    package TEXT    NOT NULL REFERENCES packages (name) ON DELETE CASCADE,
    version TEXT    NOT NULL,
    day     INTEGER NOT NULL,
    count   INTEGER NOT NULL,
    PRIMARY KEY (package, version, day)
);
CREATE INDEX download_counts_day_idx ON download_counts (package, day);
