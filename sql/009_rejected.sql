-- 009: feedd.rejected, what the database refused for its data.
--
-- An item PostgreSQL refuses for its data (SQLSTATE classes 22, 23, 54 and
-- P0: a value too long for an index, a broken constraint, an unknown feed)
-- is rejected alone and the rest of its batch goes on.  Rejected is not
-- gone: the daemon writes a row here with what it was, why it was refused,
-- and the item itself as the spool encodes it (record), so that an admin
-- can see what was lost and a later feedd can replay it.  No indexes on the
-- values: a row here must never fail for the length that got it here.

CREATE TABLE feedd.rejected (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  rejected_at timestamptz NOT NULL DEFAULT now(),
  kind text NOT NULL,
  source text,
  feed text,
  news_id text,
  url text,
  title text,
  sqlstate text,
  error text,
  record bytea
);
CREATE INDEX rejected_at_idx ON feedd.rejected (rejected_at);

COMMENT ON TABLE feedd.rejected IS
  'Items PostgreSQL refused for their data (SQLSTATE 22, 23, 54, P0), one row each: '
  'rejected alone, never silently dropped.';
COMMENT ON COLUMN feedd.rejected.kind IS
  'article, poll, page, source, feed, claim or release';
COMMENT ON COLUMN feedd.rejected.sqlstate IS 'the error''s SQLSTATE';
COMMENT ON COLUMN feedd.rejected.error IS 'the server''s message';
COMMENT ON COLUMN feedd.rejected.record IS
  'the item in the spool''s record encoding (articles, polls and pages), for replay';
