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

# hold_rows DIR QUERY: runs BEGIN and QUERY (which selects 'locked' FOR
# UPDATE or the like) in a psql session of its own, kept open on a FIFO in
# DIR until release_rows; waits until QUERY has answered (60 s at most, or
# until the session ends) and prints what it printed ("locked").  One at a
# time (file descriptor 7); not in a $(...) subshell, whose end would end
# the session: redirect its output to a file instead.
hold_rows() {
  local k
  _hold_dir=$1
  mkfifo "$_hold_dir/hold.in"
  psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$FEEDD_TEST_CONNINFO" \
    < "$_hold_dir/hold.in" > "$_hold_dir/hold.out" 2>&1 &
  _holder=$!
  exec 7> "$_hold_dir/hold.in"
  echo "BEGIN; $2;" >&7
  for ((k = 0; k < 600; k++)); do
    grep -q locked "$_hold_dir/hold.out" && break
    kill -0 "$_holder" 2> /dev/null || break
    sleep 0.1
  done
  cat "$_hold_dir/hold.out"
}
# release_rows: commits hold_rows's transaction and waits for its session.
release_rows() {
  echo "COMMIT;" >&7
  exec 7>&-
  wait "$_holder"
  rm -f "$_hold_dir/hold.in"
}
