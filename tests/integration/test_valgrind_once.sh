#!/usr/bin/env bash
# test_valgrind_once: `feedd once` over good, failing and non-feed URLs and a
# source whose article pages are fetched and extracted (a good page, a
# missing one, a bot challenge), under valgrind memcheck, twice (the second
# pass takes the 304 path); then `feedd run` under memcheck through a
# SIGHUP, a PostgreSQL crash (the spool path) and SIGTERM: no invalid reads
# or writes, no uninitialised jumps, no definite leaks.  Skipped (77) for
# sanitizer builds and where valgrind is missing.
#
# usage (through with-pg.sh): test_valgrind_once.sh FEEDD TESTS_DIR
set -u
feedd=$1
tests=$2
if ! command -v valgrind >/dev/null; then
  echo "valgrind not installed: skipped"
  exit 77
fi
if nm "$feedd" 2>/dev/null | grep -q __asan_init; then
  echo "sanitizer build: skipped (valgrind cannot run ASan binaries)"
  exit 77
fi
# shellcheck source=../lib/httpd.sh
source "$tests/lib/httpd.sh"
# shellcheck source=../lib/pg.sh
source "$tests/lib/pg.sh" # pg_stop_immediate, pg_start_again
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/feeds"
cp "$tests/fixtures/feeds/rss20-namespaces.xml" "$work/feeds/a.xml"
cp "$tests/fixtures/feeds/atom10.xml" "$work/feeds/b.xml"
cp "$tests/fixtures/feeds/broken-mismatch.xml" "$work/feeds/c.xml"
cp "$tests/fixtures/articles/irna-article.html" "$work/feeds/a-85859288.html"
cp "$tests/fixtures/articles/bot-challenge.html" "$work/feeds/a-85850004.html"
httpd_start "$work/feeds" || exit $?
{
  printf '<?xml version="1.0"?><rss version="2.0"><channel><title>P</title>\n'
  for id in 85859288 85850002 85850004; do
    printf '<item><title>T %s</title><link>%s/feeds/a-%s.html</link><category>C</category></item>\n' \
      "$id" "$FEEDD_TEST_HTTP" "$id"
  done
  printf '</channel></rss>\n'
} > "$work/feeds/pages.xml"
cat > "$work/feedd.conf" <<CONF
[feedd]
state_dir = $work/state
fetch_timeout = 5s
[database]
conninfo = $FEEDD_TEST_CONNINFO
[source s]
home = https://en.irna.ir/
news_id = /news/([0-9]+)/
[feed a]
source = s
url = $FEEDD_TEST_HTTP/feeds/a.xml
[feed b]
source = s
url = $FEEDD_TEST_HTTP/feeds/b.xml
[feed c]
source = s
url = $FEEDD_TEST_HTTP/feeds/c.xml
[feed server-error]
source = s
url = $FEEDD_TEST_HTTP/status/500
[feed not-a-feed]
source = s
url = $FEEDD_TEST_HTTP/bot-challenge
[source agency]
home = $FEEDD_TEST_HTTP/
news_id = /a-([0-9]+)\.html
articles = fetch
rules = nastooh
revisit = 1h
[feed pages]
source = agency
url = $FEEDD_TEST_HTTP/feeds/pages.xml
CONF
"$feedd" migrate -c "$work/feedd.conf" > /dev/null || { echo "not ok - migrate"; exit 1; }
pass=0 fail=0
for pass_no in 1 2; do
  valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
    --show-leak-kinds=definite "$feedd" once -c "$work/feedd.conf" 2> "$work/vg$pass_no.log"
  status=$?
  if [ "$status" = 99 ] || grep -q '^==[0-9]*==' "$work/vg$pass_no.log"; then
    echo "not ok - feedd once, pass $pass_no, under memcheck"
    grep '^==[0-9]*==' "$work/vg$pass_no.log" | head -30
    fail=$((fail + 1))
  else
    echo "ok - feedd once, pass $pass_no, under memcheck (exit $status)"
    pass=$((pass + 1))
  fi
done
extracted=$(psql -X -q -A -t -d "$FEEDD_TEST_CONNINFO" -c \
  "SELECT string_agg(news_id || ':' || extract_status, ' ' ORDER BY news_id) FROM feedd.articles a JOIN feedd.sources s ON s.id = a.source_id WHERE s.name = 'agency'")
if [ "$extracted" = "85850002:http_error 85850004:not_article 85859288:ok" ]; then
  echo "ok - the pages went through fetching and extraction ($extracted)"
  pass=$((pass + 1))
else
  echo "not ok - the pages went through fetching and extraction"
  echo "#   got: $extracted"
  fail=$((fail + 1))
fi

# feedd run: a SIGHUP, the database crashing (new articles go to the spool),
# then SIGTERM.
sed -i 's|^fetch_timeout = 5s|fetch_timeout = 5s\nmin_interval = 1s\ndefault_interval = 1s|' "$work/feedd.conf"
valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
  --show-leak-kinds=definite "$feedd" run -c "$work/feedd.conf" 2> "$work/vgrun.log" &
vg_pid=$!
for ((i = 0; i < 600; i++)); do
  grep -q "polling" "$work/vgrun.log" && break
  sleep 0.1
done
sleep 3
kill -HUP "$vg_pid"
sleep 2
pg_stop_immediate
sed -i 's|<channel><title>P</title>|<channel><title>P</title><item><title>New</title><link>'"$FEEDD_TEST_HTTP"'/feeds/a-85850009.html</link></item>|' "$work/feeds/pages.xml"
for ((i = 0; i < 300; i++)); do
  grep -q "spool" "$work/vgrun.log" && break
  sleep 0.1
done
kill -TERM "$vg_pid"
wait "$vg_pid"
status=$?
pg_start_again >/dev/null || echo "# PostgreSQL did not start again"
if [ "$status" = 99 ] || grep -q '^==[0-9]*==' "$work/vgrun.log"; then
  echo "not ok - feedd run (SIGHUP, database crash, spool, SIGTERM) under memcheck"
  grep '^==[0-9]*==' "$work/vgrun.log" | head -30
  fail=$((fail + 1))
else
  echo "ok - feedd run (SIGHUP, database crash, spool, SIGTERM) under memcheck (exit $status)"
  pass=$((pass + 1))
fi
if [ "$status" = 0 ]; then
  echo "ok - SIGTERM with the database away exits 0 (what it accepted is in the spool)"
  pass=$((pass + 1))
else
  echo "not ok - SIGTERM with the database away exits 0"
  tail -5 "$work/vgrun.log"
  fail=$((fail + 1))
fi
if grep -q "spool" "$work/vgrun.log"; then
  echo "ok - ... and it did spool"
  pass=$((pass + 1))
else
  echo "not ok - ... and it did spool"
  tail -5 "$work/vgrun.log"
  fail=$((fail + 1))
fi

echo "test_valgrind_once: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
