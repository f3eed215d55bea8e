#!/usr/bin/env bash
# sluice quarantine replay: rows that now pass leave the quarantine exactly once and land in the
# sink; rows that still fail stay; replaying again changes nothing.
set -u
SLUICE=${1:?usage: replay_test.sh PATH_TO_SLUICE}
SLUICE=$(cd "$(dirname "$SLUICE")" && pwd)/$(basename "$SLUICE")
T=$(mktemp -d) || exit 2
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 2
pass=0 fail=0
check() {  # name expected actual
  if [ "$2" = "$3" ]; then pass=$((pass + 1)); echo "  ok    $1"; else fail=$((fail + 1)); echo "  FAIL  $1: expected [$2], got [$3]"; fi
}
printf 'id,email,amount,status\n1,a@x.io,10.00,paid\n2,bad,5.00,paid\n3,c@x.io,-1,paid\n4,d@x.io,7.50,weird\n5,e@x.io,1.00,new\n' >orders.csv
touch -d '1 hour ago' orders.csv
cat >contract.yaml <<'YAML'
contract: orders
version: 1
columns:
  id: { type: int64, required: true }
  email: { type: string, pattern: '^[^@\s]+@[^@\s]+$' }
  amount: { type: "decimal(12,2)", min: 0 }
  status: { type: string, enum: [new, paid] }
YAML
printf 'source: { type: file, path: orders.csv }\nsink: { type: sqlite, path: w.db, table: orders }\ncontract: contract.yaml\n' >p.yaml
"$SLUICE" run p.yaml --json >run.json 2>/dev/null
check "first run: 2 rows out, 3 quarantined" '"rows_out":2,"rows_quarantined":3' "$(grep -o '"rows_out":[0-9]*,"rows_quarantined":[0-9]*' run.json)"
# The contract now accepts 'weird': one row passes on replay.
sed -i 's/enum: \[new, paid\]/enum: [new, paid, weird]/; s/version: 1/version: 2/' contract.yaml
"$SLUICE" quarantine replay p.yaml --json >replay.json 2>/dev/null
check "replay exits 0" 0 $?
check "replay: 3 in, 1 out, 2 quarantined again" '"rows_in":3,"rows_out":1,"rows_quarantined":2' "$(grep -o '"rows_in":[0-9]*,"rows_out":[0-9]*,"rows_quarantined":[0-9]*' replay.json)"
check "the replayed row is in the table once" "1" "$(sqlite3 w.db 'select count(*) from orders where id = 4')"
check "the table has 3 rows" "3" "$(sqlite3 w.db 'select count(*) from orders')"
check "2 records stay in the quarantine" "2" "$("$SLUICE" quarantine show p.yaml --json 2>/dev/null | grep -c .)"
check "the replayed record left the quarantine" "" "$("$SLUICE" quarantine show p.yaml --json 2>/dev/null | grep 'weird')"
"$SLUICE" quarantine replay p.yaml --json >replay2.json 2>/dev/null
check "a second replay loads nothing new" '"rows_out":0' "$(grep -o '"rows_out":[0-9]*' replay2.json)"
check "still 3 rows" "3" "$(sqlite3 w.db 'select count(*) from orders')"
check "still 2 records" "2" "$("$SLUICE" quarantine show p.yaml --json 2>/dev/null | grep -c .)"
# Fix the data rule too: everything passes, the quarantine empties, no row twice.
sed -i 's/min: 0 }/min: -10 }/; s/, pattern: .*$/ }/; s/version: 2/version: 3/' contract.yaml
"$SLUICE" quarantine replay p.yaml --json >replay3.json 2>/dev/null
check "final replay: 2 rows out" '"rows_out":2' "$(grep -o '"rows_out":[0-9]*' replay3.json)"
check "the quarantine is empty" "0" "$("$SLUICE" quarantine show p.yaml --json 2>/dev/null | grep -c .)"
check "every id once" "5 5" "$(sqlite3 w.db 'select count(*), count(distinct id) from orders' | tr '|' ' ')"

# Replay into an upsert sink with version: a key loaded again, newer, after its row was
# quarantined keeps its newer version; a key with nothing newer takes the replayed row.
mkdir up && cd up || exit 2
printf 'id,status,updated_at\n1,weird,2026-01-01T10:00:00Z\n2,weird,2026-01-01T10:00:00Z\n' >a.csv
touch -d '1 hour ago' a.csv
printf 'contract: c\nversion: 1\ncolumns:\n  status: { type: string, enum: [new, paid] }\n' >c.yaml
printf 'source: { type: file, path: "*.csv" }\nsink: { type: sqlite, path: w.db, table: t, mode: upsert, key: [id], version: updated_at }\ncontract: c.yaml\n' >p.yaml
"$SLUICE" run p.yaml >/dev/null 2>&1
printf 'id,status,updated_at\n1,paid,2026-01-02T10:00:00Z\n' >b.csv
touch -d '1 hour ago' b.csv
"$SLUICE" run p.yaml >/dev/null 2>&1
check "upsert: the newer row of key 1 is loaded" "1|paid" "$(sqlite3 w.db 'select id, status from t')"
sed -i 's/enum: \[new, paid\]/enum: [new, paid, weird]/; s/version: 1/version: 2/' c.yaml
"$SLUICE" quarantine replay p.yaml --json >replay.json 2>/dev/null
check "upsert replay: both rows leave the quarantine" '"rows_out":2' "$(grep -o '"rows_out":[0-9]*' replay.json)"
check "upsert replay: key 1 keeps its newer version, key 2 takes the replayed row" "1|paid 2|weird" \
  "$(sqlite3 w.db 'select id, status from t order by id' | tr '\n' ' ' | sed 's/ $//')"
sed -i 's/, version: updated_at//' p.yaml
"$SLUICE" quarantine replay p.yaml >/dev/null 2>replay.err
check "replay into upsert without version: warns" "1" "$(grep -c 'upserts without version:' replay.err)"
cd .. || exit 2

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
