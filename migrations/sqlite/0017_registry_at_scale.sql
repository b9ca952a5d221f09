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

-- The marketplace search: a trigram index of each add-on's name and description, so that
-- `GET /packages?q=…` (a case-insensitive substring of either) reads the index instead of
-- every row. Its own content (not an external-content table): rowids of `packages` may
-- change at VACUUM, names do not. A row is found again by its name through the index
-- itself (a name has no `"` and at least three characters). `case_sensitive 0` folds case
-- as `lower()` does, and beyond ASCII.
CREATE VIRTUAL TABLE packages_search USING fts5 (
    package UNINDEXED, name, description, tokenize = 'trigram case_sensitive 0'
);
INSERT INTO packages_search (package, name, description)
    SELECT name, name, COALESCE(description, '') FROM packages;

CREATE TRIGGER packages_search_inserted AFTER INSERT ON packages
BEGIN
    INSERT INTO packages_search (package, name, description)
    VALUES (NEW.name, NEW.name, COALESCE(NEW.description, ''));
END;
CREATE TRIGGER packages_search_updated AFTER UPDATE OF name, description ON packages
    WHEN OLD.name IS NOT NEW.name OR OLD.description IS NOT NEW.description
BEGIN
    DELETE FROM packages_search WHERE rowid IN (
        SELECT rowid FROM packages_search WHERE packages_search MATCH 'name : "' || OLD.name || '"'
    ) AND package = OLD.name;
    INSERT INTO packages_search (package, name, description)
    VALUES (NEW.name, NEW.name, COALESCE(NEW.description, ''));
END;
CREATE TRIGGER packages_search_deleted AFTER DELETE ON packages
BEGIN
    DELETE FROM packages_search WHERE rowid IN (
        SELECT rowid FROM packages_search WHERE packages_search MATCH 'name : "' || OLD.name || '"'
    ) AND package = OLD.name;
END;
