-- 013: the search vector leaves the critical path (issue 14).
--
-- articles.search was a generated column: every INSERT computed the
-- weighted tsvector of title, lead and body (a fifth of PostgreSQL's work
-- on a first ingestion) and fed the GIN index inside the daemon's
-- transaction.  It becomes a plain column, NULL when an article is
-- inserted and filled in bulk by feedd.index_search(), which the daemon
-- calls on a connection of its own (daemon/store/indexer.c) a second or so
-- after articles are committed, and which catches up on whatever is left
-- at every start.  An UPDATE of title, lead or body computes it at once
-- (trigger articles_search_refresh, defined with the functions in
-- sql/functions/search.sql), so an edited article is never searchable by
-- its old text.  The values already stored are kept (DROP EXPRESSION does
-- not rewrite the table).
ALTER TABLE feedd.articles ALTER COLUMN search DROP EXPRESSION;

-- The articles still to index, oldest first: small, since rows leave it as
-- soon as they are indexed.
CREATE INDEX articles_unsearchable_idx ON feedd.articles (first_seen_at) WHERE search IS NULL;

COMMENT ON COLUMN feedd.articles.search IS
  'full-text search vector: title weight A, lead B, body C, configuration ''simple'' '
  '(feedd.search_vector); NULL for a few seconds after an article is inserted, until '
  'feedd indexes it (feedd.index_search); query with search @@ '
  'websearch_to_tsquery(''simple'', ...)';
