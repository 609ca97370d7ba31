#!/usr/bin/env bash
# Runs `feedd parse` under valgrind memcheck on every parse fixture and on a
# few damaged documents: no invalid reads or writes, no uninitialised jumps,
# no definite leaks.  Skipped (exit 77) for sanitizer builds, which valgrind
# cannot run, and where valgrind is not installed.
#
# usage: valgrind_parse.sh FEEDD TESTS_DIR
set -u
feedd=$1
dir=$2/fixtures/feeds
if ! command -v valgrind >/dev/null; then
  echo "valgrind not installed: skipped"
  exit 77
fi
if nm "$feedd" 2>/dev/null | grep -q __asan_init; then
  echo "sanitizer build: skipped (valgrind cannot run ASan binaries)"
  exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
head -c 20000 "$dir/rss20-namespaces.xml" | head -c 1500 > "$tmp/cut.xml"
head -c 4096 /dev/urandom > "$tmp/random.bin"

pass=0 fail=0
for doc in "$dir"/*.xml "$dir"/*.rdf "$tmp/cut.xml" "$tmp/random.bin"; do
  name=$(basename "$doc")
  args=()
  base=${doc%.*}
  if [ -f "$base.args" ]; then
    read -r -a args < "$base.args"
    args=("${args[@]//@FIXTURES@/$dir}")
  fi
  valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
    --show-leak-kinds=definite "$feedd" parse "${args[@]}" "$doc" >/dev/null 2>"$tmp/vg"
  status=$?
  if [ "$status" = 99 ] || grep -q '^==[0-9]*==' "$tmp/vg"; then
    echo "not ok - $name"
    grep '^==[0-9]*==' "$tmp/vg" | head -20
    fail=$((fail + 1))
  else
    echo "ok - $name (exit $status)"
    pass=$((pass + 1))
  fi
done
echo "valgrind_parse: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
