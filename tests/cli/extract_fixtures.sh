#!/usr/bin/env bash
# Runs `feedd extract` on every page in tests/fixtures/articles/ and its
# variants/ directory and compares what it prints, byte for byte:
#
#   NAME.html           the page
#   NAME.expected.json  the exact stdout of a successful extraction, or
#   NAME.expected.err   the exact stderr of a refusal (exit status 1, no
#                       stdout)
#   NAME.args           optional: extra arguments, one per line (e.g.
#                       -c sources.conf --source NAME); feedd runs in the
#                       page's directory, so paths are relative to it
#
# A page with neither expected file is an error, so a fixture cannot be
# added and forgotten.  Then a few checks of options: --charset wins over
# the page's <meta http-equiv>, --generic is refused with -c and reads a
# page no rules describe.
#
# usage: extract_fixtures.sh FEEDD TESTS_DIR
set -u
feedd=$1
dir=$2/fixtures/articles
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

pass=0 fail=0
ok() { echo "ok - $1"; pass=$((pass + 1)); }
not_ok() { echo "not ok - $1"; printf '%s\n' "$2" | sed 's/^/#   /'; fail=$((fail + 1)); }

# check_page DIR NAME: runs feedd on DIR/NAME.html and compares.
check_page() {
  local d=$1 name=$2 label=${1#"$dir"}
  label=${label#/}
  label=${label:+$label/}$name.html
  local -a args=()
  if [ -f "$d/$name.args" ]; then
    mapfile -t args <"$d/$name.args"
  fi
  (cd "$d" && "$feedd" extract "${args[@]}" "$name.html") >"$tmp/out" 2>"$tmp/err"
  local status=$?
  if [ -f "$d/$name.expected.json" ]; then
    if [ "$status" != 0 ]; then
      not_ok "$label" "exit status $status: $(cat "$tmp/err")"
    elif cmp -s "$tmp/out" "$d/$name.expected.json"; then
      ok "$label"
    else
      not_ok "$label" "output differs from $name.expected.json:
$(diff <(tr ',' '\n' <"$d/$name.expected.json") <(tr ',' '\n' <"$tmp/out") | head -20)"
    fi
  elif [ -f "$d/$name.expected.err" ]; then
    if [ "$status" = 1 ] && [ ! -s "$tmp/out" ] && cmp -s "$tmp/err" "$d/$name.expected.err"; then
      ok "$label refused"
    else
      not_ok "$label refused" "exit status $status, stderr: $(cat "$tmp/err")"
    fi
  else
    not_ok "$label" "neither $name.expected.json nor $name.expected.err"
  fi
}

n=0
for d in "$dir" "$dir/variants"; do
  for page in "$d"/*.html; do
    [ -e "$page" ] || continue
    name=$(basename "$page" .html)
    check_page "$d" "$name"
    n=$((n + 1))
  done
done
[ "$n" -ge 10 ] || not_ok "fixtures found" "only $n pages under $dir"

# The HTTP charset wins over the page's <meta http-equiv=Content-Type>:
# read as UTF-8, the windows-1256 page's letters become U+FFFD.
"$feedd" extract --charset utf-8 "$dir/variants/irna-fa-windows-1256.html" >"$tmp/out" 2>"$tmp/err"
status=$?
if [ "$status" = 0 ] && grep -qF $'\xef\xbf\xbd' "$tmp/out"; then
  ok "--charset wins over <meta http-equiv>"
else
  not_ok "--charset wins over <meta http-equiv>" "exit status $status: $(cat "$tmp/out" "$tmp/err")"
fi

"$feedd" extract --generic -c "$dir/variants/sources.conf" --source rhein \
  "$dir/irna-article.html" >"$tmp/out" 2>"$tmp/err"
status=$?
if [ "$status" = 2 ] && grep -qF "exclude each other" "$tmp/err"; then
  ok "--generic with -c refused"
else
  not_ok "--generic with -c refused" "exit status $status: $(cat "$tmp/err")"
fi

# --generic: no rules at all; the body from the generic heuristic.
"$feedd" extract --generic "$dir/variants/opengraph-only.html" >"$tmp/out" 2>"$tmp/err"
status=$?
if [ "$status" = 0 ] && grep -qF '"body":"Ferries to the outer islands' "$tmp/out" &&
   grep -qF '"news_id":null' "$tmp/out"; then
  ok "--generic"
else
  not_ok "--generic" "exit status $status: $(cat "$tmp/out" "$tmp/err")"
fi

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
