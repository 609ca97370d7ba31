#!/usr/bin/env bash
# Runs `feedd extract` with the built-in nastooh rules on both IRNA article
# pages in tests/fixtures/articles/ and compares the JSON it prints, parsed
# with python3, to irna-article.expected.json; then checks that a bot
# challenge page is refused with exit status 1 and "not an article".
#
# usage: extract_fixtures.sh FEEDD TESTS_DIR
set -u
feedd=$1
dir=$2/fixtures/articles
url=https://en.irna.ir/news/85859288/Ministers-agree-to-expand-rail-freight-link
command -v python3 >/dev/null || { echo "skip: no python3"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

pass=0 fail=0
ok() { echo "ok - $1"; pass=$((pass + 1)); }
not_ok() { echo "not ok - $1"; printf '%s\n' "$2" | sed 's/^/#   /'; fail=$((fail + 1)); }

for page in irna-article.html irna-article-nometa.html; do
  "$feedd" extract --url "$url" "$dir/$page" >"$tmp/out" 2>"$tmp/err"
  status=$?
  if [ "$status" != 0 ]; then
    not_ok "$page" "exit status $status: $(cat "$tmp/err")"
    continue
  fi
  # Keys in the documented order, and the same values as expected.
  if why=$(python3 - "$tmp/out" "$dir/irna-article.expected.json" 2>&1 <<'EOF'
import json, sys
got = json.load(open(sys.argv[1]))
want = json.load(open(sys.argv[2]))
order = ["url", "news_id", "title", "lead", "body", "author", "published", "tags", "image", "language"]
if list(got) != order:
    sys.exit("keys %s, expected %s" % (list(got), order))
for k in order:
    if got.get(k) != want.get(k):
        sys.exit("%s: expected %r, got %r" % (k, want.get(k), got.get(k)))
EOF
  ); then
    ok "$page"
  else
    not_ok "$page" "$why"
  fi
done

"$feedd" extract --url "$url" "$dir/bot-challenge.html" >"$tmp/out" 2>"$tmp/err"
status=$?
if [ "$status" = 1 ] && [ ! -s "$tmp/out" ] &&
   grep -qF "bot-challenge.html: not an article: " "$tmp/err"; then
  ok "bot-challenge.html refused"
else
  not_ok "bot-challenge.html refused" "exit status $status, stderr: $(cat "$tmp/err")"
fi

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
