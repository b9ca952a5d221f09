-- The marketplace search through one trigram index instead of two: the name and the
-- description joined by a space, which contains the pattern whenever either does. The
-- search's statement names this expression beside its own condition, so PostgreSQL reads
-- one index and rechecks the condition on the rows it finds; with two indexes it costed,
-- scanned and merged both for every search (docs/benchmarks.md measures the difference).
-- Only where 0019 could install pg_trgm; elsewhere the search stays a scan.
DO $$
DECLARE
    schema name;
BEGIN
    SELECT n.nspname INTO schema
      FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
     WHERE e.extname = 'pg_trgm';
    IF schema IS NOT NULL THEN
        DROP INDEX IF EXISTS packages_name_trigrams;
        DROP INDEX IF EXISTS packages_description_trigrams;
        EXECUTE format('CREATE INDEX packages_text_trigrams ON packages '
                       'USING gin (lower(name || %L || COALESCE(description, %L)) '
                       '%I.gin_trgm_ops) WITH (fastupdate = off)', ' ', '', schema);
    END IF;
END;
$$;
