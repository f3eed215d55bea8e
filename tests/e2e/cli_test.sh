#!/usr/bin/env bash
# The commands a user types, run against the real binary: help and version, connectors, infer,
# check, config errors (exit 2, the YAML path named), secrets never printed, `run --json`,
# `--log-format json`, `--dry-run`, the run lock, reruns and appends, state show/reset,
# on_file_change, and a growing file's incomplete last line.
#
# usage: bash cli_test.sh PATH_TO_SLUICE
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" "$@" || exit 2

SUMMARY_KEYS="attempts bytes_in commits pipeline rows_in rows_out rows_quarantined rows_skipped seconds status"
# json_keys TEXT: the sorted top-level keys of a one-line JSON object, or "not-json"
json_keys() {
  python3 -c 'import json,sys
try:
    j = json.loads(sys.argv[1])
    assert isinstance(j, dict)
    print(" ".join(sorted(j)))
except Exception:
    print("not-json")' "$1"
}
# all_lines_json TEXT: "ok", or the first line that is not a JSON object
all_lines_json() {
  python3 -c 'import json,sys
for line in sys.argv[1].splitlines():
    try:
        assert isinstance(json.loads(line), dict)
    except Exception:
        print("not JSON: " + line); sys.exit()
print("ok")' "$1"
}
# Marks files as finished (older than settle_time).
settle() { touch -d '-1 hour' "$@"; }

section "--version, --help, usage errors"
run_sluice --version
check_eq "--version: exit 0" 0 "$RC"
check_contains "--version: prints the version" "$OUT" "sluice 0."
run_sluice --help
check_eq "--help: exit 0" 0 "$RC"
for sub in run check infer state connectors quarantine; do
  check_contains "--help lists '$sub'" "$OUT" "  $sub "
done
check_contains "--help lists --log-format" "$OUT" "--log-format"
run_sluice run --help
check_contains "run --help lists --dry-run and --json" "$OUT" "--dry-run"
run_sluice
check_eq "no command: exit 2" 2 "$RC"
run_sluice frobnicate
check_eq "unknown command: exit 2" 2 "$RC"
run_sluice run
check_eq "run without a pipeline: exit 2" 2 "$RC"
run_sluice --log-format xml connectors
check_eq "bad --log-format value: exit 2" 2 "$RC"
run_sluice run does-not-exist.yaml
check_eq "missing pipeline file: exit 2" 2 "$RC"
check_contains "missing pipeline file: named" "$ERR" "does-not-exist.yaml"

section "connectors"
run_sluice connectors
check_eq "connectors: exit 0" 0 "$RC"
for c in "source  file" "sink    sqlite" "sink    jsonl" "sink    csv" "sink    stdout" "sink    discard"; do
  check_contains "connectors lists '$c'" "$OUT" "$c"
done
run_sluice connectors describe file
check_eq "connectors describe file: exit 0" 0 "$RC"
for o in path format compression stream on_file_change settle_time infer_rows null_values delimiter quote header allow_ragged max_row_bytes; do
  check_eq "describe file: option '$o' with a doc" 1 "$(grep -cE "^  $o +[^ ].* [A-Za-z]{3,}" <<<"$OUT")"
done
check_contains "describe file: defaults are shown" "$OUT" "[default: error]"
check_contains "describe file: required options are marked" "$OUT" "(required)"
check_contains "describe file: the delivery guarantee" "$OUT" "delivery:"
run_sluice connectors describe sqlite
check_contains "describe sqlite: the modes" "$OUT" "append|upsert|replace"
run_sluice connectors describe nope
check_eq "connectors describe nope: exit 2" 2 "$RC"
check_contains "connectors describe nope: says so" "$ERR" "unknown connector 'nope'"
run_sluice connectors --json
check_eq "connectors --json: a JSON array with every connector" \
  "sink:csv sink:discard sink:jsonl sink:mysql sink:postgres sink:sqlite sink:stdout source:file source:mysql source:odbc source:postgres source:sqlite" \
  "$(python3 -c 'import json,sys; print(" ".join(sorted(c["kind"]+":"+c["type"] for c in json.loads(sys.argv[1]))))' "$OUT" 2>&1)"

section "infer"
printf 'id,zip,name,amount,paid,day,at\n1,01234,alice,1.5,true,2026-01-02,2026-01-02T03:04:05Z\n2,02345,"Hopper, Grace",2.25,false,2026-01-03,2026-01-02T03:04:06Z\n' >i.csv
want_csv=$'  id: int64\n  zip: string\n  name: string\n  amount: float64\n  paid: bool\n  day: date\n  at: timestamp_tz'
run_sluice infer i.csv
check_eq "infer csv: exit 0" 0 "$RC"
check_eq "infer csv: the types (leading zeros stay strings)" "$want_csv" "$(grep '^  ' <<<"$OUT")"
printf '{"id":1,"name":"a","tags":["x"],"meta":{"k":1},"amount":1.5,"paid":true,"at":"2026-01-02T03:04:05Z"}\n{"id":2,"name":"b","tags":[],"meta":{"k":{"n":2}},"amount":2,"paid":false,"at":"2026-01-02T03:04:05Z"}\n' >i.jsonl
run_sluice infer i.jsonl
check_eq "infer jsonl: exit 0" 0 "$RC"
check_eq "infer jsonl: the types (nested values are json)" $'  id: int64\n  name: string\n  tags: json\n  meta: json\n  amount: float64\n  paid: bool\n  at: timestamp_tz' "$(grep '^  ' <<<"$OUT")"
gzip -k i.csv
run_sluice infer i.csv.gz
check_eq "infer csv.gz: exit 0" 0 "$RC"
check_eq "infer csv.gz: the same types" "$want_csv" "$(grep '^  ' <<<"$OUT")"
check_contains "infer csv.gz: says gzip" "$OUT" "gzip"
zstd -q i.jsonl -o i.jsonl.zst
run_sluice infer i.jsonl.zst
check_contains "infer jsonl.zst: the types" "$OUT" "  meta: json"
run_sluice infer i.csv -o inferred.yaml
check_eq "infer -o: exit 0 and the file written" "0 $want_csv" "$RC $(grep '^  ' inferred.yaml)"
run_sluice infer missing.csv
check_eq "infer a missing file: exit 1" 1 "$RC"
check_contains "infer a missing file: named" "$ERR" "missing.csv"

section "check"
mkdir -p c/data
printf 'id,name\n1,a\n2,b\n' >c/data/a.csv
cat >c/pipeline.yaml <<'EOF'
name: checked
source: { type: file, path: data/*.csv }
sink: { type: sqlite, path: out.db, table: t }
EOF
run_sluice check c/pipeline.yaml
check_eq "check: exit 0" 0 "$RC"
check_contains "check: the plan names the file" "$OUT" "$T/c/data/a.csv: new"
check_contains "check: the sink" "$OUT" "sqlite out.db table t (append)"
check_contains "check: paths resolve against the pipeline file" "$OUT" "$T/c/.sluice/state.db"
run_sluice check c/pipeline.yaml --json
check_eq "check --json: one JSON object" "ok" "$(all_lines_json "$OUT")"
(cd / && "$SLUICE" check "$T/c/pipeline.yaml" >"$T/.o" 2>&1)
check_contains "check from another directory: the same plan" "$(cat "$T/.o")" "$T/c/data/a.csv: new"

section "config errors: exit 2, the YAML path named"
mkdir -p e
printf 'id,name\n1,a\n' >e/in.csv
cat >e/typo.yaml <<'EOF'
name: e
source:
  type: file
  path: in.csv
  delimter: ";"
sink: { type: sqlite, path: out.db, table: t }
EOF
run_sluice run e/typo.yaml
check_eq "unknown key: exit 2" 2 "$RC"
check_contains "unknown key: names source.delimter and its line" "$ERR" "source.delimter (line 5)"
check_contains "unknown key: suggests the right one" "$ERR" "did you mean 'delimiter'"
run_sluice check e/typo.yaml
check_eq "unknown key: check exits 2 too" 2 "$RC"
printf 'name: e\nsource: { type: file, path: in.csv }\nsink: { type: sqlite, path: out.db, table: t }\nfrobs: 1\n' >e/top.yaml
run_sluice run e/top.yaml
check_eq "unknown top-level key: exit 2, named" "2 1" "$RC $(grep -c "frobs" <<<"$ERR")"
unset SLUICE_E2E_UNSET_VAR
printf 'name: e\nsource: { type: file, path: in.csv }\nsink: { type: sqlite, path: "${SLUICE_E2E_UNSET_VAR}/out.db", table: t }\n' >e/env.yaml
run_sluice run e/env.yaml
check_eq "unset \${ENV}: exit 2" 2 "$RC"
check_contains "unset \${ENV}: names the YAML path" "$ERR" "sink.path"
check_contains "unset \${ENV}: names the variable" "$ERR" "SLUICE_E2E_UNSET_VAR"
mkdir -p e/ok   # (check opens the sink: a valid pipeline creates its database there)
SLUICE_E2E_UNSET_VAR=ok "$SLUICE" check e/env.yaml >/dev/null 2>&1
check_eq "a set \${ENV}: the same pipeline is fine" 0 "$?"
printf 'name: e\nsink: { type: sqlite, path: "${SLUICE_E2E_UNSET_VAR:-ok/out.db}", table: t }\nsource: { type: file, path: in.csv }\n' >e/envdef.yaml
run_sluice check e/envdef.yaml
check_eq "\${ENV:-default}: uses the default" "0 1" "$RC $(grep -c "sqlite ok/out.db" <<<"$OUT")"
printf 'name: e\nsource: { type: file, path: in.csv\nsink: [\n' >e/yaml.yaml
run_sluice run e/yaml.yaml
check_eq "invalid YAML: exit 2" 2 "$RC"
check_contains "invalid YAML: says where" "$ERR" "line"
printf 'name: e\nsource: { type: file, path: in.csv }\n' >e/nosink.yaml
run_sluice run e/nosink.yaml
check_eq "missing sink: exit 2" 2 "$RC"
check_contains "missing sink: says so" "$ERR" "sink"
printf 'name: e\nsource: { type: file, path: in.csv }\nsink: { type: sqlite, path: out.db, table: t, mode: upsert }\n' >e/nokey.yaml
run_sluice run e/nokey.yaml
check_eq "upsert without key: exit 2" 2 "$RC" bug
check_contains "upsert without key: names sink.key" "$ERR" "sink.key"
printf 'name: e\nsource: { type: file, path: in.csv }\nsink: { type: sqlite, path: out.db, table: t }\nschema: { id: integr }\n' >e/type.yaml
run_sluice run e/type.yaml
check_eq "unknown type in schema: exit 2, names schema.id" "2 1" "$RC $(grep -c "schema.id" <<<"$ERR")"
printf 'name: e\nsource: { type: file, path: in.csv }\nsink: { type: sqlite, path: out.db, table: t }\ntransforms: [ { type: filter } ]\n' >e/reserved.yaml
run_sluice run e/reserved.yaml
check_eq "unknown transform type: refused with exit 2" 2 "$RC"
check_eq "no output database was created by the config errors" "" "$(ls e/*.db 2>/dev/null)"
# A format option with a bad value is a config error too: it is known before any file is read.
printf 'name: e\nsource: { type: file, path: in.csv, delimiter: ";;" }\nsink: { type: sqlite, path: out.db, table: t }\n' >e/delim.yaml
run_sluice check e/delim.yaml
check_eq "bad delimiter value: check exits 2" 2 "$RC" bug
check_contains "bad delimiter value: check names source.delimiter" "$ERR" "source.delimiter" bug
run_sluice run e/delim.yaml
check_eq "bad delimiter value: run exits 2 (config error, not an unreadable file)" 2 "$RC" bug

section "secrets from \${ENV} never appear in any output"
SECRET="s3cr3t-$RANDOM-hunter2"
export SLUICE_E2E_SECRET=$SECRET
mkdir -p s/data
printf 'id,name\n1,a\n2,\n' >s/data/a.csv
settle s/data/a.csv
# A valid use: a null marker that comes from the environment.
cat >s/pipeline.yaml <<'EOF'
name: secrets
source: { type: file, path: data/*.csv, null_values: ["${SLUICE_E2E_SECRET}", ""] }
sink: { type: sqlite, path: out.db, table: t }
EOF
all=""
for args in "run s/pipeline.yaml --json" "--log-level debug run s/pipeline.yaml" "--log-format json --log-level debug run s/pipeline.yaml" \
            "check s/pipeline.yaml" "check s/pipeline.yaml --json" "state show s/pipeline.yaml" "state show s/pipeline.yaml --json" \
            "quarantine list s/pipeline.yaml" "quarantine show s/pipeline.yaml"; do
  # shellcheck disable=SC2086
  run_sluice $args
  all+="$OUT$ERR"
done
check_not_contains "valid use: the secret is in no output or log" "$all" "$SECRET"
check_eq "valid use: the secret is in no file sluice wrote" "" "$(grep -rl -- "$SECRET" s 2>/dev/null)"
# Errors about the pipeline that holds the secret.
cat >s/typo.yaml <<'EOF'
name: secrets
source: { type: file, path: data/*.csv, null_values: ["${SLUICE_E2E_SECRET}"], quotes: x }
sink: { type: sqlite, path: out.db, table: t }
EOF
run_sluice --log-level debug run s/typo.yaml
check_eq "error elsewhere: exit 2" 2 "$RC"
check_not_contains "error elsewhere: the secret is not printed" "$OUT$ERR" "$SECRET"
# The value from the environment is itself invalid: the message names the YAML path, not the value.
printf 'name: secrets\nsource: { type: file, path: data/*.csv }\nsink: { type: sqlite, path: out.db, table: t, mode: "${SLUICE_E2E_SECRET}" }\n' >s/badval.yaml
run_sluice run s/badval.yaml
check_eq "invalid value from \${ENV}: exit 2" 2 "$RC"
check_contains "invalid value from \${ENV}: names sink.mode" "$ERR" "sink.mode"
check_not_contains "invalid value from \${ENV}: the value is not printed" "$OUT$ERR" "$SECRET" bug
printf 'name: secrets\nsource: { type: file, path: data/*.csv, settle_time: "${SLUICE_E2E_SECRET}" }\nsink: { type: sqlite, path: out.db, table: t }\n' >s/badval2.yaml
run_sluice check s/badval2.yaml
check_not_contains "invalid duration from \${ENV}: the value is not printed" "$OUT$ERR" "$SECRET" bug
printf '%s\n' "$SECRET" >s/secret.txt
printf 'name: secrets\nsource: { type: file, path: data/*.csv }\nsink: { type: sqlite, path: out.db, table: t, mode: "${file:%s}" }\n' "$T/s/secret.txt" >s/badval3.yaml
run_sluice check s/badval3.yaml
check_not_contains "invalid value from \${file:...}: the value is not printed" "$OUT$ERR" "$SECRET" bug
unset SLUICE_E2E_SECRET

section "run --json and --log-format json"
mkdir -p r/data
gen_csv r/data/a.csv 1 1000
printf 'id,name,amount,ts\n1001,x,notanumber,2026-01-01T00:00:00Z\n' >r/data/b.csv
settle r/data/*.csv
cat >r/pipeline.yaml <<'EOF'
name: runs
source: { type: file, path: data/*.csv }
sink: { type: sqlite, path: out.db, table: t, mode: upsert, key: [id] }
schema: { amount: "decimal(12,2)" }
EOF
run_sluice run r/pipeline.yaml --json
check_eq "run --json: exit 0" 0 "$RC"
check_eq "run --json: stdout is exactly one line" 1 "$(printf '%s\n' "$OUT" | wc -l)"
check_eq "run --json: one JSON object with the documented keys" "$SUMMARY_KEYS" "$(json_keys "$OUT")"
parse_summary "$OUT"
check_eq "run --json: the counts" "ok 1001 1000 1 0" "$J_status $J_rows_in $J_rows_out $J_rows_quarantined $J_rows_skipped"
check_eq "run --json: pipeline name" runs "$(json_get "$OUT" 'j["pipeline"]')"
check_eq "the rows are in the table" 1000 "$(sql r/out.db "select count(*) from t")"
check_not_contains "run --json: logs stay on stderr" "$OUT" "info"
run_sluice run r/pipeline.yaml
check_contains "text summary: status line" "$OUT" "pipeline runs: ok"
check_contains "text summary: rows in" "$OUT" "rows in"

rm -rf r/out.db r/.sluice
run_sluice --log-format json --log-level debug run r/pipeline.yaml
check_eq "--log-format json: exit 0" 0 "$RC"
check_eq "--log-format json: every stderr line is a JSON object" ok "$(all_lines_json "$ERR")"
check_contains "--log-format json: has a level and a message" "$(printf '%s\n' "$ERR" | head -1)" '"level":"'
run_sluice --log-format json run r/missing.yaml
check_eq "--log-format json, config error: exit 2" 2 "$RC"
check_eq "--log-format json, config error: every stderr line is a JSON object" ok "$(all_lines_json "$ERR")" bug
head -c 2000 "$(command -v ls)" >r/data/c.csv
settle r/data/c.csv
run_sluice --log-format json run r/pipeline.yaml --json
check_eq "--log-format json, unreadable file: exit 1" 1 "$RC"
check_eq "--log-format json, unreadable file: every stderr line is a JSON object" ok "$(all_lines_json "$ERR")"
keys=$(json_keys "$OUT")
check_eq "run --json with failures: still one JSON object, the documented keys plus failures" \
  "$SUMMARY_KEYS + failures" "$(tr ' ' '\n' <<<"$keys" | grep -vx failures | paste -sd' ') + $(tr ' ' '\n' <<<"$keys" | grep -x failures)"
rm r/data/c.csv

section "--dry-run writes nothing"
mkdir -p d/data
gen_csv d/data/a.csv 1 500
printf 'id,name,amount,ts\n501,x,bad,2026-01-01T00:00:00Z\n' >d/data/b.csv
settle d/data/*.csv
cat >d/pipeline.yaml <<'EOF'
name: dry
source: { type: file, path: data/*.csv }
sink: { type: sqlite, path: out.db, table: t }
schema: { amount: "decimal(12,2)" }
quarantine: { path: q }
EOF
run_sluice run d/pipeline.yaml --dry-run
check_eq "--dry-run: exit 0" 0 "$RC"
check "--dry-run: counts what it would load" grep -qE "rows out +500 " <<<"$OUT"
check_contains "--dry-run: shows the rows it would quarantine" "$OUT" "would quarantine $T/d/data/b.csv:2"
check_eq "--dry-run: no output database" "" "$(ls d/out.db 2>/dev/null)"
check_eq "--dry-run: no quarantine written" "" "$(find d/q -type f 2>/dev/null)"
run_sluice run d/pipeline.yaml --dry-run --json
parse_summary "$OUT"
check_eq "--dry-run --json: counts" "ok 501 500 1" "$J_status $J_rows_in $J_rows_out $J_rows_quarantined"
run_sluice state show d/pipeline.yaml
check_contains "--dry-run: no checkpoint" "$OUT" "no checkpoint yet"
check_not_contains "--dry-run: no schema version stored" "$OUT" "schema ["
check_not_contains "--dry-run: no run recorded" "$OUT" "run: "
run_sluice run d/pipeline.yaml --json
parse_summary "$OUT"
check_eq "after --dry-run a real run loads everything" "ok 501 500 1" "$J_status $J_rows_in $J_rows_out $J_rows_quarantined"

section "one run at a time"
mkdir -p l
gen_csv l/big.csv 1 1500000
settle l/big.csv
cat >l/pipeline.yaml <<'EOF'
name: locked
source: { type: file, path: big.csv }
sink: { type: sqlite, path: out.db, table: t }
EOF
start_bg l/run.out l/run.err run l/pipeline.yaml --json
first=$BG
if wait_for 60 grep -q "created table" l/run.err && kill -0 "$first" 2>/dev/null; then
  run_sluice run l/pipeline.yaml --json
  second_rc=$RC second_err=$ERR second_out=$OUT
  still=$(kill -0 "$first" 2>/dev/null && echo yes)
  if [ "$still" = yes ]; then
    check_eq "a second run while one runs: exit 1" 1 "$second_rc"
    check_contains "a second run while one runs: says 'already running'" "$second_err$second_out" "already running"
    check_contains "a second run while one runs: names the pid holding the lock" "$second_err$second_out" "(pid $first)"
  else
    nok "the first run was still running when the second started (use a bigger file)"
  fi
else
  nok "the first run got going" "$(cat l/run.err)"
fi
wait_bg "$first"
parse_summary "$(cat l/run.out)"
check_eq "the first run was not disturbed" "0 ok 1500000" "$BG_RC $J_status $J_rows_out"
check_eq "the table holds each row once" "$(expect_sums 1 1500000)" "$(table_sums l/out.db t)"
run_sluice run l/pipeline.yaml --json
parse_summary "$OUT"
check_eq "after it ends, the next run takes the lock (and loads nothing)" "0 ok 0" "$RC $J_status $J_rows_in"
rm -rf l

section "reruns and appends"
mkdir -p a/data
gen_csv a/data/one.csv 1 1000
settle a/data/one.csv
cat >a/pipeline.yaml <<'EOF'
name: appends
source: { type: file, path: data/*.csv }
sink: { type: sqlite, path: out.db, table: t, mode: append }
EOF
run_json a/pipeline.yaml
check_eq "first run loads the file" "0 ok 1000" "$RC $J_status $J_rows_out"
run_json a/pipeline.yaml
check_eq "a rerun loads 0 rows" "0 ok 0 0" "$RC $J_status $J_rows_in $J_rows_out"
gen_csv a/more.csv 1001 1250 0
cat a/more.csv >>a/data/one.csv
settle a/data/one.csv
run_json a/pipeline.yaml
check_eq "rows appended to the file: only they are loaded" "0 ok 250 250" "$RC $J_status $J_rows_in $J_rows_out"
gen_csv a/data/two.csv 1251 1300
settle a/data/two.csv
run_json a/pipeline.yaml
check_eq "a new file: only it is loaded" "0 ok 50" "$RC $J_status $J_rows_out"
check_eq "the table holds every row once" "$(expect_sums 1 1300)" "$(table_sums a/out.db t)"
run_sluice state show a/pipeline.yaml
check_contains "state show: the file's checkpoint" "$OUT" "$T/a/data/one.csv: byte $(stat -c %s a/data/one.csv) of $(stat -c %s a/data/one.csv), next line 1252"
check_contains "state show: the totals" "$OUT" "rows_in=1300 rows_out=1300"
run_sluice state show a/pipeline.yaml --json
check_eq "state show --json: two file checkpoints" 2 "$(json_get "$OUT" 'len([p for p in j["positions"] if p["key"].startswith("file:")])')"

section "state reset, then a rerun reloads"
run_sluice state reset a/pipeline.yaml
check_eq "state reset: exit 0" 0 "$RC"
run_sluice state show a/pipeline.yaml
check_contains "state show after reset: no checkpoint" "$OUT" "no checkpoint yet"
run_json a/pipeline.yaml
check_eq "rerun after reset (append): reloads every row" "0 ok 1300" "$RC $J_status $J_rows_out"
check_eq "append after reset: each row twice, as expected" "2600|1300" "$(sql a/out.db "select count(*), count(distinct id) from t")"
# With upsert the reload leaves one row per key.
sed -i 's/mode: append/mode: upsert, key: [id]/' a/pipeline.yaml
rm -f a/out.db
run_json a/pipeline.yaml
check_eq "upsert: first load" "0 ok 1300" "$RC $J_status $J_rows_out"
run_sluice state reset a/pipeline.yaml --stream appends
check_eq "state reset --stream: exit 0" 0 "$RC"
run_json a/pipeline.yaml
check_eq "upsert: rerun after reset reloads every row" "0 ok 1300" "$RC $J_status $J_rows_out"
check_eq "upsert: the table holds every row once" "$(expect_sums 1 1300)" "$(table_sums a/out.db t)"
rm -rf a

section "on_file_change"
mkdir -p f
printf 'id,name\n1,a\n2,b\n3,c\n' >f/data.csv
settle f/data.csv
cat >f/pipeline.yaml <<'EOF'
name: changes
source: { type: file, path: data.csv }
sink: { type: sqlite, path: out.db, table: t, mode: upsert, key: [id] }
EOF
run_json f/pipeline.yaml
check_eq "first load" "0 ok 3" "$RC $J_status $J_rows_out"
printf 'id,name\n1,A\n2,b\n3,c\n4,d\n' >f/data.csv   # rewritten: the read prefix changed
settle f/data.csv
run_json f/pipeline.yaml
check_eq "on_file_change: error (default): exit 1, status failed" "1 failed" "$RC $J_status"
check_contains "on_file_change: error: the message names the file" "$J_error" "$T/f/data.csv changed"
check_contains "on_file_change: error: logged on stderr too" "$ERR" "$T/f/data.csv"
check_eq "on_file_change: error: the table is untouched" "1|a" "$(sql f/out.db "select id, name from t where id = 1")"
sed -i 's/path: data.csv/path: data.csv, on_file_change: ignore/' f/pipeline.yaml
run_json f/pipeline.yaml
check_eq "on_file_change: ignore: exit 0, nothing loaded" "0 ok 0" "$RC $J_status $J_rows_in"
sed -i 's/on_file_change: ignore/on_file_change: reload/' f/pipeline.yaml
run_json f/pipeline.yaml
check_eq "on_file_change: reload: exit 0, the whole file again" "0 ok 4" "$RC $J_status $J_rows_out"
check_eq "on_file_change: reload: the table has the new content" $'1|A\n2|b\n3|c\n4|d' "$(sql f/out.db "select id, name from t order by id")"
check_contains "on_file_change: reload: a warning names the file" "$ERR" "$T/f/data.csv"
run_json f/pipeline.yaml
check_eq "on_file_change: reload: then a rerun loads nothing" "0 ok 0" "$RC $J_status $J_rows_in"
rm -rf f

section "a growing file: the incomplete last line waits"
mkdir -p g
printf 'id,name\n1,a\n2,b\n3,c' >g/data.csv   # the writer is still on line 4
cat >g/pipeline.yaml <<'EOF'
name: growing
source: { type: file, path: data.csv, settle_time: 10m }
sink: { type: sqlite, path: out.db, table: t }
EOF
run_json g/pipeline.yaml
check_eq "fresh file: the complete lines load" "0 ok 2" "$RC $J_status $J_rows_out"
check_eq "fresh file: the last line without a newline is not loaded" "1 2" "$(sql g/out.db "select group_concat(id, ' ') from t")"
check_contains "fresh file: says it holds the line back" "$ERR" "holding back an incomplete last line"
printf 'cc\n4,d' >>g/data.csv   # line 4 completed, line 5 started
run_json g/pipeline.yaml
check_eq "completed line: loaded whole, the next partial line waits" "0 ok 1" "$RC $J_status $J_rows_out"
check_eq "completed line: its whole value" "3|ccc" "$(sql g/out.db "select id, name from t where id = 3")"
settle g/data.csv   # the writer is done: older than settle_time
run_json g/pipeline.yaml
check_eq "settled file: the last line without a newline is loaded" "0 ok 1" "$RC $J_status $J_rows_out"
check_eq "every row once" "1 2 3 4" "$(sql g/out.db "select group_concat(id, ' ') from (select id from t order by id)")"
run_json g/pipeline.yaml
check_eq "and then nothing more" "0 ok 0" "$RC $J_status $J_rows_in"
rm -rf g

finish
