-- 016: the feedd processes writing to this database, visible in SQL
-- (issue 15, part 1: "instances and their leases are visible").
--
-- Each `feedd run` makes its own row when it first reaches the database,
-- beats it every 30 s while the database answers (heartbeat_at) and marks
-- it stopped when it stops cleanly (stopped_at).  A row whose heartbeat is
-- old and that never stopped is an instance that died (SIGKILL, a crash, a
-- machine gone) or lost the database.  Rows are kept (one per start);
-- delete old ones as you like.
--
-- Locks: a new table; nothing existing is touched.
CREATE TABLE feedd.instances (
  id text PRIMARY KEY,
  group_name text NOT NULL,
  host text NOT NULL,
  pid int NOT NULL,
  version text NOT NULL,
  started_at timestamptz NOT NULL,
  heartbeat_at timestamptz NOT NULL DEFAULT now(),
  stopped_at timestamptz,
  feeds int NOT NULL CHECK (feeds >= 0),
  config_at timestamptz
);

COMMENT ON TABLE feedd.instances IS
  'The feedd run processes that wrote to this database: one row per start, beaten every '
  '30 s while the database answers; alive if stopped_at IS NULL and heartbeat_at is recent';
COMMENT ON COLUMN feedd.instances.id IS 'host:pid:start time, chosen by the instance';
COMMENT ON COLUMN feedd.instances.group_name IS 'its [feedd] group';
COMMENT ON COLUMN feedd.instances.host IS 'the machine''s host name';
COMMENT ON COLUMN feedd.instances.pid IS 'its process ID on that machine';
COMMENT ON COLUMN feedd.instances.version IS 'feedd''s version';
COMMENT ON COLUMN feedd.instances.started_at IS 'when the process started';
COMMENT ON COLUMN feedd.instances.heartbeat_at IS
  'its last sign of life; older than a minute or two while stopped_at is NULL: gone';
COMMENT ON COLUMN feedd.instances.stopped_at IS
  'when it stopped cleanly (SIGTERM/SIGINT); NULL while it runs or if it died';
COMMENT ON COLUMN feedd.instances.feeds IS 'the feeds it polls (those its configuration enables)';
COMMENT ON COLUMN feedd.instances.config_at IS
  'how new its configuration is (the newest modification time of its files)';
