-- A counter that moves in the same transaction as every write that can change a Composer
-- document (an add-on, one of its versions, one of its advisories, a deletion by cascade):
-- each node keeps the rendered documents in memory and reads this one row to learn that
-- another node (or another process) wrote. One row, always there.
CREATE TABLE registry_generation (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    generation INTEGER NOT NULL
);
INSERT INTO registry_generation (id, generation) VALUES (1, 0);

CREATE TRIGGER registry_generation_packages_inserted AFTER INSERT ON packages
BEGIN
    UPDATE registry_generation SET generation = generation + 1 WHERE id = 1;
END;
CREATE TRIGGER registry_generation_packages_updated AFTER UPDATE ON packages
BEGIN
    UPDATE registry_generation SET generation = generation + 1 WHERE id = 1;
END;
CREATE TRIGGER registry_generation_packages_deleted AFTER DELETE ON packages
BEGIN
    UPDATE registry_generation SET generation = generation + 1 WHERE id = 1;
END;
CREATE TRIGGER registry_generation_versions_inserted AFTER INSERT ON package_versions
BEGIN
    UPDATE registry_generation SET generation = generation + 1 WHERE id = 1;
END;
CREATE TRIGGER registry_generation_versions_updated AFTER UPDATE ON package_versions
BEGIN
    UPDATE registry_generation SET generation = generation + 1 WHERE id = 1;
END;
CREATE TRIGGER registry_generation_versions_deleted AFTER DELETE ON package_versions
BEGIN
    UPDATE registry_generation SET generation = generation + 1 WHERE id = 1;
END;
CREATE TRIGGER registry_generation_advisories_inserted AFTER INSERT ON security_advisories
BEGIN
    UPDATE registry_generation SET generation = generation + 1 WHERE id = 1;
END;
CREATE TRIGGER registry_generation_advisories_updated AFTER UPDATE ON security_advisories
BEGIN
    UPDATE registry_generation SET generation = generation + 1 WHERE id = 1;
END;
CREATE TRIGGER registry_generation_advisories_deleted AFTER DELETE ON security_advisories
BEGIN
    UPDATE registry_generation SET generation = generation + 1 WHERE id = 1;
END;

-- The few add-ons that are not public, by owner: what a signed-in caller sees beyond the
-- public documents is read from this index, not from every add-on.
CREATE INDEX packages_not_public_idx ON packages (owner_id) WHERE visibility <> 'public';

