-- The supply-chain registry: security advisories filed against add-ons, abandoned
-- add-ons and yanked versions.

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
    reported_at       BIGINT  NOT NULL,
    created_at        BIGINT  NOT NULL,
    updated_at        BIGINT  NOT NULL
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
ALTER TABLE package_versions ADD COLUMN yanked_at BIGINT;
