# shellcheck shell=bash
# tests/lib/httpd.sh: the fixture HTTP server (httpd.py) for one test,
# sourced by bash.
#
#   httpd_start ROOT   start httpd.py on 127.0.0.1, a free port (or
#                      $HTTPD_PORT when set), serving ROOT
#                      at /feeds/; wait until it listens; export
#                        FEEDD_TEST_HTTP      http://127.0.0.1:PORT
#                        FEEDD_TEST_HTTP_LOG  its request log
#                      (returns 77 when python3 is missing, 1 on failure)
#   httpd_stop         stop it and remove its log; safe to call twice
#
# httpd_start adds httpd_stop to the shell's EXIT trap, keeping whatever the
# trap did before (pg.sh's, for one).  A trap set after it replaces it, so
# start the PostgreSQL server first when a test needs both; the server also
# exits by itself once the shell that started it is gone, even when that
# shell was killed without running its traps.
#
# Clients must reach 127.0.0.1 directly: httpd_start adds it to no_proxy.

_httpd_pid=
_httpd_dir=
_httpd_rc=0

httpd_start() {
  local root=$1
  if [[ -n $_httpd_pid ]]; then
    echo "httpd.sh: httpd_start: a server is already running ($FEEDD_TEST_HTTP)" >&2
    return 1
  fi
  if ! command -v python3 >/dev/null; then
    echo "httpd.sh: python3 not found: install the Debian package 'python3'" >&2
    return 77
  fi
  _httpd_dir=$(mktemp -d "${TMPDIR:-/tmp}/feedd-httpd.XXXXXX") || return 1
  # Created here: the background job opens it only when it gets to run.
  : >"$_httpd_dir/stdout"
  # $BASHPID taken here: inside the background job it names the job.
  local me=$BASHPID
  python3 "$(dirname "${BASH_SOURCE[0]}")/httpd.py" --root "$root" --parent-pid "$me" \
    --port "${HTTPD_PORT:-0}" \
    </dev/null >"$_httpd_dir/stdout" 2>"$_httpd_dir/log" &
  _httpd_pid=$!
  _httpd_trap

  local line='' i
  for ((i = 0; i < 200; i++)); do
    read -r line <"$_httpd_dir/stdout" || true
    [[ $line == "PORT "* ]] && break
    if ! kill -0 "$_httpd_pid" 2>/dev/null; then
      break
    fi
    sleep 0.05
  done
  if [[ $line != "PORT "* ]]; then
    echo "httpd.sh: the fixture server did not start:" >&2
    cat "$_httpd_dir/log" >&2
    httpd_stop
    return 1
  fi
  export FEEDD_TEST_HTTP="http://127.0.0.1:${line#PORT }"
  export FEEDD_TEST_HTTP_LOG=$_httpd_dir/log
  # A proxy from the environment would carry test requests elsewhere.
  export no_proxy="127.0.0.1,localhost${no_proxy:+,$no_proxy}"
  export NO_PROXY=$no_proxy
}

httpd_stop() {
  if [[ -n $_httpd_pid ]]; then
    kill "$_httpd_pid" 2>/dev/null || true
    wait "$_httpd_pid" 2>/dev/null || true
    _httpd_pid=
  fi
  if [[ -n $_httpd_dir ]]; then
    rm -rf "$_httpd_dir"
    _httpd_dir=
  fi
  unset FEEDD_TEST_HTTP FEEDD_TEST_HTTP_LOG
}

# _httpd_trap: puts httpd_stop in front of the EXIT trap already set, if any,
# keeping the exit status for it.
_httpd_trap() {
  # trap -p prints "trap -- 'CMD' EXIT", quoted for eval.
  local -a words=()
  eval "words=($(trap -p EXIT))"
  local prev=${words[2]:-}
  # shellcheck disable=SC2064  # expand prev now
  trap "_httpd_rc=\$?; httpd_stop; (exit \$_httpd_rc); $prev" EXIT
}
