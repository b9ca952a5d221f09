-- The supply-chain registry: security advisories filed against add-ons.

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
