-- roles.sql: optional group roles for running feedd with least privilege.
-- Not a migration (feedd migrate ignores it): run it as a superuser or the
-- schema's owner, after `feedd migrate`, and again after every upgrade so
-- that new tables and functions are covered.  Running it twice is harmless.
--
--   psql -X -v ON_ERROR_STOP=1 -d feedd -f sql/roles.sql
--
-- (`make install` puts it in PREFIX/share/feedd/sql/.)
--
-- feedd_writer  what the daemon needs: use schema feedd, read, insert and
--               update its tables (read only schema_migrations), execute its
--               functions.  No DELETE (but in page_visits, a queue whose
--               rows go when their visits are done), no DDL.
-- feedd_reader  read the tables and views, nothing else.
--
-- Both are NOLOGIN groups; give them to login roles, for example:
--
--   CREATE ROLE feedd LOGIN IN ROLE feedd_writer;          -- the daemon
--   CREATE ROLE analyst LOGIN PASSWORD '...' IN ROLE feedd_reader;
--
-- Migrations need more (CREATE on the database or schema); run
-- `feedd migrate` as the schema's owner, not as a feedd_writer.

DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'feedd_writer') THEN
    CREATE ROLE feedd_writer NOLOGIN;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'feedd_reader') THEN
    CREATE ROLE feedd_reader NOLOGIN;
  END IF;
END
$$;

GRANT USAGE ON SCHEMA feedd TO feedd_writer, feedd_reader;

-- Functions are executable by PUBLIC unless revoked; only the writer needs
-- them (and they would fail for anyone without the writer's table rights).
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA feedd FROM PUBLIC;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA feedd TO feedd_writer;
-- And the functions a later `feedd migrate` adds (run this file as the
-- role that runs migrate, the schema's owner).
ALTER DEFAULT PRIVILEGES IN SCHEMA feedd GRANT EXECUTE ON FUNCTIONS TO feedd_writer;

-- Tables and views alike.
GRANT SELECT ON ALL TABLES IN SCHEMA feedd TO feedd_writer, feedd_reader;
GRANT INSERT, UPDATE ON
  feedd.sources, feedd.feeds, feedd.articles, feedd.article_feeds, feedd.article_revisions,
  feedd.polls, feedd.rejected, feedd.instances, feedd.page_visits
  TO feedd_writer;
GRANT DELETE ON feedd.page_visits TO feedd_writer;
