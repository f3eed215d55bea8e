#!/usr/bin/env bash
# The headline guarantee: a kill -9 at any moment never duplicates a row and never drops one.
#
#   1. sqlite sink, append: start `sluice run`, kill -9 it after a random delay, again and again
#      until a run finishes by itself; the table then holds exactly the source rows (count,
#      distinct ids, sum of ids, sum of amounts). After every kill the table must be a prefix of
#      the file (count = max(id)): a commit group is wholly there or wholly absent.
#   2. jsonl sink: the same; every output line is valid JSON, ids are unique, none is missing.
#   3. gzip input: the same kill loop; resuming decompresses up to the checkpointed offset. And,
#      deterministically, a gzip and a zstd load stopped mid-file must load the rest next time.
#   4. SIGTERM: exit 0, status "stopped", the rows it reports are in the table; the rerun
#      completes with exact counts. Two signals: abort at once; the last checkpoint holds.
#
# The kill delay is random in [0.1 s, D] where D is 70% of an uninterrupted run of the same
# pipeline, capped at 2.0 s, so that most kills land mid-load however fast the build is. SIGTERM
# is sent as soon as the first commit is visible in the table. No check depends on a duration.
# Checks that fail because of a bug in src/ are marked [BUG]. SLUICE_SEED repeats a random run.
#
# usage: bash kill9_test.sh PATH_TO_SLUICE   (SLUICE_LONG=1: 10M rows, 3 + 100 trials, ~10 min)
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" "$@" || exit 2

if [ "$LONG" = 1 ]; then
  BIG_N=10000000 BIG_TRIALS=3 SMALL_N=300000 SMALL_TRIALS=100 JSONL_N=5000000 GZ_N=4000000 MAX_KILLS=200
else
  BIG_N=2000000 BIG_TRIALS=3 SMALL_N=0 SMALL_TRIALS=0 JSONL_N=1500000 GZ_N=1000000 MAX_KILLS=60
fi
KILL_MIN_MS=100
RUN_DEADLINE=600   # seconds for one uninterrupted run; only a hang gets near it

mkdir -p data
gen_csv data/big.csv 1 "$BIG_N"
echo "generated $BIG_N rows ($(du -h data/big.csv | cut -f1)) in $(_elapsed)"

# sqlite_pipeline DIR DATA [COMMIT_ROWS]: an append load of DATA (relative to DIR) into DIR/out.db
sqlite_pipeline() {
  cat >"$1/pipeline.yaml" <<EOF
name: kill9
source: { type: file, path: "$2" }
sink: { type: sqlite, path: out.db, table: t, mode: append }
schema: { amount: "decimal(12,2)" }
commit_interval: { rows: ${3:-100000} }
EOF
}

# calibrate DIR: runs DIR/pipeline.yaml once without interruption, checks it loaded everything,
# sets KILL_MAX_MS from its duration, and removes what it wrote.
calibrate() {
  local dir=$1 t0 ms
  t0=$(date +%s%N)
  timeout -s KILL "$RUN_DEADLINE" "$SLUICE" run "$dir/pipeline.yaml" --json >"$dir/run.out" 2>"$dir/run.err" </dev/null
  local rc=$?
  ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  parse_summary "$(cat "$dir/run.out")"
  check_eq "$(basename "$dir"): an uninterrupted run loads everything (${ms} ms)" "0 ok" "$rc $J_status"
  KILL_MAX_MS=$(( ms * 7 / 10 ))
  [ "$KILL_MAX_MS" -gt 2000 ] && KILL_MAX_MS=2000
  [ "$KILL_MAX_MS" -lt 300 ] && KILL_MAX_MS=300
  echo "  (kill delays: ${KILL_MIN_MS}-${KILL_MAX_MS} ms)"
  rm -rf "$dir/out.db" "$dir/out" "$dir/.sluice" "$dir/run.out" "$dir/run.err"
}

# kill_loop DIR: kill -9 runs of DIR/pipeline.yaml until one ends by itself (after MAX_KILLS
# kills the next run is left alone). Calls "$AFTER_KILL DIR", when set, after each kill. Sets
# KILLS, LAST_RC, LAST_OUT.
kill_loop() {
  local dir=$1
  KILLS=0
  while :; do
    if [ "$KILLS" -ge "$MAX_KILLS" ]; then
      timeout -s KILL "$RUN_DEADLINE" "$SLUICE" run "$dir/pipeline.yaml" --json >"$dir/run.out" 2>"$dir/run.err" </dev/null
      LAST_RC=$?
      break
    fi
    start_bg "$dir/run.out" "$dir/run.err" run "$dir/pipeline.yaml" --json
    rand_sleep "$KILL_MIN_MS" "$KILL_MAX_MS"
    kill -9 "$BG" 2>/dev/null
    wait_bg "$BG"
    if [ "$BG_RC" -ne 137 ]; then
      LAST_RC=$BG_RC   # it ended by itself before the signal
      break
    fi
    KILLS=$((KILLS + 1))
    if [ -n "${AFTER_KILL:-}" ]; then "$AFTER_KILL" "$dir"; fi
  done
  LAST_OUT=$(cat "$dir/run.out")
}

# After a kill, the table must be a prefix of the input: ids 1..count, no gap, no double.
PREFIX_BROKEN=""
sqlite_prefix_after_kill() {
  local db=$1/out.db r
  [ -f "$db" ] || return 0
  r=$(sql "$db" "select count(*), coalesce(max(id),0) from t")
  case "$r" in *"no such table"*) return 0 ;; esac
  if [ "${r%%|*}" != "${r##*|}" ] && [ -z "$PREFIX_BROKEN" ]; then
    PREFIX_BROKEN="after kill $KILLS: count=${r%%|*} max(id)=${r##*|}"
  fi
}

# has_rows DB: the table t has at least one committed row (safe while sluice writes: WAL mode)
has_rows() {
  local c
  [ -f "$1" ] || return 1
  c=$(sqlite3 -batch "$1" "select count(*) from t" 2>/dev/null)
  [ "${c:-0}" -gt 0 ] 2>/dev/null
}

sqlite_trial() {
  local label=$1 data=$2 n=$3 dir want got
  dir=$(mktemp -d "$T/trial.XXXX")
  sqlite_pipeline "$dir" "$data"
  PREFIX_BROKEN=""
  AFTER_KILL=sqlite_prefix_after_kill
  kill_loop "$dir"
  AFTER_KILL=
  want=$(expect_sums 1 "$n")
  got=$(table_sums "$dir/out.db" t)
  if [ "$LAST_RC" -eq 0 ] && [ "$got" = "$want" ] && [ -z "$PREFIX_BROKEN" ]; then
    ok "$label: $KILLS kills, then exit 0; count|distinct|sum(id)|sum(cents) = $got"
    rm -rf "$dir"
    return 0
  fi
  local detail="kills=$KILLS last rc=$LAST_RC"$'\n'"expected $want"$'\n'"got      $got"
  [ -n "$PREFIX_BROKEN" ] && detail+=$'\n'"the table was not a prefix of the input $PREFIX_BROKEN"
  detail+=$'\n'"last summary: $LAST_OUT"$'\n'"stderr: $(tail -5 "$dir/run.err")"
  detail+=$'\n'"doubled ids: $(sql "$dir/out.db" "select id, count(*) from t group by id having count(*) > 1 limit 5")"
  bug "$label" "$detail"
  mv "$dir" "$T/failed-$(basename "$dir")"
}

section "kill -9 during a sqlite append load of $BIG_N rows, $BIG_TRIALS trials"
mkdir -p calib
sqlite_pipeline calib ../data/big.csv
calibrate "$T/calib"
for i in $(seq 1 "$BIG_TRIALS"); do
  sqlite_trial "sqlite trial $i/$BIG_TRIALS" ../data/big.csv "$BIG_N"
done

if [ "$SMALL_TRIALS" -gt 0 ]; then
  section "kill -9, $SMALL_TRIALS trials on $SMALL_N rows"
  gen_csv data/small.csv 1 "$SMALL_N"
  sqlite_pipeline calib ../data/small.csv
  calibrate "$T/calib"
  failed_before=$FAILED
  QUIET_OK=1   # one line per failing trial only
  for i in $(seq 1 "$SMALL_TRIALS"); do
    sqlite_trial "small trial $i/$SMALL_TRIALS" ../data/small.csv "$SMALL_N"
  done
  QUIET_OK=0
  if [ "$FAILED" -eq "$failed_before" ]; then ok "$SMALL_TRIALS small trials: all exact"; fi
fi
rm -rf calib

section "kill -9 with the jsonl sink, $JSONL_N rows"
mkdir -p jsonl
gen_csv jsonl/in.csv 1 "$JSONL_N"
cat >jsonl/pipeline.yaml <<'EOF'
name: kill9_jsonl
source: { type: file, path: in.csv }
sink: { type: jsonl, path: out/rows.jsonl }
commit_interval: { rows: 50000 }
EOF
calibrate "$T/jsonl"
kill_loop "$T/jsonl"
check_eq "jsonl: a run ended by itself with exit 0 (after $KILLS kills)" 0 "$LAST_RC"
verdict=$(python3 - "$T/jsonl/out/rows.jsonl" "$JSONL_N" <<'PY'
import json, sys
path, n = sys.argv[1], int(sys.argv[2])
seen = bytearray(n + 1)
problems, rows, bad, doubled, outside = [], 0, 0, 0, 0
with open(path, "rb") as f:
    for i, line in enumerate(f, 1):
        if not line.endswith(b"\n"):
            problems.append("line %d has no newline (a torn last line): %r" % (i, line[:80]))
        try:
            row_id = json.loads(line)["id"]
        except Exception:
            bad += 1
            if bad <= 3:
                problems.append("line %d is not a JSON object with an id: %r" % (i, line[:80]))
            continue
        rows += 1
        if not (isinstance(row_id, int) and 1 <= row_id <= n):
            outside += 1
        elif seen[row_id]:
            doubled += 1
        else:
            seen[row_id] = 1
if bad:
    problems.append("%d invalid line(s)" % bad)
if rows != n:
    problems.append("%d rows, expected %d" % (rows, n))
if doubled:
    problems.append("%d doubled id(s)" % doubled)
if outside:
    problems.append("%d id(s) outside 1..%d" % (outside, n))
missing = n - sum(seen)
if missing:
    problems.append("%d id(s) missing" % missing)
print("; ".join(problems) if problems else "ok")
PY
)
if [ "$verdict" = ok ]; then
  ok "jsonl: every line is valid JSON, $JSONL_N unique ids, none missing"
else
  bug "jsonl: no torn or doubled line after kill -9" "$verdict"$'\n'"stderr of the last run: $(tail -3 "$T/jsonl/run.err")"
fi
rm -rf jsonl

section "kill -9 with gzip input, $GZ_N rows"
mkdir -p gz
gen_csv gz/in.csv 1 "$GZ_N"
gzip -1 gz/in.csv
sqlite_pipeline gz in.csv.gz 50000
calibrate "$T/gz"
PREFIX_BROKEN=""
AFTER_KILL=sqlite_prefix_after_kill
kill_loop "$T/gz"
AFTER_KILL=
check_eq "gzip: a run ended by itself with exit 0 (after $KILLS kills)" 0 "$LAST_RC"
check_eq "gzip: the table holds exactly the source rows" "$(expect_sums 1 "$GZ_N")" "$(table_sums gz/out.db t)" bug
check_eq "gzip: after every kill the table was a prefix of the input" "" "$PREFIX_BROKEN" bug
run_sluice state show gz/pipeline.yaml
check_contains "gzip: state show reports the uncompressed offset" "$OUT" "gzip, uncompressed offset"
run_json gz/pipeline.yaml
check_eq "gzip: a rerun loads nothing" "ok 0" "$J_status $J_rows_in"
rm -rf gz

# stop_mid_load PID DB: SIGTERM once the first commit is visible. Sets STOP_RC, STOP_OUT.
stop_mid_load() {
  local pid=$1 db=$2 out=$3
  wait_for 120 has_rows "$db" || nok "a commit became visible in $db"
  kill -TERM "$pid" 2>/dev/null
  wait_bg "$pid"
  STOP_RC=$BG_RC
  STOP_OUT=$(cat "$out")
  parse_summary "$STOP_OUT"
}

# Deterministic: stop a load in the middle of a compressed file, then resume it.
stop_and_resume() {
  local kind=$1 n=$2 dir="$T/resume_$1" f first=0
  mkdir -p "$dir"
  gen_csv "$dir/in.csv" 1 "$n"
  if [ "$kind" = gzip ]; then gzip -1 "$dir/in.csv"; f=in.csv.gz; else zstd -q -1 --rm "$dir/in.csv"; f=in.csv.zst; fi
  sqlite_pipeline "$dir" "$f" 5000
  start_bg "$dir/run.out" "$dir/run.err" run "$dir/pipeline.yaml" --json
  stop_mid_load "$BG" "$dir/out.db" "$dir/run.out"
  first=${J_rows_out:-0}
  if [ "$STOP_RC $J_status" = "0 stopped" ] && [ "$first" -lt "$n" ] 2>/dev/null; then
    ok "$kind: stopped mid-file by SIGTERM ($first of $n rows loaded)"
  else
    nok "$kind: stopped mid-file by SIGTERM" "rc=$STOP_RC $STOP_OUT"
  fi
  run_sluice_timeout "$RUN_DEADLINE" run "$dir/pipeline.yaml" --json
  parse_summary "$OUT"
  check_eq "$kind: the resumed run loads the rest of the file" "0 ok $((n - first))" "$RC $J_status $J_rows_in" bug
  check_eq "$kind: after the resume the table holds exactly the source rows" "$(expect_sums 1 "$n")" "$(table_sums "$dir/out.db" t)" bug
  rm -rf "$dir"
}
section "SIGTERM in the middle of a compressed file, then resume"
stop_and_resume gzip "$GZ_N"
stop_and_resume zstd "$GZ_N"

section "SIGTERM mid-run"
mkdir -p term
sqlite_pipeline term ../data/big.csv
start_bg term/run.out term/run.err run term/pipeline.yaml --json
stop_mid_load "$BG" term/out.db term/run.out
check_eq "SIGTERM: exit code 0" 0 "$STOP_RC"
check_eq "SIGTERM: status \"stopped\" in the --json summary" stopped "$J_status"
OUT=$STOP_OUT
check_identity "SIGTERM summary"
in_table=$(sql term/out.db "select count(*) from t")
check_eq "SIGTERM: the rows it reports as out are in the table (what was in flight is committed)" "$J_rows_out" "$in_table"
if [ "$in_table" -lt "$BIG_N" ] 2>/dev/null; then ok "SIGTERM: the run stopped early ($in_table of $BIG_N rows)"
else nok "SIGTERM: the run stopped early" "the table has $in_table rows"; fi
run_sluice_timeout "$RUN_DEADLINE" run term/pipeline.yaml --json
parse_summary "$OUT"
check_eq "SIGTERM: the rerun ends ok" "0 ok" "$RC $J_status"
check_eq "SIGTERM: after the rerun the table holds exactly the source rows" "$(expect_sums 1 "$BIG_N")" "$(table_sums term/out.db t)" bug

section "two signals: abort at once, the last checkpoint holds"
rm -rf term/out.db term/.sluice
start_bg term/run.out term/run.err run term/pipeline.yaml --json
wait_for 120 has_rows term/out.db
kill -TERM "$BG" 2>/dev/null
sleep 0.05   # (two signals sent at once would merge into one)
kill -TERM "$BG" 2>/dev/null
wait_bg "$BG"
# 130 when the second signal aborted; 0 when the first one's stop completed before it came.
case "$BG_RC" in
  130) ok "second signal: aborted with exit code 130"
       check_contains "second signal: says the last checkpoint holds" "$(cat term/run.err)" "last committed checkpoint holds" ;;
  0) ok "second signal: the stop had already completed (exit 0)" ;;
  *) nok "second signal: exit code 130 (or 0)" "rc=$BG_RC $(tail -3 term/run.err)" ;;
esac
c=$(sql term/out.db "select count(*), coalesce(max(id),0) from t")
check_eq "second signal: the table is a prefix of the input" "${c%%|*}" "${c##*|}"
run_sluice_timeout "$RUN_DEADLINE" run term/pipeline.yaml --json
parse_summary "$OUT"
check_eq "second signal: the rerun ends ok" "0 ok" "$RC $J_status"
check_eq "second signal: after the rerun the table holds exactly the source rows" "$(expect_sums 1 "$BIG_N")" "$(table_sums term/out.db t)" bug

finish
