-- A counter that moves in the same transaction as every write that can change a Composer
-- document (an add-on, one of its versions, one of its advisories, a deletion by cascade):
-- each node keeps the rendered documents in memory and reads this one row to learn that
-- another node (or another process) wrote. One row, always there.
CREATE TABLE registry_generation (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    generation BIGINT  NOT NULL
);
INSERT INTO registry_generation (id, generation) VALUES (1, 0);

CREATE FUNCTION registry_generation_bump() RETURNS trigger AS $$
BEGIN
    UPDATE registry_generation SET generation = generation + 1 WHERE id = 1;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

-- Once per statement: a statement that changes many rows moves the counter once.
CREATE TRIGGER registry_generation_packages AFTER INSERT OR UPDATE OR DELETE ON packages
    FOR EACH STATEMENT EXECUTE FUNCTION registry_generation_bump();
CREATE TRIGGER registry_generation_versions AFTER INSERT OR UPDATE OR DELETE
    ON package_versions FOR EACH STATEMENT EXECUTE FUNCTION registry_generation_bump();
CREATE TRIGGER registry_generation_advisories AFTER INSERT OR UPDATE OR DELETE
    ON security_advisories FOR EACH STATEMENT EXECUTE FUNCTION registry_generation_bump();

-- The few add-ons that are not public, by owner: what a signed-in caller sees beyond the
-- public documents is read from this index, not from every add-on.
CREATE INDEX packages_not_public_idx ON packages (owner_id) WHERE visibility <> 'public';
