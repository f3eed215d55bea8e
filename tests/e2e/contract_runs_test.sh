#!/usr/bin/env bash
# Contract guarantees that span runs: `unique:` across runs and restarts, and the modes where it
# is refused.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" "$@" || exit 2

section "unique across runs"
mkdir -p in
printf 'id,name\n1,a\n2,b\n3,c\n' >in/day1.csv
cat >contract.yaml <<'YAML'
contract: people
columns:
  id: { type: int64, required: true, unique: true }
  name: { type: string }
YAML
printf 'source: { type: file, path: "in/*.csv" }\nsink: { type: sqlite, path: w.db, table: people }\ncontract: contract.yaml\n' >p.yaml
run_json p.yaml
check_eq "run 1 loads 3 rows" "ok 3 0" "$J_status $J_rows_out $J_rows_quarantined"
printf 'id,name\n3,c-again\n4,d\n4,d-twice\n5,e\n' >in/day2.csv
run_json p.yaml
check_eq "run 2: id 3 (loaded by run 1) and the second 4 are quarantined" "ok 2 2" "$J_status $J_rows_out $J_rows_quarantined"
check_identity "run 2"
check_eq "each id once in the table" "1 1 1 1 1" "$(sql w.db 'select count(*) from people group by id order by id' | tr '\n' ' ' | sed 's/ $//')"
run_sluice quarantine show p.yaml --json
check_contains "the quarantine says id 3 was loaded by an earlier run" "$OUT" "already loaded by an earlier run"
check_contains "the within-run repeat is named too" "$OUT" "was seen before"

section "a restart after kill -9 between the index and the sink does not reject re-read rows"
# Simulate the crash window: the index holds a group the sink never committed.
pipeline=$(sqlite3 .sluice/unique-keys.db 'select distinct pipeline from unique_keys limit 1')
stream=$(sqlite3 .sluice/unique-keys.db "select distinct stream from unique_keys where pipeline = '$pipeline' limit 1")
sqlite3 .sluice/unique-keys.db "insert or replace into unique_keys values ('$pipeline', '$stream', 'id', '99', 1000)"
printf 'id,name\n99,z\n' >in/day3.csv
run_json p.yaml
check_eq "id 99, indexed by a group that never committed, loads" "ok 1 0" "$J_status $J_rows_out $J_rows_quarantined"

section "refused where repeated keys are legitimate"
printf 'source: { type: file, path: "in/*.csv" }\nsink: { type: sqlite, path: w2.db, table: people, mode: upsert, key: [id] }\ncontract: contract.yaml\n' >u.yaml
run_sluice check u.yaml
check_eq "check exits 2" 2 "$RC"
check_contains "it names the column and the mode" "$ERR" "contract column 'id' is unique:, but the sink's mode upsert"
printf 'source: { type: file, path: "in/*.csv" }\nsink: { type: sqlite, path: w3.db, table: people }\ncontract: contract.yaml\ntransforms: [ { type: mask, columns: [id], method: redact } ]\n' >m.yaml
run_sluice check m.yaml
check_contains "a redacted unique column is refused" "$ERR" "makes distinct values equal"

section "replace mode rebuilds the table: earlier runs do not count"
printf 'source: { type: file, path: "in/day1.csv" }\nsink: { type: sqlite, path: w4.db, table: people, mode: replace }\ncontract: contract.yaml\n' >r.yaml
run_json r.yaml
run_json r.yaml
check_eq "the second replace run loads the same 3 rows" "ok 3 0" "$J_status $J_rows_out $J_rows_quarantined"

section "detokenize reverses the tokenize mask for a holder of the secret"
export SLUICE_TEST_TOKEN_KEY=0123456789abcdef0123456789abcdef
printf 'id,email\n1,a@x.io\n2,b@y.io\n' >emails.csv
printf 'source: { type: file, path: emails.csv }\nsink: { type: csv, path: tok.csv }\ntransforms: [ { type: mask, columns: [email], method: tokenize, key: "${SLUICE_TEST_TOKEN_KEY}" } ]\n' >t.yaml
run_json t.yaml
check_not_contains "the sink holds no email" "$(cat tok.csv)" "@x.io"
tokens=$(cut -d, -f2 tok.csv | tail -n +2)
OUT=$(printf '%s\n' "$tokens" | "$SLUICE" detokenize t.yaml --column email 2>err.txt)
check_eq "stdin tokens come back as the values, in order" "a@x.io b@y.io" "$(echo $OUT)"
check_contains "an audit line names the column and the count" "$(cat err.txt)" "column=email  tokens=2"
check_not_contains "the audit line never shows the key" "$(cat err.txt)" "$SLUICE_TEST_TOKEN_KEY"
run_sluice detokenize --key-env SLUICE_TEST_TOKEN_KEY --token "$(echo "$tokens" | head -1)" --json
check_eq "--key-env and --json" '{"token":"'"$(echo "$tokens" | head -1)"'","value":"a@x.io"}' "$OUT"
SLUICE_TEST_TOKEN_KEY=another-secret-of-enough-length run_sluice detokenize t.yaml --column email --token "$(echo "$tokens" | head -1)"
check_eq "a wrong secret exits 1" 1 "$RC"
check_not_contains "and prints no value" "$OUT" "a@x.io"
run_sluice detokenize t.yaml --column id --token x
check_contains "a column that is not tokenized is named" "$ERR" "does not tokenize column 'id' (tokenized: email)"

finish
