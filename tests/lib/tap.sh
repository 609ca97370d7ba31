# shellcheck shell=bash
# tests/lib/tap.sh: the TAP helpers of the integration tests, sourced by
# bash.  Each check prints "ok - NAME" or "not ok - NAME" with the reason
# on a "#" line, and counts in pass and fail; a test ends with
#   echo "# $pass passed, $fail failed"; [ "$fail" -eq 0 ]
#
#   ok NAME / not_ok NAME [REASON]
#   is NAME WANT GOT            ok when the two strings are equal
#   logged NAME PATTERN FILE    ok when a line of FILE matches PATTERN (grep)
#   sql TEXT                    runs TEXT on $FEEDD_TEST_CONNINFO, unaligned,
#                               tuples only, stopping at the first error

pass=0 fail=0
ok() { echo "ok - $1"; pass=$((pass + 1)); }
not_ok() { echo "not ok - $1"; [ -n "${2:-}" ] && echo "#   $2"; fail=$((fail + 1)); }
is() { if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1" "expected '$2', got '$3'"; fi; }
logged() {
  if grep -q -- "$2" "$3"; then ok "$1"; else not_ok "$1" "no line matching '$2' in: $(head -c 1500 "$3")"; fi
}
sql() { psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$FEEDD_TEST_CONNINFO" -c "$1"; }
