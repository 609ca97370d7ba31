#!/usr/bin/env bash
# test_retention: `[source] article_retention` (issue 15, part 3).
# feedd.prune_articles on its own (its limit, the undated rule, the
# cascade, a row another session holds left alone, sources without a
# retention untouched), then the daemon: `feedd once` does not store feed
# items older than the retention, `feedd run` deletes a source's old
# articles in batches at its upkeep and logs the total, and a reload that
# gives a second source a retention deletes its old ones at once.
#
# usage (through with-pg.sh): test_retention.sh FEEDD TESTS_DIR
set -u
feedd=$1
tests=$2
# shellcheck source=../lib/httpd.sh
source "$tests/lib/httpd.sh"

# shellcheck source=../lib/tap.sh
source "$tests/lib/tap.sh"
# wait_log PATTERN FILE PID: until a line matches (true), the process ends
# or 120 s pass (false).
wait_log() {
  local k
  for ((k = 0; k < 1200; k++)); do
    grep -q -- "$1" "$2" && return 0
    kill -0 "$3" 2> /dev/null || return 1
    sleep 0.1
  done
  return 1
}

work=$(mktemp -d)
daemon_pid=
trap '[ -n "$daemon_pid" ] && kill -KILL "$daemon_pid" 2> /dev/null; rm -rf "$work"' EXIT
www=$work/www
mkdir -p "$www"
httpd_start "$www" || exit $?

item() { # ID AGE (a date(1) offset, or "none": undated)
  local date=""
  [ "$2" != none ] && date="<pubDate>$(LC_ALL=C date -u -R -d "$2")</pubDate>"
  printf '<item><title>Item %s</title><link>%s/news/%s/</link><description>About %s.</description>%s</item>\n' \
    "$1" "$FEEDD_TEST_HTTP" "$1" "$1" "$date"
}
rss() {
  printf '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel><title>T</title><link>%s/</link>\n' "$FEEDD_TEST_HTTP"
  cat
  printf '</channel></rss>\n'
}
{
  item 101 '-1 hour'
  item 102 '-30 hours'
  item 103 none
  item 104 '-3 days'
  item 105 '-400 days'
} | rss > "$www/old.xml"
{
  item 201 '-1 hour'
  item 202 '-400 days'
} | rss > "$www/keep.xml"

conf() { # KEEP_RETENTION
  cat > "$work/feedd.conf" << CONF
[feedd]
state_dir = $work/state
log_level = info
default_interval = 1h

[database]
conninfo = $FEEDD_TEST_CONNINFO
batch_delay = 10ms

[source old]
home = $FEEDD_TEST_HTTP/
news_id = /news/([0-9]+)/
article_retention = 2d

[source keep]
home = $FEEDD_TEST_HTTP/
news_id = /news/([0-9]+)/
article_retention = $1

[feed old-all]
source = old
url = $FEEDD_TEST_HTTP/feeds/old.xml

[feed keep-all]
source = keep
url = $FEEDD_TEST_HTTP/feeds/keep.xml
CONF
}
conf 0

"$feedd" migrate -c "$work/feedd.conf" > /dev/null || { echo "not ok - migrate"; exit 1; }

# 1. feedd once: items older than the retention are not stored.
timeout 120 "$feedd" once -c "$work/feedd.conf" 2> "$work/once.log"
is "once exits 0" 0 $?
is "the old source keeps the items within its retention (and the undated one)" "101,102,103" \
  "$(sql "SELECT string_agg(news_id, ',' ORDER BY news_id) FROM feedd.articles a
          JOIN feedd.sources s ON s.id = a.source_id WHERE s.name = 'old'")"
is "a source without a retention keeps them all" "201,202" \
  "$(sql "SELECT string_agg(news_id, ',' ORDER BY news_id) FROM feedd.articles a
          JOIN feedd.sources s ON s.id = a.source_id WHERE s.name = 'keep'")"
logged "the poll says how many items were too old" \
  "feed old-all: 5 entries, 3 new, 2 older than the source's article_retention (not stored)" \
  "$work/once.log"

# 2. feedd.prune_articles by itself, on a source of its own.
sql "SELECT feedd.sync_source('lab', 'https://lab.example/')" > /dev/null
sql "SELECT feedd.sync_feed('lab-all', 'lab', 'https://lab.example/rss', 3600, true)" > /dev/null
# 30 published 10 days ago, 5 undated first seen 10 days ago, 5 undated
# first seen now, 5 published an hour ago; two of the old ones with a
# feed link, a revision and a queued page.
sql "INSERT INTO feedd.articles (source_id, news_id, title, published_at, first_seen_at, content_hash)
     SELECT s.id, 'lab' || g,  'Lab ' || g,
            CASE WHEN g <= 30 THEN now() - interval '10 days'
                 WHEN g <= 40 THEN NULL ELSE now() - interval '1 hour' END,
            CASE WHEN g <= 35 THEN now() - interval '10 days' ELSE now() END, 'h'
     FROM feedd.sources s, generate_series(1, 45) g WHERE s.name = 'lab'" > /dev/null
sql "INSERT INTO feedd.article_feeds (source_id, article_id, feed_id, first_seen_at)
     SELECT a.source_id, a.id, f.id, now() FROM feedd.articles a JOIN feedd.feeds f ON f.name = 'lab-all'
     WHERE a.news_id IN ('lab1', 'lab2', 'lab45')" > /dev/null
sql "INSERT INTO feedd.article_revisions (source_id, article_id, revision, content_hash, valid_from, replaced_at)
     SELECT a.source_id, a.id, 1, 'h0', now(), now() FROM feedd.articles a WHERE a.news_id IN ('lab1', 'lab2', 'lab45')" > /dev/null
sql "SELECT feedd.plan_visit(a.source_id, a.id, now()) FROM feedd.articles a
     WHERE a.news_id IN ('lab1', 'lab2', 'lab45')" > /dev/null
lab_left() { sql "SELECT count(*) FROM feedd.articles a JOIN feedd.sources s ON s.id = a.source_id WHERE s.name = 'lab'"; }

is "a retention of 0 deletes nothing" "0|45" \
  "$(sql "SELECT feedd.prune_articles(ARRAY['lab'], ARRAY[0]::bigint[], 100)")|$(lab_left)"
is "nor does a source not in the list (or not known)" "0|45" \
  "$(sql "SELECT feedd.prune_articles(ARRAY['old', 'nosuch'], ARRAY[2 * 86400, 86400]::bigint[], 100)")|$(lab_left)"

# A row another session holds is skipped, not waited for.
hold_rows "$work" "SELECT 'locked' FROM feedd.articles WHERE news_id = 'lab3' FOR NO KEY UPDATE" \
  > "$work/held"
is "lab3 is held by another session" locked "$(cat "$work/held")"
is "a call deletes at most its limit" "20|25" \
  "$(sql "SELECT feedd.prune_articles(ARRAY['lab'], ARRAY[2 * 86400]::bigint[], 20)")|$(lab_left)"
is "the next deletes the rest of the old ones, but the held row" "14|11" \
  "$(timeout 60 psql -X -q -A -t -d "$FEEDD_TEST_CONNINFO" \
    -c "SELECT feedd.prune_articles(ARRAY['lab'], ARRAY[2 * 86400]::bigint[], 1000)")|$(lab_left)"
release_rows
is "what is left: the held one, the new undated ones and the recent ones" \
  "lab3,lab36,lab37,lab38,lab39,lab40,lab41,lab42,lab43,lab44,lab45" \
  "$(sql "SELECT string_agg(news_id, ',' ORDER BY length(news_id), news_id) FROM feedd.articles a
          JOIN feedd.sources s ON s.id = a.source_id WHERE s.name = 'lab'")"
is "links, revisions and queued pages went with their articles" "1|1|1" \
  "$(sql "SELECT (SELECT count(*) FROM feedd.article_feeds l JOIN feedd.feeds f ON f.id = l.feed_id WHERE f.name = 'lab-all')
          || '|' || (SELECT count(*) FROM feedd.article_revisions r JOIN feedd.sources s ON s.id = r.source_id WHERE s.name = 'lab')
          || '|' || (SELECT count(*) FROM feedd.page_visits v JOIN feedd.sources s ON s.id = v.source_id WHERE s.name = 'lab')")"
is "the writer role may call it (SECURITY DEFINER)" "1" \
  "$(sql "CREATE ROLE retention_writer NOLOGIN" > /dev/null
     psql -X -q -A -t -d "$FEEDD_TEST_CONNINFO" -c "GRANT USAGE ON SCHEMA feedd TO retention_writer" \
       -c "SET ROLE retention_writer" \
       -c "SELECT feedd.prune_articles(ARRAY['lab'], ARRAY[2 * 86400]::bigint[], 1000)" 2>&1)"

# 3. feedd run: 2,500 old articles of source old (beyond one batch of
# 1,000), deleted at the first upkeep, the total logged; the ones within
# the retention kept.
sql "INSERT INTO feedd.articles (source_id, news_id, published_at, first_seen_at, content_hash)
     SELECT s.id, 'x' || g, now() - interval '5 days', now() - interval '5 days', 'h'
     FROM feedd.sources s, generate_series(1, 2500) g WHERE s.name IN ('old', 'keep')" > /dev/null
"$feedd" run -c "$work/feedd.conf" 2> "$work/run.log" &
daemon_pid=$!
if wait_log "article retention: 2500 articles deleted" "$work/run.log" "$daemon_pid"; then
  ok "run deletes the old articles of a source with a retention, and logs the total"
else
  not_ok "run deletes the old articles of a source with a retention, and logs the total" "$(tail -5 "$work/run.log")"
fi
is "... all of them, and nothing within the retention" "101,102,103|2500" \
  "$(sql "SELECT string_agg(news_id, ',' ORDER BY news_id) FILTER (WHERE s.name = 'old')
            || '|' || count(*) FILTER (WHERE s.name = 'keep' AND news_id LIKE 'x%')
          FROM feedd.articles a JOIN feedd.sources s ON s.id = a.source_id")"

# 4. A reload that gives source keep a retention of 3 days: its 2,500
# articles of 5 days and its item of 400 days are deleted at once, not at
# the next hourly upkeep.
conf 3d
kill -HUP "$daemon_pid"
if wait_log "article retention: 2501 articles deleted" "$work/run.log" "$daemon_pid"; then
  ok "a reload that sets a retention applies it at once"
else
  not_ok "a reload that sets a retention applies it at once" "$(tail -5 "$work/run.log")"
fi
is "... keep's old articles are gone, its recent one stays" "201" \
  "$(sql "SELECT string_agg(news_id, ',' ORDER BY news_id) FROM feedd.articles a
          JOIN feedd.sources s ON s.id = a.source_id WHERE s.name = 'keep'")"
kill -TERM "$daemon_pid"
wait "$daemon_pid"
is "run exits 0 on SIGTERM" 0 $?
daemon_pid=

echo "# $pass passed, $fail failed"
[ "$fail" -eq 0 ]
