-- The marketplace search (`GET /packages?q=…`: a case-insensitive substring of the name or
-- the description) through trigram indexes, as SQLite answers it from its FTS5 table since
-- 0017, so that a search reads the index and not every add-on. The indexed expressions are
-- the search's own, word for word. pg_trgm ships with PostgreSQL and is a trusted extension
-- (the database's owner may create it); where it cannot be created, the search stays a scan
-- and answers the same. It may already live in another schema: its operator class is named
-- through that schema. Without `fastupdate`: new rows would wait in the index's pending list
-- until a vacuum, and every search reads that list from end to end (10 ms per search after
-- 10,000 add-ons were added at once); add-ons are written rarely and searched often.
DO $$
BEGIN
    CREATE EXTENSION IF NOT EXISTS pg_trgm;
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE 'pg_trgm is not available (%): the marketplace search reads every add-on',
        SQLERRM;
END;
$$;

DO $$
DECLARE
    schema name;
BEGIN
    SELECT n.nspname INTO schema
      FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
     WHERE e.extname = 'pg_trgm';
    IF schema IS NOT NULL THEN
        EXECUTE format('CREATE INDEX packages_name_trigrams ON packages '
                       'USING gin (lower(name) %I.gin_trgm_ops) WITH (fastupdate = off)', schema);
        EXECUTE format('CREATE INDEX packages_description_trigrams ON packages '
                       'USING gin (lower(COALESCE(description, %L)) %I.gin_trgm_ops) '
                       'WITH (fastupdate = off)', '', schema);
    END IF;
END;
$$;
