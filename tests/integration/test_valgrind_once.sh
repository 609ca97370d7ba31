#!/usr/bin/env bash
# test_valgrind_once: `feedd once` over good, failing and non-feed URLs under
# valgrind memcheck, twice (the second pass takes the 304 path): no invalid
# reads or writes, no uninitialised jumps, no definite leaks.  Skipped (77)
# for sanitizer builds and where valgrind is missing.
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
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/feeds"
cp "$tests/fixtures/feeds/rss20-namespaces.xml" "$work/feeds/a.xml"
cp "$tests/fixtures/feeds/atom10.xml" "$work/feeds/b.xml"
cp "$tests/fixtures/feeds/broken-mismatch.xml" "$work/feeds/c.xml"
httpd_start "$work/feeds" || exit $?
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
echo "test_valgrind_once: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
