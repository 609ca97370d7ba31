# shellcheck shell=bash
# tests/lib/bounded.sh: running feedd on hostile input within bounds, for
# tests/cli/hostile*.sh (sourced by bash).  Each run has a time limit, an
# address-space cap (none under AddressSanitizer, which reserves terabytes)
# and its peak RSS measured by GNU time; the checks print TAP-like lines.
#
# The sourcing script sets, before calling anything here:
#   suite         its name, for the last line "SUITE: N passed, M failed"
#   feedd         the binary (absolute)
#   time_limit    seconds per run, before bounded_setup scales it
#   mem_cap       address-space cap in bytes
#   rss_limit_kb  peak RSS limit (rss_limit_name says it in words);
#                 asan_rss_limit_kb/asan_rss_limit_name replace them under
#                 AddressSanitizer when set
#   tmp           a scratch directory; $tmp/check.py is the output checker
#                 that expect runs (NAME OUT ERR STATUS [LABEL EXPR]...)
#                 and $tmp/leaks the strings no output may hold

# shellcheck source=time_factor.sh
source "$(dirname "${BASH_SOURCE[0]}")/time_factor.sh"

pass=0 fail=0
ok() {
  echo "ok - $1"
  pass=$((pass + 1))
}
not_ok() {
  echo "not ok - $1: $2"
  fail=$((fail + 1))
}
finish() {
  echo "$suite: $pass passed, $fail failed"
  [ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
  exit
}

# bounded_setup: checks the tools and the binary (finishing on failure) and
# sets prlimit (the cap, or nothing under AddressSanitizer).
bounded_setup() {
  local tool
  for tool in python3 timeout prlimit; do
    if ! command -v "$tool" >/dev/null; then
      not_ok "setup" "$tool not found"
      finish
    fi
  done
  if [ ! -x /usr/bin/time ]; then
    not_ok "setup" "/usr/bin/time (GNU time) not found: apt-get install time"
    finish
  fi
  if [ ! -x "$feedd" ]; then
    not_ok "setup" "$feedd is not an executable"
    finish
  fi
  prlimit=(prlimit --as="$mem_cap" --)
  # time_limit catches hangs and blow-ups, not slowness: it is scaled by
  # FEEDD_TEST_TIME_FACTOR (default 1, and 5 under the sanitizers, which
  # make feedd several times slower; a loaded machine may want more).
  local factor
  factor=$(time_factor "$feedd")
  time_limit=$((time_limit * factor))
  echo "# time limit per run: $time_limit s (factor $factor)"
  if is_asan "$feedd"; then
    prlimit=()
    rss_limit_kb=${asan_rss_limit_kb:-$rss_limit_kb}
    rss_limit_name=${asan_rss_limit_name:-$rss_limit_name}
    echo "# $feedd uses AddressSanitizer: no address-space cap, RSS limit $rss_limit_name"
  fi
}

# start NAME DIR ARGS...: runs feedd ARGS from inside DIR in the background.
declare -A pids
start() {
  local name=$1 dir=$2
  shift 2
  (cd "$dir" && exec /usr/bin/time -o "$tmp/$name.time" -f '%e %M' \
    timeout -k 5 "$time_limit" "${prlimit[@]}" "$feedd" "$@") \
    >"$tmp/$name.out" 2>"$tmp/$name.err" &
  pids[$name]=$!
}

# finish_run NAME: waits for NAME, checks the limits, and returns 0 if feedd
# ended by itself so that the output can be checked.  Leaves status, secs
# and rss_kb set.
finish_run() {
  local name=$1
  wait "${pids[$name]}"
  status=$?
  secs=? rss_kb=0
  read -r secs rss_kb < <(tail -n 1 "$tmp/$name.time")
  case $rss_kb in '' | *[!0-9]*) rss_kb=0 ;; esac

  local ended=0 label="$name: ends within ${time_limit} s"
  if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
    not_ok "$label" "still running after ${time_limit} s, killed"
    ended=1
  else
    ok "$label ($secs s)"
    label="$name: exits by itself with status 0 or 1"
    if [ "$status" -gt 128 ]; then
      not_ok "$label" "killed by signal $((status - 128)); stderr: $(tail -c 300 "$tmp/$name.err")"
      ended=1
    elif [ "$status" -gt 1 ]; then
      not_ok "$label" "exit status $status; stderr: $(tail -c 300 "$tmp/$name.err")"
      ended=1
    else
      ok "$label (exit $status)"
    fi
  fi

  label="$name: peak RSS below $rss_limit_name"
  if [ "$rss_kb" -eq 0 ]; then
    not_ok "$label" "no measurement from /usr/bin/time"
  elif [ "$rss_kb" -ge "$rss_limit_kb" ]; then
    not_ok "$label" "peak RSS $((rss_kb / 1024)) MiB"
  else
    ok "$label ($((rss_kb / 1024)) MiB)"
  fi
  return $ended
}

# expect NAME [LABEL EXPR]...: check.py's checks of NAME's output, counted.
expect() {
  local name=$1 line results
  shift
  if ! results=$(python3 "$tmp/check.py" "$name" "$tmp/$name.out" "$tmp/$name.err" \
    "$status" "$@" 2>"$tmp/check.err"); then
    not_ok "$name: output checks" "check.py failed: $(tail -n 3 "$tmp/check.err")"
  fi
  while IFS= read -r line; do
    echo "$line"
    case $line in
      "ok - "*) pass=$((pass + 1)) ;;
      "not ok - "*) fail=$((fail + 1)) ;;
    esac
  done <<<"$results"
}

# no_leak NAME: neither stdout nor stderr holds anything read from a file.
no_leak() {
  local found
  found=$(grep -a -h -o -F -f "$tmp/leaks" "$tmp/$1.out" "$tmp/$1.err" | head -3 | tr '\n' ' ')
  if [ -n "$found" ]; then
    not_ok "$1: nothing read from the files it points at" "found $found"
  else
    ok "$1: nothing read from the files it points at"
  fi
}
