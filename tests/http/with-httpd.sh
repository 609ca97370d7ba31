#!/usr/bin/env bash
# with-httpd.sh CMD ARGS...: runs CMD against the fixture HTTP server.
#
# Copies the feed fixtures (tests/fixtures/feeds/*.xml, *.rdf) into a
# temporary directory, adds charset sidecars for the Content-Type tests
# (windows-1256.xml: windows-1256; koi8r-charset-hint.xml: "KOI8-R", quoted),
# starts tests/lib/httpd.py on it, runs CMD with FEEDD_TEST_HTTP (and
# FEEDD_TEST_HTTP_LOG) in its environment, stops the server and exits with
# CMD's status; when CMD fails the end of the server's request log is shown
# too.  Exits 77 (skipped) when python3 is missing.
set -u
if [[ $# -eq 0 ]]; then
  echo "usage: with-httpd.sh CMD [ARGS...]" >&2
  exit 2
fi
here=$(dirname "${BASH_SOURCE[0]}")
# shellcheck source=tests/lib/httpd.sh
source "$here/../lib/httpd.sh"

# Nothing in these tests goes anywhere but 127.0.0.1.
unset http_proxy HTTP_PROXY https_proxy HTTPS_PROXY all_proxy ALL_PROXY

root=$(mktemp -d "${TMPDIR:-/tmp}/feedd-http-root.XXXXXX") || exit 1
trap 'rm -rf "$root"' EXIT
cp "$here"/../fixtures/feeds/*.xml "$here"/../fixtures/feeds/*.rdf "$root"/
printf 'windows-1256\n' >"$root/windows-1256.xml.charset"
printf '"KOI8-R"\n' >"$root/koi8r-charset-hint.xml.charset"

httpd_start "$root" || exit $?
rc=0
"$@" || rc=$?
if [[ $rc -ne 0 && $rc -ne 77 ]]; then
  echo "with-httpd.sh: last lines of the server log:" >&2
  tail -n 30 "$FEEDD_TEST_HTTP_LOG" >&2
fi
httpd_stop
exit "$rc"
