#!/usr/bin/env bash
# sluice report: three runs of a pipeline with a contract over different inputs (bad rows, a new
# column, a value that is HTML), then the report rendered by headless Chromium: what the page
# shows (runs, failing rules with counts and sample rows, schema versions), that data is shown
# as text and never runs, and that it paints a page. Skips (exit 0) when chromium is absent.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" "$@" || exit 2

CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$CHROMIUM" ]; then
  echo "SKIP: chromium is not installed (apt-get install chromium)"
  exit 0
fi
# Renders a page: dump_dom FILE prints the DOM after load; screenshot FILE PNG paints it.
chrome() {
  timeout -s KILL 90 "$CHROMIUM" --headless=new --no-sandbox --disable-gpu --hide-scrollbars \
    --user-data-dir="$T/chrome" --no-first-run "$@" 2>/dev/null
}
dump_dom() { chrome --dump-dom "file://$1"; }
screenshot() { chrome --window-size=1280,2400 --screenshot="$2" "file://$1" >/dev/null; }

PWN="<script>document.title='pwned'</script>"
cat >contract.yaml <<'YAML'
contract: orders
version: 3
columns:
  id: { type: int64, required: true, unique: true }
  email: { type: string, pattern: '^[^@\s]+@[^@\s]+$' }
  amount: { type: "decimal(12,2)", min: 0 }
  status: { type: string, enum: [new, paid, shipped] }
  created_at: { type: timestamp_tz }
freshness: { column: created_at, max_age: 876000h }
YAML
cat >p.yaml <<'YAML'
name: orders
source: { type: file, path: "in/*.csv", stream: orders }
sink: { type: sqlite, path: w.db, table: orders }
contract: contract.yaml
YAML
mkdir in

section "three runs over different inputs"
# Run 1: a bad email (pattern), a negative amount (min), a loaded row without email.
cat >in/a.csv <<'CSV'
id,email,amount,status,created_at
1,a@x.io,10.00,paid,2026-01-01T00:00:00Z
2,bad,5.00,paid,2026-01-02T00:00:00Z
3,c@x.io,-1,new,2026-01-03T00:00:00Z
4,,7.50,new,2026-01-04T00:00:00Z
5,e@x.io,1.00,shipped,2026-01-05T00:00:00Z
CSV
run_json p.yaml
check_eq "run 1: 5 in, 3 loaded, 2 quarantined" "5 3 2" "$J_rows_in $J_rows_out $J_rows_quarantined"
# Run 2: a new column (schema v2), a repeated id (unique), two violations in one row, a bad status.
cat >in/b.csv <<'CSV'
id,email,amount,status,created_at,note
6,f@x.io,3.00,paid,2026-02-01T00:00:00Z,hi
6,g@x.io,3.00,paid,2026-02-02T00:00:00Z,dup
7,nope,-2,new,2026-02-03T00:00:00Z,
8,h@x.io,2.00,weird,2026-02-04T00:00:00Z,
CSV
run_json p.yaml
check_eq "run 2: 4 in, 1 loaded, 3 quarantined" "4 1 3" "$J_rows_in $J_rows_out $J_rows_quarantined"
# Run 3: HTML in a rejected value and in a loaded one.
{
  echo 'id,email,amount,status,created_at,note'
  echo "9,i@x.io,4.00,\"$PWN\",2026-03-01T00:00:00Z,x"
  echo "10,j@x.io,4.00,new,2026-03-02T00:00:00Z,\"$PWN\""
  echo '11,k@x.io,5.00,paid,2026-03-03T00:00:00Z,y'
} >in/c.csv
run_json p.yaml
check_eq "run 3: 3 in, 2 loaded, 1 quarantined" "3 2 1" "$J_rows_in $J_rows_out $J_rows_quarantined"
check_contains "run --json keeps its keys" "$OUT" '"pipeline":"orders","status":"ok","rows_in":3,"rows_out":2,"rows_quarantined":1,"rows_skipped":0,"bytes_in":'

section "sluice report writes one self-contained page"
run_sluice report p.yaml
check_eq "report exits 0" 0 "$RC"
check_eq "it prints the default path" "orders-report.html" "$OUT"
check "the page exists" test -s orders-report.html
HTML=$(cat orders-report.html)
check_eq "no external resource (src=, href=, url()" "0" "$(grep -cE 'src=|href=|url\(' orders-report.html)"
check_eq "no script element in the file" "0" "$(grep -ci '<script' orders-report.html)"

section "what Chromium shows"
DOM=$(dump_dom "$T/orders-report.html")
check "chromium rendered the DOM" test -n "$DOM"
check_contains "the title is the pipeline's, not the injected one" "$DOM" "<title>sluice report: orders</title>"
check_not_contains "the injected script never ran" "$DOM" "pwned</title>"
check_eq "no script element in the DOM" "0" "$(grep -ci '<script' <<<"$DOM")"
check_contains "the injected value is shown as text" "$DOM" "&lt;script&gt;document.title='pwned'&lt;/script&gt;"
check_contains "header: pipeline name" "$DOM" '<h1 id="pipeline">orders</h1>'
check_contains "header: sink" "$DOM" "sqlite"
check_contains "header: contract and version" "$DOM" 'orders <span class="muted">v3</span>'
check_contains "header: last run status" "$DOM" 'id="summary" data-status="ok"'
check_eq "the run history lists three runs, newest first" "3 2 1" \
  "$(grep -o 'class="run" data-run-id="[0-9]*"' <<<"$DOM" | grep -o '[0-9]*' | tr '\n' ' ' | sed 's/ $//')"
for chart in chart-rows chart-rejection chart-freshness chart-completeness; do
  check_contains "trend chart $chart" "$DOM" "<svg id=\"$chart\""
done
check_eq "the rows chart has a bar per run and kind (3 loaded + 3 quarantined)" "6" \
  "$(grep -o '<rect class="bar"' <<<"$DOM" | wc -l | tr -d ' ')"
check_contains "rejection rate of run 2 (3 of 4)" "$DOM" "#2 rejection rate: 75%"
check_contains "rule pattern with its count" "$DOM" 'data-rule="pattern" data-count="2"'
check_contains "rule min with its count" "$DOM" 'data-rule="min" data-count="2"'
check_contains "rule enum with its count" "$DOM" 'data-rule="enum" data-count="2"'
check_contains "rule unique with its count" "$DOM" 'data-rule="unique" data-count="1"'
check_eq "sample rows: 2 + 2 + 2 + 1" "7" "$(grep -o '<tr class="sample">' <<<"$DOM" | wc -l | tr -d ' ')"
check_contains "a sample row names its origin" "$DOM" "a.csv:3</td>"
check_contains "a sample row gives the reason" "$DOM" "'weird' is not one of new, paid, shipped"
check_contains "schema version 2 of the stream" "$DOM" 'data-stream="orders" data-version="2"'
check_contains "what changed in version 2" "$DOM" '<li class="added"><code>note string</code></li>'
check_contains "completeness of email in the last run" "$DOM" 'data-column="email"'

section "it paints a page"
screenshot "$T/orders-report.html" "$T/report.png"
SIZE=$(stat -c %s "$T/report.png" 2>/dev/null || echo 0)
if [ "$SIZE" -gt 30000 ]; then ok "screenshot is $SIZE bytes"; else nok "screenshot is only $SIZE bytes"; fi

section "options"
mkdir out
run_sluice report p.yaml -o out/r.html --runs 2
check_eq "-o: exits 0 and prints the path" "0 out/r.html" "$RC $OUT"
check_eq "--runs 2 shows the last two runs" "3 2" \
  "$(grep -o 'class="run" data-run-id="[0-9]*"' out/r.html | grep -o '[0-9]*' | tr '\n' ' ' | sed 's/ $//')"
printf 'name: fresh\nsource: { type: file, path: "none/*.csv" }\nsink: { type: sqlite, path: f.db, table: t }\n' >fresh.yaml
run_sluice report fresh.yaml
check_eq "a pipeline that never ran still gets a page" "0 fresh-report.html" "$RC $OUT"
check_contains "which says so" "$(cat fresh-report.html 2>/dev/null)" "No runs recorded yet"
run_sluice report missing.yaml
check_eq "a missing pipeline file is a usage error" 2 "$RC"

finish
