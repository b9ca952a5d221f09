-- Trust in the registry: vendor namespaces have owners, deleted versions leave tombstones,
-- and each Composer document served carries a stamp unique to its exact content.

-- A vendor belongs to the account that first published under it. `owner_id` becomes NULL
-- when that account is deleted: the vendor stays reserved until an administrator
-- transfers it.
CREATE TABLE vendors (
    name       TEXT    PRIMARY KEY NOT NULL,
    owner_id   TEXT    REFERENCES users (id) ON DELETE SET NULL,
    created_at BIGINT  NOT NULL
);
CREATE INDEX vendors_owner_idx ON vendors (owner_id);

-- Existing vendors go to the account that published their oldest add-on.
INSERT INTO vendors (name, owner_id, created_at)
SELECT v.vendor,
       (SELECT p.owner_id FROM packages p
         WHERE split_part(p.name, '/', 1) = v.vendor
         ORDER BY p.created_at, p.name LIMIT 1),
       v.created_at
  FROM (SELECT split_part(name, '/', 1) AS vendor, MIN(created_at) AS created_at
          FROM packages GROUP BY split_part(name, '/', 1)) v;

-- Every version ever deleted, so that `vendor/name version` is never served with other
-- bytes. Kept by the database itself: whatever deletes a version row (an account deletion
-- cascading through its add-ons, or anything later) leaves its tombstone.
CREATE TABLE version_tombstones (
    package            TEXT    NOT NULL,
    version            TEXT    NOT NULL,
    version_normalized TEXT    NOT NULL,
    sha256             TEXT    NOT NULL,
    deleted_at         BIGINT  NOT NULL,
    PRIMARY KEY (package, version_normalized)
);

CREATE FUNCTION package_versions_tombstone() RETURNS trigger AS $$
BEGIN
    INSERT INTO version_tombstones (package, version, version_normalized, sha256, deleted_at)
    VALUES (OLD.package, OLD.version, OLD.version_normalized, OLD.sha256,
            CAST(EXTRACT(EPOCH FROM now()) AS BIGINT))
    ON CONFLICT DO NOTHING;
    RETURN OLD;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER package_versions_tombstone AFTER DELETE ON package_versions
    FOR EACH ROW EXECUTE FUNCTION package_versions_tombstone();

-- The `Last-Modified` of the Composer documents: one stamp per exact content of each
-- document, unique within the document, so that an `If-Modified-Since` names exactly one
-- content (see docs/api.md).
CREATE TABLE document_stamps (
    document TEXT    NOT NULL,
    digest   TEXT    NOT NULL,
    stamp    BIGINT  NOT NULL,
    PRIMARY KEY (document, digest)
);
CREATE UNIQUE INDEX document_stamps_stamp_key ON document_stamps (document, stamp);
