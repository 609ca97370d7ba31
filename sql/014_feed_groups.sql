-- 014: who owns a feed's registration (issue 15, part 2).
--
-- Several feedd instances may share one database.  Each belongs to a group
-- ([feedd] group, 'default' unless set); the instances of one group share a
-- configuration.  A feed belongs to the group whose configuration last
-- registered it, and `feedd run` disables only feeds of its own group that
-- its configuration no longer has.
--
-- config_at says how new the configuration that last changed the feed's row
-- was: the newest modification time of its files.  An instance started with
-- an older configuration than that (a machine that missed a deploy) does not
-- undo what the newer one did: it names the differences at warning priority
-- (configuration drift) and leaves the rows alone (feedd.sync_feed and
-- daemon/run/feeds.c).
--
-- Locks: each ADD COLUMN takes ACCESS EXCLUSIVE on feedd.feeds for a moment
-- only: a constant default and a NULL column are written to the catalogue,
-- not to the rows (PostgreSQL 11 and later).  feedd.feeds holds one row per
-- feed, never articles.
ALTER TABLE feedd.feeds
  ADD COLUMN group_name text NOT NULL DEFAULT 'default',
  ADD COLUMN config_at timestamptz;

COMMENT ON COLUMN feedd.feeds.group_name IS
  'the group of feedd instances whose configuration registered the feed ([feedd] group); '
  'only that group''s instances disable it when their configuration drops it';
COMMENT ON COLUMN feedd.feeds.config_at IS
  'how new the configuration that last changed this row was (the newest modification '
  'time of its files); an older configuration does not undo it; NULL for rows last changed before migration 014';

-- sync_feed gains the group and the configuration's time (defaults keep a
-- call with five arguments working); the new one is in
-- sql/functions/feeds.sql.
DROP FUNCTION feedd.sync_feed(text, text, text, int, bool);
