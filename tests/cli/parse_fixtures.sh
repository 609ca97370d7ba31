#!/usr/bin/env bash
# Runs `feedd parse` on every document in tests/fixtures/feeds/ and compares
# its standard output byte for byte with the NAME.jsonl beside it, and its
# exit status with NAME.status (default 0).  NAME.args holds extra arguments
# (@FIXTURES@ stands for the fixtures directory); NAME.stderr, if present,
# lists lines that must each appear in the standard error.
#
# usage: parse_fixtures.sh FEEDD TESTS_DIR
set -u
feedd=$1
dir=$2/fixtures/feeds
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

pass=0 fail=0
for doc in "$dir"/*.xml "$dir"/*.rdf "$dir"/*.atom; do
  [ -e "$doc" ] || continue
  name=${doc%.*}
  base=$(basename "$name")
  args=()
  if [ -f "$name.args" ]; then
    read -r -a args < "$name.args"
    args=("${args[@]//@FIXTURES@/$dir}")
  fi
  want_status=0
  [ -f "$name.status" ] && want_status=$(cat "$name.status")
  (cd "$dir" && "$feedd" parse "${args[@]}" "$(basename "$doc")") >"$tmp/out" 2>"$tmp/err"
  status=$?
  why=""
  if [ "$status" != "$want_status" ]; then
    why="exit status $status, expected $want_status"
  elif [ ! -f "$name.jsonl" ]; then
    why="no expected output $base.jsonl"
  elif ! cmp -s "$tmp/out" "$name.jsonl"; then
    why="output differs from $base.jsonl:
$(diff "$name.jsonl" "$tmp/out" | head -20)"
  elif [ -f "$name.stderr" ]; then
    while IFS= read -r line; do
      if ! grep -qF -- "$line" "$tmp/err"; then
        why="stderr lacks: $line
stderr was: $(head -5 "$tmp/err")"
        break
      fi
    done < "$name.stderr"
  fi
  if [ -z "$why" ]; then
    echo "ok - $base"
    pass=$((pass + 1))
  else
    echo "not ok - $base: $why"
    fail=$((fail + 1))
  fi
done
echo "parse_fixtures: $pass passed, $fail failed"
[ "$pass" -gt 0 ] && [ "$fail" -eq 0 ]
