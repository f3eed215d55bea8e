#!/usr/bin/env bash
# A contract in front of a replicate sink (SQLite trigger CDC -> SQLite replica):
#   1. without on_violation in the contract, a failing change stops the run (exit 1), says why, and
#      nothing of its transaction group is applied;
#   2. with on_violation: quarantine, the change is kept aside, the run warns, `state show` marks
#      the stream DIVERGED; after the contract is fixed, `quarantine replay` loads it and the mark
#      goes, and the replica equals the source.
#
# usage: bash replicate_contract_test.sh PATH_TO_SLUICE
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" "$@" || exit 2

pipeline() {  # pipeline DIR [on_violation line]: its own source database DIR/app.db
  mkdir -p "$1"
  sql "$1/app.db" "CREATE TABLE orders (id INTEGER PRIMARY KEY, amount INTEGER, status TEXT);
    INSERT INTO orders VALUES (1, 10, 'new'), (2, 20, 'paid'), (3, 30, 'new');" >/dev/null
  cat >"$1/pipeline.yaml" <<EOF
name: $1
source: { type: sqlite, path: app.db, mode: trigger, tables: [orders] }
sink: { type: sqlite, path: replica.db, mode: replicate }
contract:
  contract: orders
  columns:
    amount: { type: int64, min: 0 }
  ${2:-}
EOF
}
replica() { sql "$1/replica.db" "SELECT id, amount, status FROM orders ORDER BY id" | tr '\n' ' '; }
source_rows() { sql "$1/app.db" "SELECT id, amount, status FROM orders ORDER BY id" | tr '\n' ' '; }

section "replicate sink, contract without on_violation: a failing change stops the run"
pipeline strict
run_json strict/pipeline.yaml
check_eq "the snapshot loads" "0 ok 3" "$RC $J_status $J_rows_out"
sql strict/app.db "UPDATE orders SET amount = -5 WHERE id = 2; UPDATE orders SET status = 'paid' WHERE id = 3" >/dev/null
run_json strict/pipeline.yaml
check_eq "the run fails" "1" "$RC"
check_contains "it names the row and the rule" "$ERR" "min"
check_contains "it says why a replicate sink stops" "$ERR" "a skipped change breaks the replica"
check_eq "nothing of the failing group is applied" "1|10|new 2|20|paid 3|30|new " "$(replica strict)"

section "replicate sink, on_violation: quarantine: the stream is marked diverged until replayed"
pipeline lenient "on_violation: quarantine"
run_json lenient/pipeline.yaml
sql lenient/app.db "UPDATE orders SET amount = -5 WHERE id = 2; UPDATE orders SET status = 'paid' WHERE id = 3" >/dev/null
run_json lenient/pipeline.yaml
check_eq "the run ends ok" "0 ok" "$RC $J_status"
check_eq "the failing row is quarantined" "1" "$J_rows_quarantined"
check_contains "the run warns that the replica diverged" "$ERR" "the replica differs from the source"
"$SLUICE" state show lenient/pipeline.yaml >show.txt 2>&1
check_contains "state show marks the stream DIVERGED" "$(cat show.txt)" "DIVERGED [orders]: 1 changes"
"$SLUICE" state show lenient/pipeline.yaml --json >show.json 2>/dev/null
check_eq "state show --json lists it" "orders 1" \
  "$(jq -r '.diverged[0] | "\(.stream) \(.quarantined_changes)"' show.json 2>/dev/null || echo "no json: $(cat show.json)")"

# The rule is relaxed: the replay loads the change, and the mark goes.
sed -i 's/min: 0/min: -100/' lenient/pipeline.yaml
"$SLUICE" quarantine replay lenient/pipeline.yaml --json >replay.json 2>replay.err
check_eq "quarantine replay exits 0" "0" "$?"
"$SLUICE" state show lenient/pipeline.yaml --json >show2.json 2>/dev/null
check_eq "after the replay no stream is diverged" "0" "$(jq '.diverged | length' show2.json 2>/dev/null)"
check_eq "the replica equals the source" "$(source_rows lenient)" "$(replica lenient)"

finish
