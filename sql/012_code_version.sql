-- 012: feedd.code_version, which version of the functions and views the
-- database holds.
--
-- From here on the functions and views are code, not history: their
-- current definitions live in sql/functions/*.sql as CREATE OR REPLACE
-- statements, and `feedd migrate` applies them after the migrations (in one
-- transaction) whenever the hash it was built with differs from the one
-- recorded here.  A change to a function is a change to its file; only a
-- change that CREATE OR REPLACE cannot make (a new signature or return
-- type, a view losing or reordering columns) still needs a migration that
-- drops the old object first.

CREATE TABLE feedd.code_version (
  only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
  hash text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE feedd.code_version IS
  'Which version of sql/functions (the functions and views) feedd migrate applied last: one row';
COMMENT ON COLUMN feedd.code_version.only_row IS 'always true: the table holds one row';
COMMENT ON COLUMN feedd.code_version.hash IS
  'hash of the sql/functions files the applying feedd was built with (16 hex digits)';
COMMENT ON COLUMN feedd.code_version.applied_at IS 'when they were applied';
