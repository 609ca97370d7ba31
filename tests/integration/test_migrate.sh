#!/usr/bin/env bash
# integration/test_migrate: `feedd migrate` and the schema it creates,
# against the private server of tests/integration/with-pg.sh.
#
# The command: a dry run changes nothing, a migration from empty creates
# every table, view and function, a second run has nothing to do, two runs
# at once (and a run waiting for the lock) apply it once, a database newer
# than the binary and bad connections fail with exit 1 and a clear message
# that never shows a password; every table, view and column carries a
# comment.  Then sql/roles.sql, twice, and what its two roles may and may
# not do.  Then the SQL functions the store calls, through psql:
# store_article's outcomes (inserted, unchanged without writing anything,
# linked, revised), its errors and its behaviour with two sessions storing
# the same article at once; the status columns' CHECK constraints;
# sync_source, sync_feed, record_poll; the views; and the README's cookbook
# queries.
#
# usage: with-pg.sh bash test_migrate.sh FEEDD TESTS_DIR
set -uo pipefail

feedd=${1:?usage: test_migrate.sh FEEDD TESTS_DIR}
tests=${2:?usage: test_migrate.sh FEEDD TESTS_DIR}
: "${FEEDD_TEST_CONNINFO:?run this through tests/integration/with-pg.sh}"
sql_dir=$(cd "$tests/../sql" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

passed=0
failed=0
ok() {
  echo "ok - $*"
  passed=$((passed + 1))
}
not_ok() {
  echo "not ok - $*"
  failed=$((failed + 1))
}
# is NAME EXPECTED GOT
is() {
  if [[ $3 == "$2" ]]; then
    ok "$1"
  else
    not_ok "$1"
    printf '#   expected: %s\n#   got:      %s\n' "${2//$'\n'/$'\n#             '}" \
      "${3//$'\n'/$'\n#             '}"
  fi
}
# lacks NAME TEXT GOT: GOT does not contain TEXT (paired with a has).
lacks() {
  if [[ $3 != *"$2"* ]]; then
    ok "$1"
  else
    not_ok "$1"
    printf '#   expected not to contain: %s\n#   got: %s\n' "$2" "$3"
  fi
}
# has NAME TEXT GOT: GOT contains TEXT.
has() {
  if [[ $3 == *"$2"* ]]; then
    ok "$1"
  else
    not_ok "$1"
    printf '#   expected to contain: %s\n#   got: %s\n' "$2" "$3"
  fi
}

# q ARGS...: psql on the test database, unaligned, without headers; times
# in UTC.
db=$FEEDD_TEST_CONNINFO
export PGTZ=UTC
q() {
  psql -X -v ON_ERROR_STOP=1 -qAt -d "$db" "$@"
}
# qc SQL...: each SQL as its own -c, in one session, every result printed
# (one string with several statements prints only the last before psql 15).
qc() {
  local args=() c
  for c in "$@"; do
    args+=(-c "$c")
  done
  q "${args[@]}"
}
# sql_is NAME EXPECTED SQL...
sql_is() {
  local name=$1 want=$2 got
  shift 2
  got=$(qc "$@" 2>&1)
  is "$name" "$want" "$got"
}
# sql_fails NAME TEXT SQL...: the SQL fails with an error containing TEXT.
sql_fails() {
  local name=$1 want=$2 got
  shift 2
  if got=$(qc "$@" 2>&1); then
    not_ok "$name (it succeeded: $got)"
  else
    has "$name" "$want" "$got"
  fi
}

# wait_until SQL: polls (up to 30 s) until SQL, run on the test server,
# returns true: lets a concurrency test start its second session only once
# the first is where it should be, however loaded the machine.
wait_until() {
  local i
  for ((i = 0; i < 300; i++)); do
    [[ $(q -c "$1" 2>/dev/null) == t ]] && return 0
    sleep 0.1
  done
  not_ok "timed out waiting until: $1"
  return 1
}

# config FILE CONNINFO: a configuration using that database.
config() {
  cat >"$1" <<CONF
[database]
conninfo = $2

[source irna-en]
home = https://en.irna.ir/

[feed irna-en-all]
source = irna-en
url = https://en.irna.ir/rss
CONF
}
# run_feedd NAME STATUS ARGS...: runs feedd into $work/out and $work/err and
# checks its exit status.
run_feedd() {
  local name=$1 want=$2 got=0
  shift 2
  "$feedd" "$@" >"$work/out" 2>"$work/err" || got=$?
  if [[ $got == "$want" ]]; then
    ok "$name (exit $want)"
  else
    not_ok "$name: exit $got, expected $want"
    sed 's/^/#   stdout: /' "$work/out"
    sed 's/^/#   stderr: /' "$work/err"
  fi
}

conf=$work/feedd.conf
config "$conf" "$FEEDD_TEST_CONNINFO"

# What this binary should carry: sql/NNN_name.sql.
latest=0
applied_lines=
for f in "$sql_dir"/[0-9][0-9][0-9]_*.sql; do
  b=$(basename "$f" .sql)
  v=$((10#${b%%_*}))
  applied_lines+="applied migration $v (${b#*_})"$'\n'
  latest=$v
done
# ... and sql/functions/*.sql, applied after them.
n_code=$(find "$sql_dir/functions" -maxdepth 1 -name '*.sql' | wc -l)
applied_lines+="applied functions and views ($n_code files in sql/functions)"$'\n'

echo "# feedd migrate"

run_feedd "dry run on an empty database" 0 migrate -c "$conf" --dry-run
is "dry run lists what it would apply" \
  "${applied_lines//applied/would apply}schema at version 0; dry run, nothing applied" \
  "$(cat "$work/out")"
sql_is "dry run created nothing" "" "SELECT nspname FROM pg_namespace WHERE nspname = 'feedd'"

run_feedd "migrate an empty database" 0 migrate -c "$conf"
is "migrate prints each migration and the version" \
  "${applied_lines}schema at version $latest" "$(cat "$work/out")"
is "migrate writes nothing to stderr" "" "$(cat "$work/err")"

sql_is "tables exist (partitions aside)" \
  "article_feeds article_revisions articles code_version feeds instances page_visits poll_stats polls rejected schema_migrations sources" \
  "SELECT string_agg(relname, ' ' ORDER BY relname) FROM pg_class
   WHERE relnamespace = 'feedd'::regnamespace AND relkind IN ('r', 'p') AND NOT relispartition"
sql_is "views exist" "edited_articles feed_health feed_state latest_articles" \
  "SELECT string_agg(relname, ' ' ORDER BY relname) FROM pg_class
   WHERE relnamespace = 'feedd'::regnamespace AND relkind = 'v'"
sql_is "functions exist with the store's signatures" \
  "feedd.articles_search_refresh() -> trigger
feedd.claim_feeds(text,text,integer,integer,integer,integer,text[],boolean) -> TABLE(name text, url text, etag text, last_modified text, next_poll_us bigint, error_count integer, permanent_url text)
feedd.claim_visits(text[],integer,integer) -> TABLE(source text, news_id text, url text, visits integer, attempts integer)
feedd.index_search(integer) -> TABLE(indexed integer, oldest_waiting timestamp with time zone)
feedd.instance_beat(text,text,text,integer,text,timestamp with time zone,integer,timestamp with time zone,boolean) -> void
feedd.maintain_polls(bigint,integer,timestamp with time zone) -> text
feedd.partition_bound(oid,text) -> timestamp with time zone
feedd.plan_visit(bigint,bigint,timestamp with time zone) -> void
feedd.prune_articles(text[],bigint[],integer,timestamp with time zone) -> integer
feedd.record_fetch(text,timestamp with time zone,integer,integer,bigint,integer,integer,text,text,text,timestamp with time zone,text,text,text) -> void
feedd.record_fetches(text[],timestamp with time zone[],integer[],integer[],bigint[],integer[],integer[],text[],text[],text[],timestamp with time zone[],text[],text[],text[]) -> integer
feedd.record_page(text,text,text,text,text,text,text,text,text[],timestamp with time zone,timestamp with time zone,text,text,text,text,timestamp with time zone,timestamp with time zone,integer[]) -> TABLE(article_id bigint, outcome text, revision integer)
feedd.record_page_claimed(text,text,text,text,text,text,text,text,text[],timestamp with time zone,timestamp with time zone,text,text,text,text,timestamp with time zone,timestamp with time zone,integer[],timestamp with time zone) -> TABLE(article_id bigint, outcome text, revision integer)
feedd.record_poll(text,timestamp with time zone,integer,integer,bigint,integer,integer,text) -> void
feedd.release_visits(text[],text[]) -> integer
feedd.renew_feed_leases(text,integer,boolean) -> integer
feedd.roll_up_polls(timestamp with time zone) -> void
feedd.search_vector(text,text,text) -> tsvector
feedd.settle_statistics() -> boolean
feedd.store_article(text,text,text,text,text,text,text,text,text[],timestamp with time zone,text,text,text,timestamp with time zone,boolean) -> TABLE(article_id bigint, outcome text, revision integer)
feedd.store_article_claimed(text,text,text,text,text,text,text,text,text[],timestamp with time zone,text,text,text,timestamp with time zone,boolean,timestamp with time zone) -> TABLE(article_id bigint, outcome text, revision integer)
feedd.store_articles(text[],text[],text[],text[],text[],text[],text[],text[],text[],timestamp with time zone[],text[],text[],text[],timestamp with time zone[],boolean[],timestamp with time zone[]) -> TABLE(item integer, article_id bigint, outcome text, revision integer)
feedd.sync_feed(text,text,text,integer,boolean,text,timestamp with time zone) -> bigint
feedd.sync_source(text,text) -> bigint
feedd.url_host(text) -> text" \
  "SELECT string_agg(oid::regprocedure::text || ' -> ' || pg_get_function_result(oid), E'\n'
                     ORDER BY proname)
   FROM pg_proc p WHERE pronamespace = 'feedd'::regnamespace
     AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass
                     AND d.objid = p.oid AND d.deptype = 'e')"
sql_is "btree_gin's functions are members of the extension (022)" "t" \
  "SELECT count(*) > 10 FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid
   WHERE e.extname = 'btree_gin' AND d.deptype = 'e'"
sql_is "the search index holds searchable articles only: the store's inserts skip it (022)" \
  "CREATE INDEX articles_search_time_idx ON feedd.articles USING gin (search, published_at) WHERE (search IS NOT NULL)" \
  "SELECT pg_get_indexdef('feedd.articles_search_time_idx'::regclass)"
sql_is "the GIN indexes exist" "articles_search_time_idx articles_tags_idx" \
  "SELECT string_agg(i.relname, ' ' ORDER BY i.relname) FROM pg_index x
   JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_am am ON am.oid = i.relam
   WHERE i.relnamespace = 'feedd'::regnamespace AND am.amname = 'gin'"
sql_is "article-side unique keys all start with source_id" "" \
  "SELECT string_agg(conname, ' ') FROM pg_constraint
   WHERE connamespace = 'feedd'::regnamespace AND contype IN ('p', 'u')
     AND conrelid::regclass::text IN
       ('feedd.articles', 'feedd.article_feeds', 'feedd.article_revisions')
     AND (SELECT attname FROM pg_attribute
          WHERE attrelid = conrelid AND attnum = conkey[1]) <> 'source_id'"
sql_is "schema_migrations has the migration" "1|init|t" \
  "SELECT version, name, applied_at <= now() FROM feedd.schema_migrations ORDER BY version
   LIMIT 1"

# 011: `\d+` explains every table, view and column.  The queries print what
# lacks a comment, so a failure names it; each is also run once with a
# comment removed (and put back by the rollback) to see that it would.
uncommented_relations="SELECT coalesce(string_agg(c.relname, ' ' ORDER BY c.relname), '')
   FROM pg_class c
   LEFT JOIN pg_description d
     ON d.classoid = 'pg_class'::regclass AND d.objoid = c.oid AND d.objsubid = 0
   WHERE c.relnamespace = 'feedd'::regnamespace AND c.relkind IN ('r', 'p', 'v')
     AND NOT c.relispartition AND coalesce(d.description, '') = ''"
uncommented_columns="SELECT coalesce(string_agg(c.relname || '.' || a.attname, ' '
                                       ORDER BY c.relname, a.attnum), '')
   FROM pg_class c
   JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
   LEFT JOIN pg_description d
     ON d.classoid = 'pg_class'::regclass AND d.objoid = c.oid AND d.objsubid = a.attnum
   WHERE c.relnamespace = 'feedd'::regnamespace AND c.relkind IN ('r', 'p', 'v')
     AND NOT c.relispartition AND coalesce(d.description, '') = ''"
sql_is "every table and view in schema feedd has a comment (lists those without)" "" \
  "$uncommented_relations"
sql_is "every column of every table and view has a comment (lists those without)" "" \
  "$uncommented_columns"
sql_is "the table check names a table without a comment" "feed_state polls" \
  "BEGIN" "COMMENT ON TABLE feedd.polls IS NULL" "COMMENT ON VIEW feedd.feed_state IS NULL" \
  "$uncommented_relations" "ROLLBACK"
sql_is "the column check names columns without a comment" \
  "articles.extract_status latest_articles.feeds" \
  "BEGIN" "COMMENT ON COLUMN feedd.articles.extract_status IS NULL" \
  "COMMENT ON COLUMN feedd.latest_articles.feeds IS ''" "$uncommented_columns" "ROLLBACK"
sql_is "a column's comment says what its values mean" "t" \
  "SELECT col_description('feedd.articles'::regclass,
                          (SELECT attnum FROM pg_attribute
                           WHERE attrelid = 'feedd.articles'::regclass
                             AND attname = 'extract_status')) LIKE '%''pending''%'"

# 012: the functions and views are code (sql/functions), applied after the
# migrations.  Every function and view in the database is defined there...
defined=$(grep -ohE '^CREATE OR REPLACE (FUNCTION|VIEW) feedd\.[a-z_]+' "$sql_dir"/functions/*.sql |
  sed 's/.*feedd\.//' | LC_ALL=C sort -u | tr '\n' ' ')
sql_is "every function and view is defined in sql/functions" "$defined" \
  "SELECT string_agg(name, ' ' ORDER BY name COLLATE \"C\") || ' ' FROM (
     SELECT DISTINCT proname AS name FROM pg_proc p WHERE pronamespace = 'feedd'::regnamespace
       AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass
                       AND d.objid = p.oid AND d.deptype = 'e')
     UNION SELECT relname FROM pg_class
     WHERE relnamespace = 'feedd'::regnamespace AND relkind = 'v') o"
sql_is "code_version records what was applied" "1|16" \
  "SELECT count(*), length(max(hash)) FROM feedd.code_version"
# ... and a database whose functions are not this binary's gets them again,
# without any migration: here one was changed by hand and the hash differs.
q -c "CREATE OR REPLACE FUNCTION feedd.release_visits(p_sources text[], p_news_ids text[])
      RETURNS integer LANGUAGE sql AS 'SELECT -1'" \
  -c "UPDATE feedd.code_version SET hash = 'stale'" > /dev/null
run_feedd "migrate a database with other functions" 0 migrate -c "$conf"
is "only the functions and views are applied again" \
  "applied functions and views ($n_code files in sql/functions)
schema at version $latest" "$(cat "$work/out")"
sql_is "the function changed by hand is this binary's again" "0" \
  "SELECT feedd.release_visits('{}', '{}')"
sql_is "... with its grants and comments kept" "t" \
  "SELECT obj_description('feedd.latest_articles'::regclass, 'pg_class') <> ''"

run_feedd "migrate again" 0 migrate -c "$conf"
is "migrate again has nothing to do" "schema already at version $latest, nothing to do" \
  "$(cat "$work/out")"
sql_is "migrate again recorded nothing" "$latest" "SELECT count(*) FROM feedd.schema_migrations"
FEEDD_CONFIG=$conf run_feedd "migrate with FEEDD_CONFIG and no -c" 0 migrate
is "FEEDD_CONFIG names the configuration" "schema already at version $latest, nothing to do" \
  "$(cat "$work/out")"
run_feedd "dry run on a current database" 0 migrate -c "$conf" -n
is "dry run on a current database has nothing to do" \
  "schema already at version $latest, nothing to do" "$(cat "$work/out")"

# The migration lock: a session holding it makes migrate wait, and two
# migrations at once apply everything exactly once.  Advisory locks are per
# database, so this uses a database of its own.
q -c "CREATE DATABASE feedd_race"
race=${FEEDD_TEST_CONNINFO/dbname=feedd_test/dbname=feedd_race}
config "$work/race.conf" "$race"
psql -X -qAt -d "$race" -c "SELECT pg_advisory_lock(439804732516)" -c "SELECT pg_sleep(2)" \
  >/dev/null 2>&1 &
holder=$!
wait_until "SELECT count(*) = 1 FROM pg_locks WHERE locktype = 'advisory' AND granted"
t0=$(date +%s%N)
run_feedd "migrate while another session holds the lock" 0 migrate -c "$work/race.conf"
waited=$((($(date +%s%N) - t0) / 1000000))
wait "$holder"
has "migrate says it waits for the lock" "another session holds the migration lock" \
  "$(cat "$work/err")"
if ((waited >= 1000)); then
  ok "migrate waited for the lock (${waited} ms)"
else
  not_ok "migrate did not wait for the lock (${waited} ms)"
fi
q -d "$race" -c "SET client_min_messages = warning" -c "DROP SCHEMA feedd CASCADE"
"$feedd" migrate -c "$work/race.conf" >"$work/race1" 2>"$work/race1.err" &
p1=$!
"$feedd" migrate -c "$work/race.conf" >"$work/race2" 2>"$work/race2.err" &
p2=$!
s1=0 s2=0
wait "$p1" || s1=$?
wait "$p2" || s2=$?
is "two migrations at once both succeed" "0 0" "$s1 $s2"
is "two migrations at once apply it once" \
  "$(printf '%sschema already at version %s, nothing to do\nschema at version %s\n' \
    "$applied_lines" "$latest" "$latest" | sort)" "$(sort "$work/race1" "$work/race2")"
is "two migrations at once record it once" "$latest" \
  "$(q -d "$race" -c "SELECT count(*) FROM feedd.schema_migrations")"

# A database newer than this binary is refused, untouched.
q -c "INSERT INTO feedd.schema_migrations (version, name) VALUES (999, 'from the future')"
run_feedd "migrate refuses a newer database" 1 migrate -c "$conf"
is "the refusal says why and what to do" \
  "feedd: database schema version 999 is newer than this feedd ($latest); upgrade feedd" \
  "$(cat "$work/err")"
is "the refusal prints nothing on stdout" "" "$(cat "$work/out")"
q -c "DELETE FROM feedd.schema_migrations WHERE version = 999"

# Connections that fail: exit 1, "feedd: <conninfo without password>: why".
config "$work/bad.conf" "host=$work/nowhere port=5 user=feedd password=hunter2 dbname=feedd"
run_feedd "migrate with no server there" 1 migrate -c "$work/bad.conf"
err=$(cat "$work/err")
has "the message names the conninfo without the password" \
  "feedd: user=feedd dbname=feedd host=$work/nowhere port=5: connection to server on socket" \
  "$err"
has "the message gives libpq's reason" "No such file or directory" "$err"
if [[ $err == *hunter2* ]]; then
  not_ok "the message shows the password: $err"
else
  ok "the message does not show the password"
fi
is "the message is one line" 1 "$(wc -l <"$work/err")"

config "$work/nodb.conf" "${FEEDD_TEST_CONNINFO/dbname=feedd_test/dbname=nosuchdb}"
run_feedd "migrate to a database that does not exist" 1 migrate -c "$work/nodb.conf"
has "the message shows the conninfo as written" \
  "feedd: ${FEEDD_TEST_CONNINFO/dbname=feedd_test/dbname=nosuchdb}: connection to server" \
  "$(cat "$work/err")"
has "the message says the database does not exist" 'database "nosuchdb" does not exist' \
  "$(cat "$work/err")"

config "$work/garbled.conf" "host=db password='hunter2"
run_feedd "migrate with a garbled conninfo" 1 migrate -c "$work/garbled.conf"
is "a garbled conninfo is not shown" \
  "feedd: conninfo: unterminated quoted string in connection info string" "$(cat "$work/err")"

run_feedd "migrate with a missing configuration" 2 migrate -c "$work/missing.conf"
run_feedd "migrate with an unknown option" 2 migrate --frobnicate

echo "# sql/roles.sql"

for i in 1 2; do
  if out=$(q -f "$sql_dir/roles.sql" 2>&1); then
    ok "roles.sql applies (run $i)"
  else
    not_ok "roles.sql fails (run $i): $out"
  fi
done
sql_is "roles.sql made two NOLOGIN roles" "feedd_reader|f
feedd_writer|f" "SELECT rolname, rolcanlogin FROM pg_roles
   WHERE rolname IN ('feedd_reader', 'feedd_writer') ORDER BY 1"

echo "# sync_source, sync_feed"

sql_is "sync_source creates a source" "1" "SELECT feedd.sync_source('irna-en', 'https://en.irna.ir/')"
sql_is "sync_source again returns the same id" "1" \
  "SELECT feedd.sync_source('irna-en', 'https://en.irna.ir/')"
# (An upsert that finds its row still uses up an identity value: ids have
# gaps, hence no literal ids from here on.)
fa=$(q -c "SELECT feedd.sync_source('irna-fa', 'https://irna.ir/')")
sql_is "sync_source updates home, same id" "$fa
https://www.irna.ir/" \
  "SELECT feedd.sync_source('irna-fa', 'https://www.irna.ir/')" \
  "SELECT home FROM feedd.sources WHERE name = 'irna-fa'"
sql_fails "sync_source refuses an empty name" "sources_name_check" \
  "SELECT feedd.sync_source('', 'https://example.org/')"

sql_is "sync_feed creates feeds" "1
2
3" \
  "SELECT feedd.sync_feed('irna-en-all', 'irna-en', 'https://en.irna.ir/rss', 120, true)" \
  "SELECT feedd.sync_feed('irna-en-politics', 'irna-en', 'https://en.irna.ir/rss/pol', 300, true)" \
  "SELECT feedd.sync_feed('irna-fa-all', 'irna-fa', 'https://irna.ir/rss', 120, true)"
sql_fails "sync_feed names an unknown source" 'feed "x": unknown source "nope"' \
  "SELECT feedd.sync_feed('x', 'nope', 'https://example.org/', 60, true)"
q -c "UPDATE feedd.feeds SET etag = '\"e1\"', last_modified = 'Mon, 01 Jan 2024 00:00:00 GMT',
        next_poll_at = '2030-01-01 00:00+00', error_count = 2 WHERE name = 'irna-en-all'"
sql_is "sync_feed keeps the fetch state" '1
600|"e1"|Mon, 01 Jan 2024 00:00:00 GMT|2030-01-01 00:00:00+00|2' \
  "SELECT feedd.sync_feed('irna-en-all', 'irna-en', 'https://en.irna.ir/rss', 600, true)" \
  "SELECT concat_ws('|', interval_s, etag, last_modified, next_poll_at, error_count)
   FROM feedd.feeds WHERE name = 'irna-en-all'"
sql_is "sync_feed with a new URL forgets its validators and next poll, keeps the rest" '1
https://en.irna.ir/rss.xml|||due now|2' \
  "SELECT feedd.sync_feed('irna-en-all', 'irna-en', 'https://en.irna.ir/rss.xml', 120, true)" \
  "SELECT url || '|' || concat_ws('|', etag, last_modified) || '||' ||
          concat_ws('|', coalesce(next_poll_at::text, 'due now'), error_count)
   FROM feedd.feeds WHERE name = 'irna-en-all'"
sql_is "sync_feed disables and enables" "3
false|disabled in the configuration
3
true|" \
  "SELECT feedd.sync_feed('irna-fa-all', 'irna-fa', 'https://irna.ir/rss', 120, false)" \
  "SELECT enabled || '|' || coalesce(disabled_reason, '') FROM feedd.feeds
   WHERE name = 'irna-fa-all'" \
  "SELECT feedd.sync_feed('irna-fa-all', 'irna-fa', 'https://irna.ir/rss', 120, true)" \
  "SELECT enabled || '|' || coalesce(disabled_reason, '') FROM feedd.feeds
   WHERE name = 'irna-fa-all'"

# 008: feedd's own disable (HTTP 410) holds while the URL is unchanged; a
# new URL, or the configuration's own disable and enable, still rule.
sql_is "sync_feed keeps feedd's own 410 at the same URL, lifts it for a new one" "false|HTTP 410 Gone
3
false|HTTP 410 Gone
3
true|" \
  "UPDATE feedd.feeds SET enabled = false, disabled_reason = 'HTTP 410 Gone'
   WHERE name = 'irna-fa-all' RETURNING enabled || '|' || disabled_reason" \
  "SELECT feedd.sync_feed('irna-fa-all', 'irna-fa', 'https://irna.ir/rss', 120, true)" \
  "SELECT enabled || '|' || coalesce(disabled_reason, '') FROM feedd.feeds
   WHERE name = 'irna-fa-all'" \
  "SELECT feedd.sync_feed('irna-fa-all', 'irna-fa', 'https://irna.ir/rss2', 120, true)" \
  "SELECT enabled || '|' || coalesce(disabled_reason, '') FROM feedd.feeds
   WHERE name = 'irna-fa-all'"

# 014: a feed belongs to the group whose configuration registered it; an
# older configuration (config_at) does not undo a newer one's change, and a
# group does not take another's enabled feed.
sql_is "sync_feed records group and configuration time" "default|
1
newsroom|2026-12-01 00:00:00+00" \
  "SELECT group_name || '|' || coalesce(config_at::text, '') FROM feedd.feeds
   WHERE name = 'irna-en-politics'" \
  "SELECT count(feedd.sync_feed('irna-en-politics', 'irna-en', 'https://en.irna.ir/rss/pol',
          300, true, 'newsroom', '2026-12-01 00:00+00'))" \
  "SELECT group_name || '|' || config_at FROM feedd.feeds WHERE name = 'irna-en-politics'"
sql_is "sync_feed: an older configuration does not undo a newer one" "1
false|2026-12-01 00:00:00+00
1
false|2026-12-01 00:00:00+00
1
true|2026-12-02 00:00:00+00" \
  "SELECT count(feedd.sync_feed('irna-en-politics', 'irna-en', 'https://en.irna.ir/rss/pol',
          300, false, 'newsroom', '2026-12-01 00:00+00'))" \
  "SELECT enabled || '|' || config_at FROM feedd.feeds WHERE name = 'irna-en-politics'" \
  "SELECT count(feedd.sync_feed('irna-en-politics', 'irna-en', 'https://en.irna.ir/rss/pol',
          300, true, 'newsroom', '2026-11-30 00:00+00'))" \
  "SELECT enabled || '|' || config_at FROM feedd.feeds WHERE name = 'irna-en-politics'" \
  "SELECT count(feedd.sync_feed('irna-en-politics', 'irna-en', 'https://en.irna.ir/rss/pol',
          300, true, 'newsroom', '2026-12-02 00:00+00'))" \
  "SELECT enabled || '|' || config_at FROM feedd.feeds WHERE name = 'irna-en-politics'"
sql_is "sync_feed: another group's enabled feed is not taken, a disabled one is" "1
newsroom|t|300
1
newsroom|f|300
1
research|t|60" \
  "SELECT count(feedd.sync_feed('irna-en-politics', 'irna-en', 'https://en.irna.ir/rss/pol',
          60, true, 'research', '2026-12-03 00:00+00'))" \
  "SELECT concat_ws('|', group_name, enabled, interval_s) FROM feedd.feeds
   WHERE name = 'irna-en-politics'" \
  "SELECT count(feedd.sync_feed('irna-en-politics', 'irna-en', 'https://en.irna.ir/rss/pol',
          300, false, 'newsroom', '2026-12-03 00:00+00'))" \
  "SELECT concat_ws('|', group_name, enabled, interval_s) FROM feedd.feeds
   WHERE name = 'irna-en-politics'" \
  "SELECT count(feedd.sync_feed('irna-en-politics', 'irna-en', 'https://en.irna.ir/rss/pol',
          60, true, 'research', '2026-12-03 00:00+00'))" \
  "SELECT concat_ws('|', group_name, enabled, interval_s) FROM feedd.feeds
   WHERE name = 'irna-en-politics'"
echo "# store_article"

# store FEED NEWS_ID TITLE HASH [SOURCE] [EXTRA_SELECT]: one store_article
# call; prints outcome|revision (and EXTRA_SELECT's columns).
store() {
  q -c "SELECT concat_ws('|', outcome, revision ${6:+, $6})
        FROM feedd.store_article('${5:-irna-en}', '$1', '$2', 'https://en.irna.ir/news/$2/',
          '$3', 'The lead.', 'The body, in two\nparagraphs.', 'IRNA', ARRAY['Iran', 'Oil'],
          now() - interval '1 hour', 'https://en.irna.ir/img/$2.jpg', 'en', '$4',
          '2024-05-01 12:00+00')" 2>&1
}
# count TABLE WHERE
count() {
  q -c "SELECT count(*) FROM feedd.$1 WHERE $2"
}
is "a new article is inserted" "inserted|1" "$(store irna-en-all 85859288 'Oil exports rise' h1)"
sql_is "it has revision 1, first seen at p_seen_at, linked to its feed" \
  "1|2024-05-01 12:00:00+00|2024-05-01 12:00:00+00|{Iran,Oil}|irna-en-all|2024-05-01 12:00:00+00" \
  "SELECT concat_ws('|', a.revision, a.first_seen_at, a.updated_at, a.tags, f.name, af.first_seen_at)
   FROM feedd.articles a JOIN feedd.article_feeds af USING (source_id)
   JOIN feedd.feeds f ON f.id = af.feed_id WHERE a.news_id = '85859288' AND af.article_id = a.id"
before=$(q -c "SELECT xmin || ',' || xmax FROM feedd.articles WHERE news_id = '85859288'")
is "the same article again is unchanged and writes nothing (no transaction id taken)" \
  "unchanged|1|t" \
  "$(store irna-en-all 85859288 'Oil exports rise' h1 '' 'pg_current_xact_id_if_assigned() IS NULL')"
is "the unchanged article row was neither updated nor locked" "$before" \
  "$(q -c "SELECT xmin || ',' || xmax FROM feedd.articles WHERE news_id = '85859288'")"
is "the same article from a second feed of the source is linked" "linked|1" \
  "$(store irna-en-politics 85859288 'Oil exports rise' h1)"
is "it is one article" "1" "$(count articles "news_id = '85859288'")"
is "with two article_feeds rows" "2" "$(count article_feeds "article_id = (SELECT id FROM feedd.articles WHERE news_id = '85859288')")"
is "the second feed again is unchanged" "unchanged|1" \
  "$(store irna-en-politics 85859288 'Oil exports rise' h1)"
is "a changed content hash revises the article" "revised|2" \
  "$(store irna-en-all 85859288 'Oil exports rise sharply' h2)"
sql_is "the article holds the new version, revision 2, updated at p_seen_at" \
  "Oil exports rise sharply|h2|2|2024-05-01 12:00:00+00" \
  "SELECT concat_ws('|', title, content_hash, revision, updated_at) FROM feedd.articles
   WHERE news_id = '85859288'"
sql_is "one article_revisions row holds the old version" \
  "1|Oil exports rise|h1|2024-05-01 12:00:00+00|2024-05-01 12:00:00+00" \
  "SELECT concat_ws('|', revision, title, content_hash, valid_from, replaced_at)
   FROM feedd.article_revisions"
is "the new version again is unchanged" "unchanged|2" \
  "$(store irna-en-politics 85859288 'Oil exports rise sharply' h2)"
is "another article of the other source is inserted" "inserted|1" \
  "$(store irna-fa-all 85859288 'Same number, other source' h9 irna-fa)"
is "news IDs are per source" "2" "$(count articles "news_id = '85859288'")"

echo "# store_articles (a batch in one statement)"
qc "SELECT feedd.sync_source('batch', NULL)" \
   "SELECT feedd.sync_feed('batch-a', 'batch', 'https://b.example/a', 60, true)" \
   "SELECT feedd.sync_feed('batch-b', 'batch', 'https://b.example/b', 60, true)" >/dev/null
is "an article stored alone first" "inserted|1" "$(store batch-a k1 'Known' hk batch)"
# batch SOURCES FEEDS IDS HASHES CLAIMED: one store_articles call over
# parallel arrays (SQL array constructors); prints item|outcome|revision
# rows, space-separated.
batch() {
  q -c "SELECT string_agg(concat_ws('|', item, outcome, revision), ' ' ORDER BY item)
        FROM feedd.store_articles($1, $2, $3,
          array_fill('https://b.example/x'::text, ARRAY[cardinality($3)]),
          array_fill('T'::text, ARRAY[cardinality($3)]),
          array_fill('L'::text, ARRAY[cardinality($3)]),
          array_fill('B'::text, ARRAY[cardinality($3)]),
          array_fill(NULL::text, ARRAY[cardinality($3)]),
          array_fill('{x,\"y z\"}'::text, ARRAY[cardinality($3)]),
          array_fill('2024-05-01 10:00+00'::timestamptz, ARRAY[cardinality($3)]),
          array_fill(NULL::text, ARRAY[cardinality($3)]),
          array_fill('en'::text, ARRAY[cardinality($3)]), $4,
          array_fill('2024-05-02 00:00+00'::timestamptz, ARRAY[cardinality($3)]),
          array_fill(false, ARRAY[cardinality($3)]), $5)" 2>&1
}
is "a batch: new ones inserted, a repeat linked, known ones unchanged or revised, in order" \
  "1|inserted|1 2|inserted|1 3|linked|1 4|unchanged|1 5|revised|2 6|linked|2" \
  "$(batch "ARRAY['batch','batch','batch','batch','batch','batch']" \
           "ARRAY['batch-a','batch-a','batch-b','batch-a','batch-a','batch-b']" \
           "ARRAY['n1','n2','n1','k1','k1','k1']" \
           "ARRAY['h1','h2','h1','hk','hk2','hk2']" \
           "ARRAY[NULL,'2999-01-01 00:00+00',NULL,NULL,NULL,NULL]::timestamptz[]")"
sql_is "the batch's articles hold their fields, tags and claims" \
  "k1|hk2|2|
n1|h1|1|
n2|h2|1|2999-01-01 00:00:00+00" \
  "SELECT concat_ws('|', news_id, content_hash, revision, coalesce(published_claimed::text, ''))
   FROM feedd.articles WHERE source_id = (SELECT id FROM feedd.sources WHERE name = 'batch')
   ORDER BY news_id"
sql_is "tags arrive as arrays, first seen and linked at p_seen_at" \
  '{x,"y z"}|2024-05-02 00:00:00+00|2024-05-02 00:00:00+00' \
  "SELECT concat_ws('|', a.tags, a.first_seen_at, af.first_seen_at) FROM feedd.articles a
   JOIN feedd.article_feeds af ON af.source_id = a.source_id AND af.article_id = a.id
   JOIN feedd.feeds f ON f.id = af.feed_id WHERE a.news_id = 'n2' AND f.name = 'batch-a'"
is "n1 and k1 are linked to both feeds, n2 to one" "k1:2 n1:2 n2:1" \
  "$(q -c "SELECT string_agg(a.news_id || ':' || (SELECT count(*) FROM feedd.article_feeds af
             WHERE af.source_id = a.source_id AND af.article_id = a.id), ' ' ORDER BY a.news_id)
           FROM feedd.articles a JOIN feedd.sources s ON s.id = a.source_id
           WHERE s.name = 'batch'")"
has "a batch naming an unknown feed fails whole, naming it" 'unknown feed "nope"' \
  "$(batch "ARRAY['batch','batch']" "ARRAY['batch-a','nope']" "ARRAY['n3','n4']" \
           "ARRAY['h3','h4']" "ARRAY[NULL,NULL]::timestamptz[]")"
is "and stores none of it" "0" "$(count articles "news_id IN ('n3', 'n4')")"
is "an empty batch answers nothing" "" \
  "$(batch "'{}'::text[]" "'{}'::text[]" "'{}'::text[]" "'{}'::text[]" "'{}'::timestamptz[]")"

echo "# search vectors, off the critical path (013)"
is "inserted articles wait without a search vector" "n1 n2" \
  "$(q -c "SELECT string_agg(a.news_id, ' ' ORDER BY a.news_id) FROM feedd.articles a
           JOIN feedd.sources s ON s.id = a.source_id WHERE s.name = 'batch' AND a.search IS NULL")"
sql_is "a revised article's vector is computed at once, from its new text" "t|t" \
  "SELECT concat_ws('|', a.search = feedd.search_vector(a.title, a.lead, a.body),
                    a.search @@ to_tsquery('simple', 't'))
   FROM feedd.articles a JOIN feedd.sources s ON s.id = a.source_id
   WHERE s.name = 'batch' AND a.news_id = 'k1'"
sql_is "index_search fills them all, and says none is left" "t|t" \
  "SELECT concat_ws('|', indexed >= 2, oldest_waiting IS NULL) FROM feedd.index_search(100000)"
sql_is "every article now has the vector its text gives" "0|t" \
  "SELECT concat_ws('|', count(*) FILTER (WHERE search IS NULL),
                    bool_and(search = feedd.search_vector(title, lead, body)))
   FROM feedd.articles"
sql_is "index_search with nothing to do" "0|t" \
  "SELECT concat_ws('|', indexed, oldest_waiting IS NULL) FROM feedd.index_search(10)"
batch "ARRAY['batch','batch']" "ARRAY['batch-a','batch-a']" "ARRAY['s1','s2']" \
  "ARRAY['hs1','hs2']" "ARRAY[NULL,NULL]::timestamptz[]" >/dev/null
sql_is "index_search takes the oldest first, up to its limit, and says how long the rest waited" \
  "1|t
s2" \
  "UPDATE feedd.articles SET first_seen_at = first_seen_at - interval '1 day' WHERE news_id = 's1'" \
  "SELECT concat_ws('|', indexed, oldest_waiting = (SELECT first_seen_at FROM feedd.articles WHERE news_id = 's2'))
   FROM feedd.index_search(1)" \
  "SELECT string_agg(news_id, ' ') FROM feedd.articles WHERE search IS NULL"
q -c "SELECT FROM feedd.index_search(100)" >/dev/null

store_err() {
  store "$@" | head -n 1
}
has "an unknown feed is an error naming it" 'unknown feed "nope"' \
  "$(store_err nope 1 t h)"
has "an unknown source is an error naming it" 'unknown source "nope"' \
  "$(store_err irna-en-all 1 t h nope)"
has "a feed of another source is an error naming both" \
  'feed "irna-fa-all" is not a feed of source "irna-en"' "$(store_err irna-fa-all 1 t h)"
# A statement does not see what a function it calls wrote, hence BEGIN and
# two statements where now() is the same.
sql_is "null tags become {} and a null seen_at is now" "inserted
{}|true" \
  "BEGIN" \
  "SELECT outcome FROM feedd.store_article('irna-en', 'irna-en-all', 'notags', NULL, 'No tags',
     NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'h', NULL)" \
  "SELECT tags::text || '|' || (first_seen_at = now()) FROM feedd.articles WHERE news_id = 'notags'" \
  "COMMIT"
sql_fails "a null content hash is refused" 'null value in column "content_hash"' \
  "SELECT * FROM feedd.store_article('irna-en', 'irna-en-all', 'nohash', NULL, NULL, NULL,
                                     NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)"
# 60000 distinct words, 2 MB: more lexemes than a tsvector holds whole.
sql_is "a huge body is stored, and searchable in its beginning once indexed" "inserted
t
1979999|t|f" \
  "SELECT outcome FROM feedd.store_article('irna-en', 'irna-en-all', 'huge', NULL, 'Huge', NULL,
     (SELECT string_agg(md5(i::text), ' ') FROM generate_series(1, 60000) i),
     NULL, NULL, NULL, NULL, NULL, 'h', NULL)" \
  "SELECT indexed >= 1 FROM feedd.index_search(100000)" \
  "SELECT concat_ws('|', length(body),
     search @@ to_tsquery('simple', md5('1')), search @@ to_tsquery('simple', md5('60000')))
   FROM feedd.articles WHERE news_id = 'huge'"

# Two sessions store the same new article at once: the second waits for the
# first's insert, then links (first commits) or inserts (first rolls back).
concurrent() { # END FEED_B NEWS_ID: prints session B's outcome and wait in ms
  psql -X -qAt -d "$db" -c "BEGIN" \
    -c "SELECT * FROM feedd.store_article('irna-en', 'irna-en-all', '$3', NULL, 'Race', NULL,
          NULL, NULL, NULL, NULL, NULL, NULL, 'hr', NULL)" \
    -c "SELECT pg_sleep(1.5)" -c "$1" >/dev/null 2>&1 &
  local a=$! t0 b
  wait_until "SELECT count(*) = 1 FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(1.5)'"
  t0=$(date +%s%N)
  b=$(store "$2" "$3" Race hr)
  echo "$b $((($(date +%s%N) - t0) / 1000000))"
  wait "$a"
}
read -r outcome ms < <(concurrent COMMIT irna-en-politics race1)
is "a concurrent store of an article being inserted links it" "linked|1" "$outcome"
if ((ms >= 700)); then
  ok "it waited for the other session (${ms} ms)"
else
  not_ok "it did not wait for the other session (${ms} ms)"
fi
is "the concurrent stores made one article" "1" "$(count articles "news_id = 'race1'")"
is "linked to both feeds" "2" \
  "$(count article_feeds "article_id = (SELECT id FROM feedd.articles WHERE news_id = 'race1')")"
read -r outcome ms < <(concurrent ROLLBACK irna-en-politics race2)
is "a concurrent store of an insert that rolls back inserts it" "inserted|1" "$outcome"
is "that article is linked to the second feed only" "irna-en-politics" \
  "$(q -c "SELECT f.name FROM feedd.article_feeds af JOIN feedd.feeds f ON f.id = af.feed_id
           WHERE af.article_id = (SELECT id FROM feedd.articles WHERE news_id = 'race2')")"

echo "# status constraints (011)"

# Every value the daemon writes is taken (pages.c's record_failure and
# store_page "ok", store_article's 'pending', NULL for feed-only sources;
# store.c's reject() kinds), each in a transaction rolled back; anything
# else is refused.
got=
for v in pending ok http_error fetch_error not_html not_article refused NULL; do
  [[ $v == NULL ]] || v="'$v'"
  got+="$(qc "BEGIN" "UPDATE feedd.articles SET extract_status = $v WHERE news_id = 'notags'
                      RETURNING coalesce(extract_status, 'NULL')" "ROLLBACK" 2>&1) "
done
is "extract_status takes every status the daemon writes" \
  "pending ok http_error fetch_error not_html not_article refused NULL " "$got"
sql_fails "extract_status refuses any other value" \
  'violates check constraint "articles_extract_status_check"' \
  "UPDATE feedd.articles SET extract_status = 'bogus' WHERE news_id = 'notags'"
sql_fails "record_page refuses an unknown status on a first visit" \
  'violates check constraint "articles_extract_status_check"' \
  "SELECT * FROM feedd.record_page('irna-en', 'notags', 'timeout', 'slow', NULL, NULL, NULL,
     NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)"
got=
for v in article poll page source feed claim release; do
  got+="$(qc "BEGIN" "INSERT INTO feedd.rejected (kind) VALUES ('$v') RETURNING kind" \
    "ROLLBACK" 2>&1) "
done
is "rejected.kind takes every kind the daemon writes" \
  "article poll page source feed claim release " "$got"
sql_fails "rejected.kind refuses any other value" \
  'violates check constraint "rejected_kind_check"' \
  "INSERT INTO feedd.rejected (kind) VALUES ('bogus')"

echo "# record_poll"

poll() { # FEED STARTED STATUS ERROR NEW: prints only an error
  q -o /dev/null -c "SELECT feedd.record_poll('$1', '$2', 250, $3, 12345, 20, $5, $4)" 2>&1
}
poll irna-en-politics '2024-05-01 10:00+00' 200 NULL 3
poll irna-en-politics '2024-05-01 10:00+00' 200 NULL 3
is "record_poll twice with the same key records one poll" "1" \
  "$(count polls "feed_id = (SELECT id FROM feedd.feeds WHERE name = 'irna-en-politics')")"
poll irna-en-politics '2024-05-01 10:05+00' 503 NULL 0
poll irna-en-politics '2024-05-01 10:10+00' NULL "'timeout after 60 s'" 0
poll irna-en-politics '2024-05-01 10:10+00' NULL "'timeout after 60 s'" 0
sql_is "failures count up once each, and keep the last success" \
  "2||2024-05-01 10:00:00+00" \
  "SELECT concat_ws('|', error_count, coalesce(last_status::text, ''), last_success_at)
   FROM feedd.feeds WHERE name = 'irna-en-politics'"
poll irna-en-politics '2024-05-01 10:15+00' 304 NULL 0
sql_is "a success (304) resets the count" "0|304|2024-05-01 10:15:00+00" \
  "SELECT concat_ws('|', error_count, last_status, last_success_at)
   FROM feedd.feeds WHERE name = 'irna-en-politics'"
poll irna-en-politics '2024-05-01 09:00+00' 500 "'late'" 0
sql_is "a late-arriving older poll is recorded but does not change the feed" "5|0|304" \
  "SELECT concat_ws('|', (SELECT count(*) FROM feedd.polls p WHERE p.feed_id = f.id),
                    error_count, last_status)
   FROM feedd.feeds f WHERE name = 'irna-en-politics'"
has "record_poll names an unknown feed" 'unknown feed "nope"' \
  "$(poll nope '2024-05-01 09:00+00' 200 NULL 0)"

echo "# record_fetch"

q -o /dev/null -c "SELECT feedd.sync_feed('fetch-test', 'irna-en', 'https://en.irna.ir/f', 120, true)"
# rf STARTED STATUS ERROR ETAG NEXT [PERMANENT_URL DISABLED]: SQL literals or
# NULL; prints only an error.
rf() {
  q -o /dev/null -c "SELECT feedd.record_fetch('${8:-fetch-test}', '$1', 250, $2, 100, 20, 0, $3, $4,
    NULL, '$5', ${6:-NULL}, ${7:-NULL})" 2>&1
}
state() {
  q -c "SELECT concat_ws('|', (SELECT count(*) FROM feedd.polls p WHERE p.feed_id = f.id),
                         etag, next_poll_at, error_count, coalesce(last_status::text, '-'),
                         last_success_at, coalesce(permanent_url, '-'), enabled,
                         coalesce(disabled_reason, '-'))
        FROM feedd.feeds f WHERE name = 'fetch-test'"
}
rf '2024-05-01 10:00+00' 200 NULL "'\"e1\"'" '2024-05-01 10:30+00'
rf '2024-05-01 10:00+00' 200 NULL "'\"e1\"'" '2024-05-01 10:30+00'
is "record_fetch: a poll and its state; sent twice, recorded once" \
  '1|"e1"|2024-05-01 10:30:00+00|0|200|2024-05-01 10:00:00+00|-|t|-' "$(state)"
rf '2024-05-01 10:30+00' 304 NULL NULL '2024-05-01 11:00+00'
is "record_fetch: a 304 without validators keeps the stored ones" \
  '2|"e1"|2024-05-01 11:00:00+00|0|304|2024-05-01 10:30:00+00|-|t|-' "$(state)"
rf '2024-05-01 11:00+00' NULL "'timeout after 60 s'" NULL '2024-05-01 11:05+00'
rf '2024-05-01 11:00+00' NULL "'timeout after 60 s'" NULL '2024-05-01 11:05+00'
is "record_fetch: a failure counts once, however often it is sent" \
  '3|"e1"|2024-05-01 11:05:00+00|1|-|2024-05-01 10:30:00+00|-|t|-' "$(state)"
rf '2024-05-01 09:00+00' 500 "'late'" "'\"old\"'" '2024-05-01 09:30+00'
is "record_fetch: a late older poll is recorded, the state stays" \
  '4|"e1"|2024-05-01 11:05:00+00|1|-|2024-05-01 10:30:00+00|-|t|-' "$(state)"
rf '2024-05-01 11:05+00' 200 NULL "'\"e2\"'" '2024-05-01 11:35+00' "'https://en.irna.ir/g'"
is "record_fetch: a success resets the count and records a permanent redirect" \
  '5|"e2"|2024-05-01 11:35:00+00|0|200|2024-05-01 11:05:00+00|https://en.irna.ir/g|t|-' \
  "$(state)"
rf '2024-05-01 11:35+00' 410 "'HTTP 410'" NULL '2024-05-01 12:05+00' NULL "'HTTP 410 Gone'"
is "record_fetch: a 410 disables the feed with its reason" \
  '6|"e2"|2024-05-01 12:05:00+00|1|410|2024-05-01 11:05:00+00|https://en.irna.ir/g|f|HTTP 410 Gone' \
  "$(state)"
has "record_fetch names an unknown feed" 'unknown feed "nope"' \
  "$(rf '2024-05-01 09:00+00' 200 NULL NULL '2024-05-01 09:30+00' NULL NULL nope)"

echo "# feed leases (017)"

sql_is "url_host: the lower-cased host, without user or port; NULL for other schemes" \
  "example.com|[::1]|a.b|-" \
  "SELECT concat_ws('|', feedd.url_host('https://User:pw@Example.COM:8443/x'),
                    feedd.url_host('http://[::1]:80/feed'), feedd.url_host('HTTP://a.b?c'),
                    coalesce(feedd.url_host('ftp://x/'), '-'))"
q -o /dev/null \
  -c "SELECT feedd.sync_feed('l1', 'irna-en', 'https://h1.example/a', 60, true, 'lg')" \
  -c "SELECT feedd.sync_feed('l2', 'irna-en', 'https://h1.example/b', 60, true, 'lg')" \
  -c "SELECT feedd.sync_feed('l3', 'irna-en', 'https://H2.example:81/c', 60, true, 'lg')" \
  -c "SELECT feedd.sync_feed('l4', 'irna-en', 'https://h3.example/d', 60, false, 'lg')"
sql_is "feeds.host follows the URL" "h1.example h1.example h2.example h3.example" \
  "SELECT string_agg(host, ' ' ORDER BY name) FROM feedd.feeds WHERE group_name = 'lg'"
# claim INSTANCE [SKIP]: the feeds of group lg it gets, by name.
claim() {
  q -c "SELECT coalesce(string_agg(name, ' ' ORDER BY name), '-')
        FROM feedd.claim_feeds('$1', 'lg', 100, 60, 2000, 3600, '${2:-{\}}')"
}
holders() {
  q -c "SELECT string_agg(name || ':' || coalesce(lease_holder, '-'), ' ' ORDER BY name)
        FROM feedd.feeds WHERE group_name = 'lg'"
}
is "claim_feeds: the enabled feeds never polled, leased to the claimer" "l1 l2 l3" "$(claim A)"
is "claim_feeds: held feeds are nobody else's" "-" "$(claim B)"
is "claim_feeds: the claimer does not get what it holds again" "-" "$(claim A)"
# With p_mine (018): what it holds, renewed, besides what is new.
q -o /dev/null -c "UPDATE feedd.feeds SET lease_until = now() + interval '5 s' WHERE name = 'l2'"
is "claim_feeds with mine: returns what the claimer holds (not another's)" "l1 l2 l3|-" \
  "$(q -c "SELECT string_agg(name, ' ' ORDER BY name)
           FROM feedd.claim_feeds('A', 'lg', 100, 60, 2000, 3600, '{}', true)")|$(q -c "
     SELECT coalesce(string_agg(name, ' ' ORDER BY name), '-')
     FROM feedd.claim_feeds('B', 'lg', 100, 60, 2000, 3600, '{}', true)")"
is "... renewed to the full lease, and still held by it" "t|l1:A l2:A l3:A l4:-" \
  "$(q -c "SELECT lease_until > now() + interval '59 s' FROM feedd.feeds WHERE name = 'l2'")|$(holders)"
is "claim_feeds with mine leaves out the skipped, which it gives back" "l1 l2|l1:A l2:A l3:- l4:-" \
  "$(q -c "SELECT string_agg(name, ' ' ORDER BY name)
           FROM feedd.claim_feeds('A', 'lg', 0, 60, 2000, 3600, '{l3}', true)")|$(holders)"
q -o /dev/null -c "UPDATE feedd.feeds SET lease_holder = 'A', lease_until = now() + interval '60 s'
                   WHERE name = 'l3'"
q -o /dev/null -c "SELECT feedd.record_fetch('l1', now(), 10, 304, 0, 0, 0, NULL, NULL, NULL,
                     now() + interval '1 hour', NULL, NULL, 'A')"
is "record_fetch gives its instance's lease back, and records who polled" "l1:- l2:A l3:A l4:-|A" \
  "$(holders)|$(q -c "SELECT p.instance FROM feedd.polls p JOIN feedd.feeds f ON f.id = p.feed_id
                      WHERE f.name = 'l1'")"
q -o /dev/null -c "UPDATE feedd.feeds SET next_poll_at = now() - interval '1 minute' WHERE name = 'l1'"
is "claim_feeds: a due feed whose host another instance holds is not taken" "-" "$(claim B)"
q -o /dev/null -c "SELECT feedd.record_fetch('l3', now(), 10, 304, 0, 0, 0, NULL, NULL, NULL,
                     now() - interval '1 minute', NULL, NULL, 'B')"
is "record_fetch leaves a lease another instance holds" "l1:- l2:A l3:A l4:-" "$(holders)"
q -o /dev/null -c "INSERT INTO feedd.instances (id, group_name, host, pid, version, started_at, feeds)
                   VALUES ('A', 'lg', 'm', 1, 'x', now(), 4)"
sql_is "renew_feed_leases: counts what it holds, shown in feedd.instances" "2
2" \
  "SELECT feedd.renew_feed_leases('A', 60)" \
  "SELECT feeds_held FROM feedd.instances WHERE id = 'A'"
q -o /dev/null -c "UPDATE feedd.feeds SET lease_until = now() + interval '10 s' WHERE name = 'l2'" \
  -c "SELECT feedd.renew_feed_leases('A', 60)"
is "renew_feed_leases: renews the lease to its full length" "t" \
  "$(q -c "SELECT lease_until > now() + interval '59 s' FROM feedd.feeds WHERE name = 'l2'")"
sql_is "renew_feed_leases with release gives everything back (held 0)" "0
l1:- l2:- l3:- l4:-|0" \
  "SELECT feedd.renew_feed_leases('A', 60, true)" \
  "SELECT string_agg(name || ':' || coalesce(lease_holder, '-'), ' ' ORDER BY name)
     || '|' || (SELECT feeds_held FROM feedd.instances WHERE id = 'A')
   FROM feedd.feeds WHERE group_name = 'lg'"
is "claim_feeds: then the due ones go to the next claimer (a skip of an unknown name is harmless)" \
  "l1 l2 l3" "$(claim B '{l2x}')"
q -o /dev/null -c "UPDATE feedd.feeds SET lease_until = now() - interval '1 s' WHERE lease_holder = 'B'"
is "claim_feeds: a lease run out is anybody's" "l1 l2 l3" "$(claim A)"
is "claim_feeds: skip gives the named feed back and leaves it out" "-" "$(claim A '{l3}')"
is "... l3 is free again, l4 (disabled) never leased" "l1:A l2:A l3:- l4:-" "$(holders)"
q -o /dev/null -c "UPDATE feedd.feeds SET next_poll_at = '2094-01-01', lease_holder = NULL,
                     lease_until = NULL WHERE name = 'l3'"
is "claim_feeds: a feed scheduled beyond max_interval is taken (to be brought within it)" \
  "l3" "$(claim A)"
sql_is "feed_health shows the holder of a live lease only" "l2:A l3:A
-" \
  "SELECT string_agg(feed || ':' || coalesce(held_by, '-'), ' ' ORDER BY feed)
   FROM feedd.feed_health WHERE feed IN ('l2', 'l3')" \
  "UPDATE feedd.feeds SET lease_until = now() - interval '1 s' WHERE name = 'l2'" \
  "SELECT coalesce(held_by, '-') FROM feedd.feed_health WHERE feed = 'l2'"
sql_is "sync_feed: a shorter interval brings the next poll within it; a new URL makes it due now" \
  "t
true|true" \
  "UPDATE feedd.feeds SET next_poll_at = now() + interval '1 hour' WHERE name IN ('l1', 'l2')" \
  "SELECT feedd.sync_feed('l1', 'irna-en', 'https://h1.example/a', 10, true, 'lg') > 0
          AND feedd.sync_feed('l2', 'irna-en', 'https://h1.example/b2', 60, true, 'lg') > 0" \
  "SELECT (SELECT next_poll_at <= now() + interval '10 s' FROM feedd.feeds WHERE name = 'l1')
          || '|' || (SELECT next_poll_at IS NULL FROM feedd.feeds WHERE name = 'l2')"
q -o /dev/null -c "DELETE FROM feedd.instances WHERE id = 'A'"

echo "# polls partitioned by day, retention, poll_stats (019)"
# All in one transaction, rolled back (the DDL too), so that the sections
# after see polls as before.  Days are UTC.
parts=$(q << 'SQL'
\o /dev/null
BEGIN;
CREATE TEMP TABLE r (n serial, k text, v text);
CREATE TEMP VIEW day_parts AS
  SELECT count(*) AS n FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
  WHERE i.inhparent = 'feedd.polls'::regclass AND c.relname ~ '^polls_[0-9]{8}$';
INSERT INTO r (k, v) SELECT 'kind', relkind::text FROM pg_class WHERE oid = 'feedd.polls'::regclass;
INSERT INTO r (k, v) SELECT 'before', count(*) FROM feedd.polls;
INSERT INTO r (k, v) SELECT 'today', count(*) FROM feedd.polls
  WHERE started_at >= date_trunc('day', now(), 'UTC');
SELECT feedd.maintain_polls(30 * 86400);
INSERT INTO r (k, v) SELECT 'parts', n FROM day_parts;
INSERT INTO r (k, v) SELECT 'after', count(*) FROM feedd.polls;
INSERT INTO r (k, v) SELECT 'default', count(*) FROM ONLY feedd.polls_default;
INSERT INTO r (k, v) SELECT 'in_today', count(*) FROM feedd.polls p
  WHERE p.tableoid::regclass::text = 'feedd.polls_' || to_char(now() AT TIME ZONE 'UTC', 'YYYYMMDD');
-- 45 days on: everything up to 15 days from now is past the retention.
SELECT feedd.maintain_polls(30 * 86400, 7, now() + interval '45 days');
INSERT INTO r (k, v) SELECT 'parts45', n FROM day_parts;
INSERT INTO r (k, v) SELECT 'left', count(*) FROM feedd.polls WHERE started_at < now() + interval '15 days';
INSERT INTO r (k, v) SELECT 'stats_today', coalesce(sum(polls), 0) FROM feedd.poll_stats
  WHERE day = (now() AT TIME ZONE 'UTC')::date;
INSERT INTO r (k, v) SELECT 'legacy', coalesce(to_regclass('feedd.polls_legacy')::text, '-');
-- A record that comes after its day was dropped: added to its day's counts.
CREATE TEMP TABLE y AS SELECT coalesce(sum(polls), 0) AS n FROM feedd.poll_stats
  WHERE day = ((now() - interval '1 day') AT TIME ZONE 'UTC')::date;
INSERT INTO feedd.polls (feed_id, started_at, http_status, error)
  SELECT min(id), now() - interval '1 day', 500, 'HTTP 500' FROM feedd.feeds;
SELECT feedd.maintain_polls(30 * 86400, 7, now() + interval '45 days');
INSERT INTO r (k, v) SELECT 'late', (SELECT coalesce(sum(polls), 0) FROM feedd.poll_stats
  WHERE day = ((now() - interval '1 day') AT TIME ZONE 'UTC')::date) - n FROM y;
INSERT INTO r (k, v) SELECT 'late_errors', coalesce(sum(errors), 0) FROM feedd.poll_stats s
  WHERE day = ((now() - interval '1 day') AT TIME ZONE 'UTC')::date;
INSERT INTO r (k, v) SELECT 'default45', count(*) FROM ONLY feedd.polls_default;
-- A row beyond the partitions waits in polls_default, then moves into its own.
INSERT INTO feedd.polls (feed_id, started_at, http_status)
  SELECT min(id), now() + interval '60 days', 304 FROM feedd.feeds;
INSERT INTO r (k, v) SELECT 'waits', count(*) FROM ONLY feedd.polls_default;
SELECT feedd.maintain_polls(30 * 86400, 0, now() + interval '60 days');
INSERT INTO r (k, v) SELECT 'moved', p.tableoid::regclass::text
  = 'feedd.polls_' || to_char((now() + interval '60 days') AT TIME ZONE 'UTC', 'YYYYMMDD')
  FROM feedd.polls p WHERE p.started_at > now() + interval '59 days';
-- Retention 0 keeps everything.
SELECT feedd.maintain_polls(0, 0, now() + interval '400 days');
INSERT INTO r (k, v) SELECT 'kept', count(*) FROM feedd.polls WHERE started_at > now() + interval '59 days';
\o
SELECT string_agg(k || '=' || v, ' ' ORDER BY n) FROM r;
ROLLBACK;
SQL
)
get() { tr ' ' '\n' <<< "$parts" | sed -n "s/^$1=//p"; }
is "polls is partitioned" "p" "$(get kind)"
is "maintain_polls makes a partition for today and 7 days ahead" "8" "$(get parts)"
is "... and no row is lost" "$(get before)" "$(get after)"
is "... today's polls move from polls_default into today's partition" "0|$(get today)" \
  "$(get default)|$(get in_today)"
[[ $(get today) -gt 0 ]] && ok "... (there were polls today: $(get today))" ||
  not_ok "... (there were polls today)" "$(get today)"
is "past the retention the day partitions are dropped, not emptied row by row" "8|0|-" \
  "$(get parts45)|$(get left)|$(get legacy)"
is "... and poll_stats keeps their counts" "$(get today)" "$(get stats_today)"
is "a record that came after its day was dropped is added to the day's counts" "1|0" \
  "$(get late)|$(get default45)"
[[ $(get late_errors) -ge 1 ]] && ok "... its error counted" || not_ok "... its error counted" "$(get late_errors)"
is "a row beyond the partitions waits in polls_default, then moves into its day's" "1|true" \
  "$(get waits)|$(get moved)"
is "polls_retention 0 drops nothing" "1" "$(get kept)"
# Another session under way (holding its lock): this call does nothing.
q -c "BEGIN" -c "SELECT pg_advisory_xact_lock(439804732518)" -c "SELECT pg_sleep(60)" \
  > /dev/null 2>&1 &
holder=$!
for ((i = 0; i < 300; i++)); do
  [[ $(q -c "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted
                AND objid = (439804732518 & 4294967295)") == 1 ]] && break
  sleep 0.1
done
is "maintain_polls: one call at a time (another under way: NULL at once)" "t" \
  "$(q -c "SELECT feedd.maintain_polls(0) IS NULL")"
kill "$holder" 2> /dev/null
q -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(60)'" \
  > /dev/null
wait "$holder" 2> /dev/null

# No polls at all and no retention (a fresh install under polls_retention =
# 0): the roll-up has no first day to start from, and ends at once (it once
# counted days from -infinity; statement_timeout catches a relapse).
sql_is "maintain_polls with no polls and retention 0 rolls up nothing, at once" "t" \
  "BEGIN" "SET LOCAL statement_timeout = '60s'" "DELETE FROM feedd.polls" \
  "SELECT feedd.maintain_polls(0) LIKE '%, 0 days rolled up,%'" "ROLLBACK"

# An upgrade: a database at version 18 with polls of two days is migrated;
# its rows stay, in polls_legacy, which the retention later drops whole.
q -c "CREATE DATABASE feedd_up19"
up19=${FEEDD_TEST_CONNINFO/dbname=feedd_test/dbname=feedd_up19}
for f in "$sql_dir"/0[01][0-9]_*.sql; do
  v=$(basename "$f" | cut -c1-3)
  ((10#$v <= 18)) || continue
  psql -X -q -v ON_ERROR_STOP=1 -d "$up19" -c "SET client_min_messages = warning" -f "$f" \
    -c "INSERT INTO feedd.schema_migrations (version, name) VALUES ($((10#$v)), 'by hand')" \
    > /dev/null || not_ok "version 18 by hand: $f"
done
psql -X -q -v ON_ERROR_STOP=1 -d "$up19" -c "
  INSERT INTO feedd.sources (name, home) VALUES ('s', 'https://s.example/');
  INSERT INTO feedd.feeds (name, source_id, url) SELECT 'f', id, 'https://s.example/rss'
    FROM feedd.sources;
  INSERT INTO feedd.polls (feed_id, started_at, http_status, new_items)
    SELECT f.id, now() - interval '1 day' * d - interval '1 minute' * m, 200, 2
    FROM feedd.feeds f, generate_series(1, 2) d, generate_series(1, 5) m" > /dev/null
config "$work/up19.conf" "$up19"
run_feedd "migrate a version-18 database with polls" 0 migrate -c "$work/up19.conf"
is "... applies 19 (and what follows)" "t" \
  "$(psql -X -qAt -d "$up19" -c "SELECT max(version) >= 19 FROM feedd.schema_migrations")"
is "... its 10 polls stay, in polls_legacy, up to the end of their newest day" "10|10|t" \
  "$(psql -X -qAt -d "$up19" -c "SELECT concat_ws('|', (SELECT count(*) FROM feedd.polls),
       (SELECT count(*) FROM feedd.polls p WHERE p.tableoid = 'feedd.polls_legacy'::regclass),
       (SELECT feedd.partition_bound('feedd.polls_legacy'::regclass, 'TO')
               = date_trunc('day', now() - interval '1 day' - interval '1 minute', 'UTC')
                 + interval '1 day'))")"
is "... feed_health reads the new table" "t" \
  "$(psql -X -qAt -d "$up19" -c "SELECT last_poll_at = (SELECT max(started_at) FROM feedd.polls)
                                 FROM feedd.feed_health WHERE feed = 'f'")"
is "... a retention of 3 days keeps polls_legacy while its newest day is within it" "feedd.polls_legacy" \
  "$(psql -X -qAt -d "$up19" -c "SELECT feedd.maintain_polls(86400 * 3)" \
       -c "SELECT coalesce(to_regclass('feedd.polls_legacy')::text, '-')" | tail -n 1)"
is "... and drops it whole after, its days in poll_stats" "-|10|20" \
  "$(psql -X -qAt -d "$up19" -c "SELECT feedd.maintain_polls(86400, 7, now() + interval '3 days')" \
       -c "SELECT concat_ws('|', coalesce(to_regclass('feedd.polls_legacy')::text, '-'),
                  (SELECT sum(polls) FROM feedd.poll_stats),
                  (SELECT sum(new_articles) FROM feedd.poll_stats))" | tail -n 1)"
q -c "DROP DATABASE feedd_up19"

echo "# views"

poll irna-en-all "$(date -u -d '-2 hours' '+%F %T+00')" 200 NULL 4
poll irna-en-all "$(date -u -d '-1 hour' '+%F %T+00')" 200 NULL 2
poll irna-en-all "$(date -u -d '-30 minutes' '+%F %T+00')" 500 "'HTTP 500'" 0
sql_is "feed_health sums the last 24 hours and shows the last poll" \
  "irna-en-all|irna-en|1|500|HTTP 500|3|6" \
  "SELECT concat_ws('|', feed, source, consecutive_errors, last_http_status, last_error,
                    polls_24h, new_articles_24h)
   FROM feedd.feed_health WHERE feed = 'irna-en-all'"
sql_is "feed_health has a row for a feed never polled" "irna-fa-all|0|0|" \
  "SELECT concat_ws('|', feed, polls_24h, new_articles_24h, last_poll_at) || '|'
   FROM feedd.feed_health WHERE feed = 'irna-fa-all'"
sql_is "latest_articles names the source and the feeds, first carrier first" \
  "irna-en|Oil exports rise sharply|{irna-en-all,irna-en-politics}|2" \
  "SELECT concat_ws('|', source, title, feeds, revision) FROM feedd.latest_articles
   WHERE news_id = '85859288' AND source = 'irna-en'"
sql_is "latest_articles.newest_at is the publication time, else first sight" "0" \
  "SELECT count(*) FROM feedd.latest_articles
   WHERE newest_at IS DISTINCT FROM coalesce(published_at, first_seen_at)"
sql_is "no view orders its rows itself (callers do)" "" \
  "SELECT coalesce(string_agg(viewname, ' '), '') FROM pg_views WHERE schemaname = 'feedd'
     AND definition ~ '\n  ORDER BY[^\n]*$'"
sql_is "latest_articles carries the search vector last (issue 15)" "search" \
  "SELECT column_name FROM information_schema.columns
   WHERE table_schema = 'feedd' AND table_name = 'latest_articles'
   ORDER BY ordinal_position DESC LIMIT 1"

echo "# roles"

sql_is "feedd_writer can store" "unchanged|2" \
  "SET ROLE feedd_writer" \
  "SELECT concat_ws('|', outcome, revision) FROM feedd.store_article('irna-en', 'irna-en-all',
     '85859288', 'https://en.irna.ir/news/85859288/', 'Oil exports rise sharply', 'The lead.',
     'The body, in two\nparagraphs.', 'IRNA', ARRAY['Iran', 'Oil'], now() - interval '1 hour',
     'https://en.irna.ir/img/85859288.jpg', 'en', 'h2', now())"
sql_is "feedd_writer can sync and record polls" "$fa|3|" \
  "SET ROLE feedd_writer" \
  "SELECT feedd.sync_source('irna-fa', 'https://www.irna.ir/') || '|' ||
          feedd.sync_feed('irna-fa-all', 'irna-fa', 'https://irna.ir/rss', 120, true) || '|' ||
          feedd.record_poll('irna-fa-all', now(), 1, 200, 1, 1, 1, NULL)"
sql_is "feedd_writer can keep the polls partitions (no DDL rights of its own needed)" "t
f" \
  "BEGIN" "SET ROLE feedd_writer" \
  "SELECT feedd.maintain_polls(86400, 9) LIKE '%partitions made%'" \
  "SELECT has_schema_privilege('feedd_writer', 'feedd', 'CREATE')" "ROLLBACK"
sql_is "feedd_writer can store a batch and index it" "inserted|t" \
  "SET ROLE feedd_writer" \
  "SELECT concat_ws('|', outcome, (SELECT indexed >= 1 FROM feedd.index_search(10)))
   FROM feedd.store_articles(ARRAY['batch'], ARRAY['batch-a'], ARRAY['w1'], ARRAY[NULL],
     ARRAY['W'], ARRAY[NULL], ARRAY[NULL], ARRAY[NULL], ARRAY['{}'], ARRAY[NULL]::timestamptz[],
     ARRAY[NULL], ARRAY[NULL], ARRAY['hw'], ARRAY[now()], ARRAY[false], ARRAY[NULL]::timestamptz[])"
sql_is "feedd_writer can queue, claim, hand back and finish page visits (page_visits, 021)" \
  "inserted
w2
1
1
0" \
  "BEGIN" "SET ROLE feedd_writer" \
  "SELECT outcome FROM feedd.store_articles(ARRAY['batch'], ARRAY['batch-a'], ARRAY['w2'],
     ARRAY['https://batch.example/w2'], ARRAY['W'], ARRAY[NULL], ARRAY[NULL], ARRAY[NULL],
     ARRAY['{}'], ARRAY[NULL]::timestamptz[], ARRAY[NULL], ARRAY[NULL], ARRAY['hw2'],
     ARRAY[now() - interval '1 minute'], ARRAY[true], ARRAY[NULL]::timestamptz[])" \
  "SELECT news_id FROM feedd.claim_visits(ARRAY['batch'], 10, 60)" \
  "SELECT feedd.release_visits(ARRAY['batch'], ARRAY['w2'])" \
  "SELECT count(*) FROM (SELECT feedd.plan_visit(a.source_id, a.id, NULL)
     FROM feedd.articles a WHERE a.news_id = 'w2') x" \
  "SELECT count(*) FROM feedd.page_visits v JOIN feedd.articles a
     ON a.source_id = v.source_id AND a.id = v.article_id WHERE a.news_id = 'w2'" \
  "ROLLBACK"
sql_is "feedd_writer can make and beat its instance row" "1|f|t" \
  "SET ROLE feedd_writer" \
  "SELECT FROM feedd.instance_beat('h:1:1', 'default', 'h', 1, '0.1.0', now(), 3, NULL, false)" \
  "SELECT FROM feedd.instance_beat('h:1:1', 'default', 'h', 1, '0.1.0', now(), 3, NULL, true)" \
  "SELECT concat_ws('|', count(*), bool_and(stopped_at IS NULL), bool_and(feeds = 3))
   FROM feedd.instances WHERE id = 'h:1:1'"
sql_is "feedd_writer can call settle_statistics (SECURITY DEFINER: it analyses as the owner)" \
  "t" "SET ROLE feedd_writer" "SELECT feedd.settle_statistics() IS NOT NULL"
sql_is "feedd_writer can read the version" "$latest" \
  "SET ROLE feedd_writer" "SELECT max(version) FROM feedd.schema_migrations"
sql_fails "feedd_writer cannot delete" "permission denied for table polls" \
  "SET ROLE feedd_writer" "DELETE FROM feedd.polls"
sql_fails "feedd_writer cannot change schema_migrations" \
  "permission denied for table schema_migrations" \
  "SET ROLE feedd_writer" "INSERT INTO feedd.schema_migrations VALUES (1000, 'x')"
sql_fails "feedd_writer cannot change the schema" "permission denied for schema feedd" \
  "SET ROLE feedd_writer" "CREATE TABLE feedd.x (i int)"
sql_is "feedd_reader can read tables and views" "t" \
  "SET ROLE feedd_reader" \
  "SELECT (SELECT count(*) FROM feedd.latest_articles) > 0
      AND (SELECT count(*) FROM feedd.feed_health) > 0
      AND (SELECT count(*) FROM feedd.article_revisions) > 0"
sql_fails "feedd_reader cannot write" "permission denied for table articles" \
  "SET ROLE feedd_reader" "UPDATE feedd.articles SET title = 'x'"
sql_fails "feedd_reader cannot call the functions" "permission denied for function sync_source" \
  "SET ROLE feedd_reader" "SELECT feedd.sync_source('x', NULL)"

echo "# the README's cookbook"

# Data the queries can find: articles published over the last days.
for i in 1 2 3 4 5; do
  q -c "SELECT * FROM feedd.store_article('irna-en', 'irna-en-all', 'cb$i',
          'https://en.irna.ir/news/cb$i/', 'Tehran talks day $i',
          'Negotiators met in Tehran on oil and sanctions.', 'Body $i.', 'IRNA',
          ARRAY['Diplomacy', 'Oil'], now() - interval '$i days', NULL, 'en', 'c$i', now())" \
    >/dev/null
done
q -c "SELECT * FROM feedd.store_article('irna-en', 'irna-en-all', 'cb1', NULL,
        'Tehran talks day 1 (updated)', 'Negotiators met in Tehran on oil and sanctions.',
        NULL, NULL, ARRAY['Diplomacy'],
        now() - interval '1 day', NULL, 'en', 'c1b', now())" >/dev/null
# What the daemon's indexer does a second after a commit.
q -c "SELECT FROM feedd.index_search(100000)" >/dev/null

sql_is "cookbook: what did a source publish about a subject this week" \
  "Tehran talks day 1 (updated)
Tehran talks day 2
Tehran talks day 3
Tehran talks day 4
Tehran talks day 5" \
  "SELECT a.title
   FROM feedd.articles a JOIN feedd.sources s ON s.id = a.source_id
   WHERE s.name = 'irna-en'
     AND a.search @@ websearch_to_tsquery('simple', 'tehran sanctions')
     AND a.published_at > now() - interval '7 days'
   ORDER BY a.published_at DESC"
sql_is "cookbook: full-text search, best matches first" \
  "Oil exports rise sharply
Tehran talks day 1 (updated)" \
  "SELECT a.title
   FROM feedd.articles a, websearch_to_tsquery('simple', '\"oil exports\" or sanctions') q
   WHERE a.search @@ q
   ORDER BY ts_rank(a.search, q) DESC, a.published_at DESC
   LIMIT 2"
sql_is "cookbook: articles edited in the last week" \
  "irna-en|cb1|Tehran talks day 1|Tehran talks day 1 (updated)" \
  "SELECT concat_ws('|', source, news_id, old_title, new_title) FROM (
   SELECT s.name AS source, a.news_id, r.title AS old_title, a.title AS new_title,
          r.replaced_at AS edited_at
   FROM feedd.article_revisions r
   JOIN feedd.articles a ON a.source_id = r.source_id AND a.id = r.article_id
   JOIN feedd.sources s ON s.id = a.source_id
   WHERE r.replaced_at > now() - interval '7 days'
   ORDER BY r.replaced_at DESC) x"
sql_is "cookbook: failing feeds" "irna-en-all|1|500|HTTP 500" \
  "SELECT concat_ws('|', feed, consecutive_errors, last_http_status, last_error) FROM (
   SELECT feed, source, consecutive_errors, last_http_status, last_error, last_success_at
   FROM feedd.feed_health
   WHERE enabled AND (consecutive_errors > 0 OR last_success_at < now() - interval '1 day')
   ORDER BY consecutive_errors DESC, feed) x
   WHERE feed = 'irna-en-all'"
sql_is "cookbook: top tags this week" "Oil|7
Diplomacy|5
Iran|3" \
  "SELECT tag || '|' || n FROM (
   SELECT tag, count(*) AS n
   FROM feedd.articles a, unnest(a.tags) AS tag
   WHERE a.published_at > now() - interval '7 days'
   GROUP BY tag
   ORDER BY count(*) DESC, tag
   LIMIT 20) x"
sql_is "cookbook: articles per source and day" "irna-en|7
irna-fa|1" \
  "SELECT source || '|' || sum(articles) FROM (
   SELECT s.name AS source, date_trunc('day', a.published_at) AS day, count(*) AS articles
   FROM feedd.articles a JOIN feedd.sources s ON s.id = a.source_id
   WHERE a.published_at > now() - interval '7 days'
   GROUP BY 1, 2
   ORDER BY 2 DESC, 1) x GROUP BY source ORDER BY source"
sql_is "cookbook: articles with a tag" "5" \
  "SELECT count(*) FROM feedd.articles WHERE tags @> ARRAY['Diplomacy']"
# The tables are too small for the planner to want an index; forbid the
# alternatives to see that the index fits the query.
got=$(qc "SET enable_seqscan = off" \
  "EXPLAIN SELECT title FROM feedd.articles WHERE tags @> ARRAY['Diplomacy']")
has "the tag query can use the GIN index" "articles_tags_idx" "$got"
got=$(qc "SET enable_seqscan = off" "SET enable_sort = off" \
  "EXPLAIN SELECT title FROM feedd.latest_articles ORDER BY newest_at DESC LIMIT 20")
has "the newest 20 of latest_articles can come from an index" "articles_newest_idx" "$got"

sql_is "latest_articles can be searched" "Oil exports rise sharply" \
  "SELECT title FROM feedd.latest_articles
   WHERE search @@ websearch_to_tsquery('simple', '\"oil exports\"')"
got=$(qc "SET enable_seqscan = off" "SET enable_indexscan = off" \
  "EXPLAIN SELECT title FROM feedd.latest_articles
   WHERE search @@ websearch_to_tsquery('simple', 'sanctions')")
has "... through the GIN index" "articles_search_time_idx" "$got"
# 022: a search over a period is one scan of the (search, published_at)
# GIN index, not a BitmapAnd of the word's every article with the period's.
# (Without the publication-time indexes, which a table this small prefers.)
got=$(qc "SET enable_seqscan = off" "SET enable_indexscan = off" "BEGIN" \
  "DROP INDEX feedd.articles_recent_cover_idx" "DROP INDEX feedd.articles_source_recent_idx" \
  "EXPLAIN SELECT title FROM feedd.articles
   WHERE search @@ websearch_to_tsquery('simple', 'sanctions')
     AND published_at > now() - interval '7 days'" "ROLLBACK")
has "a search over a period reads one index with both conditions (022)" \
  "Index Cond: ((search @@ '''sanctions'''::tsquery) AND (published_at > (now() - '7 days'::interval)))" "$got"
lacks "... not a BitmapAnd of two" "BitmapAnd" "$got"
sql_is "... and answers as the query does without it" "$(qc "SET enable_bitmapscan = off" "SET enable_indexscan = off" \
  "SELECT count(*) FROM feedd.articles WHERE search @@ websearch_to_tsquery('simple', 'sanctions')
     AND published_at > now() - interval '7 days'")" \
  "SELECT count(*) FROM feedd.articles WHERE search @@ websearch_to_tsquery('simple', 'sanctions')
     AND published_at > now() - interval '7 days'"

# 015: one source's newest first, undated last, from an index.
q -c "SELECT * FROM feedd.store_article('irna-en', 'irna-en-all', 'cb-undated',
        'https://en.irna.ir/news/cb-undated/', 'Undated note', NULL, NULL, NULL, NULL,
        NULL, NULL, 'en', 'cu', now())" >/dev/null
sql_is "cookbook: one source's newest, undated last" \
  "Tehran talks day 1 (updated)
Tehran talks day 2
Tehran talks day 3
Tehran talks day 4
Tehran talks day 5" \
  "SELECT a.title
   FROM feedd.articles a
   WHERE a.source_id = (SELECT id FROM feedd.sources WHERE name = 'irna-en')
     AND a.news_id LIKE 'cb%'
   ORDER BY a.published_at DESC NULLS LAST LIMIT 5"
got=$(qc "SET enable_seqscan = off" "SET enable_bitmapscan = off" \
  "EXPLAIN SELECT a.title FROM feedd.articles a
   WHERE a.source_id = (SELECT id FROM feedd.sources WHERE name = 'irna-en')
   ORDER BY a.published_at DESC NULLS LAST LIMIT 20")
has "one source's newest, undated last, comes from an index" "articles_source_recent_idx" "$got"
lacks "... without a sort" "Sort" "$got"
got=$(qc "SET enable_seqscan = off" "SET enable_bitmapscan = off" \
  "EXPLAIN SELECT title FROM feedd.articles ORDER BY published_at DESC NULLS LAST LIMIT 20")
has "the newest overall, undated last, comes from an index" "articles_recent_cover_idx" "$got"
got=$(qc "SET enable_seqscan = off" "SET enable_bitmapscan = off" "VACUUM feedd.articles" \
  "EXPLAIN SELECT tag, count(*) FROM feedd.articles a, unnest(a.tags) tag
   WHERE a.published_at > now() - interval '7 days' GROUP BY tag")
has "the tags of a week come from the covering index (020)" "Index Only Scan using articles_recent_cover_idx" "$got"
sql_is "articles.search is kept in the row (STORAGE MAIN, 020)" "m" \
  "SELECT attstorage FROM pg_attribute WHERE attrelid = 'feedd.articles'::regclass AND attname = 'search'"
sql_is "the publication-time indexes sort NULLs last; the old ones are gone (020 covers tags)" \
  "articles_recent_cover_idx|t|CREATE INDEX articles_recent_cover_idx ON feedd.articles USING btree (published_at DESC NULLS LAST) INCLUDE (source_id, tags)
articles_source_recent_idx|t|CREATE INDEX articles_source_recent_idx ON feedd.articles USING btree (source_id, published_at DESC NULLS LAST)" \
  "SELECT concat_ws('|', c.relname, i.indisvalid, pg_get_indexdef(c.oid))
   FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
   WHERE c.relnamespace = 'feedd'::regnamespace AND pg_get_indexdef(c.oid) LIKE '%(%published_at%'
     AND c.relname NOT IN ('articles_newest_idx', 'articles_search_time_idx')
   ORDER BY 1"

# A concurrent build that did not finish leaves an invalid index of the
# name, which IF NOT EXISTS would take for done: migrate drops it and builds
# the index again.  (A unique index over duplicates fails, invalid.)
# (As a database at version 14 would be, with 015's build interrupted.)
# (And 021 copies the page visits the articles held into page_visits: one
# due in 5 minutes and one leased, whose due time was its lease's end.)
q -c "DROP TABLE feedd.page_visits" -c "ALTER TABLE feedd.articles ADD COLUMN next_visit_at timestamptz" \
  -c "CREATE INDEX articles_next_visit_idx ON feedd.articles (next_visit_at) WHERE next_visit_at IS NOT NULL" \
  -c "UPDATE feedd.articles SET next_visit_at = timestamptz '2031-01-02 03:04:05+00' WHERE news_id = 'cb-undated'" \
  -c "UPDATE feedd.articles SET next_visit_at = timestamptz '2031-01-02 03:04:06+00' WHERE news_id = 'cb1'" \
  -c "DROP INDEX feedd.articles_recent_cover_idx" -c "ALTER TABLE feedd.articles ALTER COLUMN search SET STORAGE EXTENDED" \
  -c "DROP TABLE feedd.instances" \
  -c "ALTER TABLE feedd.feeds DROP COLUMN host CASCADE, DROP COLUMN lease_holder CASCADE,
        DROP COLUMN lease_until CASCADE" -c "DROP INDEX feedd.feeds_due_idx" \
  -c "DELETE FROM feedd.code_version" \
  -c "ALTER TABLE feedd.polls DROP COLUMN instance" \
  -c "DELETE FROM feedd.schema_migrations WHERE version >= 15" >/dev/null
psql -X -q -d "$FEEDD_TEST_CONNINFO" \
  -c "CREATE UNIQUE INDEX CONCURRENTLY articles_recent_idx ON feedd.articles (source_id)" \
  >/dev/null 2>&1
sql_is "an interrupted build left an invalid index" "f" \
  "SELECT indisvalid FROM pg_index WHERE indexrelid = 'feedd.articles_recent_idx'::regclass"
run_feedd "migrate after an interrupted index build" 0 migrate -c "$conf"
has "migrate names the invalid index it drops" "dropping feedd.articles_recent_idx" "$(cat "$work/err")"
sql_is "the index is built again, valid, and 020 replaced it again: no invalid index is left" \
  "t|CREATE INDEX articles_recent_cover_idx ON feedd.articles USING btree (published_at DESC NULLS LAST) INCLUDE (source_id, tags)
0
m
$latest" \
  "SELECT concat_ws('|', i.indisvalid, pg_get_indexdef(i.indexrelid)) FROM pg_index i
   WHERE i.indexrelid = 'feedd.articles_recent_cover_idx'::regclass" \
  "SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
   WHERE c.relnamespace = 'feedd'::regnamespace AND (NOT i.indisvalid OR c.relname = 'articles_recent_idx')" \
  "SELECT attstorage FROM pg_attribute WHERE attrelid = 'feedd.articles'::regclass AND attname = 'search'" \
  "SELECT max(version) FROM feedd.schema_migrations"
sql_is "021 moved the planned visits to page_visits, due as they were, not leased" \
  "cb-undated|2031-01-02 03:04:05+00|
cb1|2031-01-02 03:04:06+00|" \
  "SET TIME ZONE 'UTC'" \
  "SELECT concat_ws('|', a.news_id, v.due_at, coalesce(v.lease_until::text, ''))
   FROM feedd.page_visits v JOIN feedd.articles a ON a.source_id = v.source_id AND a.id = v.article_id
   ORDER BY a.news_id"
sql_is "... and articles lost the column and its index" "0|0" \
  "SELECT (SELECT count(*) FROM pg_attribute WHERE attrelid = 'feedd.articles'::regclass
             AND attname = 'next_visit_at' AND NOT attisdropped)
     || '|' || (SELECT count(*) FROM pg_class WHERE relname = 'articles_next_visit_idx')"

echo "$passed passed, $failed failed"
((failed == 0))
