#!/usr/bin/env bash
# test_pages_spool: a page visit recorded while PostgreSQL is down is kept
# in the spool and recorded when it is back, by the same process, which
# then finishes.
#
# `feedd once` stores three articles of an `articles = fetch` source whose
# pages drip one byte a second (the fixture server's /drip), so that their
# fetches are still running when PostgreSQL is crash-stopped.  Each page
# then fails (it is not HTML: the server calls it RSS) and its visit is
# spooled; PostgreSQL starts again, the spool is replayed, and once must
# exit 0 with the three visits in the database.  The pages count the
# visits they are waiting for: a replayed record that reported back to them
# a second time (it did once) made that count wrap, and once never ended.
#
# usage (through with-pg.sh): test_pages_spool.sh FEEDD TESTS_DIR
set -u
feedd=$1
tests=$2
# shellcheck source=../lib/httpd.sh
source "$tests/lib/httpd.sh"
# shellcheck source=../lib/pg.sh
source "$tests/lib/pg.sh" # for pg_stop_immediate and pg_start_again
# shellcheck source=../lib/time_factor.sh
source "$tests/lib/time_factor.sh"

# shellcheck source=../lib/tap.sh
source "$tests/lib/tap.sh"
wait_for() { # SECONDS CMD...: until CMD succeeds, at most SECONDS
  local limit=$1 i
  shift
  for ((i = 0; i < limit * 10; i++)); do
    "$@" && return 0
    sleep 0.1
  done
  return 1
}

work=$(mktemp -d)
once_pid=
trap '[ -n "$once_pid" ] && kill -KILL "$once_pid" 2> /dev/null; rm -rf "$work"' EXIT
www=$work/www
mkdir -p "$www"
httpd_start "$www" || exit $?

{
  printf '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel><title>T</title>\n'
  for id in 1 2 3; do
    printf '<item><title>Slow page %d</title><link>%s/drip?bytes=6&amp;id=%d</link></item>\n' \
      "$id" "$FEEDD_TEST_HTTP" "$id"
  done
  printf '</channel></rss>\n'
} > "$www/slow.xml"

cat > "$work/feedd.conf" << CONF
[feedd]
state_dir = $work/state
log_level = info
fetch_timeout = 60s

[database]
conninfo = $FEEDD_TEST_CONNINFO
batch_delay = 10ms

[source slow]
home = $FEEDD_TEST_HTTP/
news_id = [?&]id=([0-9]+)
articles = fetch

[feed slow-all]
source = slow
url = $FEEDD_TEST_HTTP/feeds/slow.xml
CONF
"$feedd" migrate -c "$work/feedd.conf" > /dev/null || { echo "not ok - migrate"; exit 1; }

drips() {
  python3 -c 'import json, sys, urllib.request
print(json.load(urllib.request.urlopen(sys.argv[1] + "/count", timeout=10)).get("/drip", 0))' \
    "$FEEDD_TEST_HTTP"
}
dripping() { [ "$(drips)" -ge 3 ]; }
failed_pages() { [ "$(grep -c "article slow/[0-9]*: page .*drip" "$work/once.log")" -ge 3 ]; }

limit=$((120 * $(time_factor "$feedd")))
timeout "$limit" "$feedd" once -c "$work/feedd.conf" 2> "$work/once.log" &
once_pid=$!
if wait_for 60 dripping; then ok "the three pages are being fetched"; else
  not_ok "the three pages are being fetched" "$(drips) /drip requests; $(tail -3 "$work/once.log")"
fi
is "their articles are stored first" 3 "$(sql "SELECT count(*) FROM feedd.articles")"
pg_stop_immediate
if wait_for 60 failed_pages; then ok "the pages end while PostgreSQL is down"; else
  not_ok "the pages end while PostgreSQL is down" "$(tail -5 "$work/once.log")"
fi
pg_start_again || { echo "not ok - PostgreSQL did not start again"; exit 1; }
wait "$once_pid"
status=$?
once_pid=
is "once exits 0 once the spooled visits are recorded (it used to wait for ever)" 0 "$status"
is "the three visits are in the database" "3|3" \
  "$(sql "SELECT count(*) FILTER (WHERE page_attempts = 1) || '|' ||
                 count(*) FILTER (WHERE extract_status = 'not_html') FROM feedd.articles")"
is "the spool is empty" "" "$(find "$work/state/spool" -type f -size +0 -name '*.seg' 2> /dev/null)"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
