#!/usr/bin/env bash
# kill -9 during a load into PostgreSQL never duplicates a row and never drops one.
#
# `sluice run` of a CSV into the postgres sink (append, and upsert by id) is killed with -9 after a
# random delay, again and again, until a run ends by itself. After every kill the table must be
# a prefix of the file (count = max(id)): a commit group and its checkpoint commit in one
# transaction, so a group is wholly there or wholly absent. At the end the table holds exactly
# the source rows: count, distinct ids, sum of ids and sum of amounts in cents.
#
# The kill delay is random in [0.1 s, D], D being 70% of an uninterrupted run (at most 3 s), so
# most kills land mid-load. No check depends on a duration. SLUICE_SEED repeats a random run.
#
# usage: bash postgres_kill9_test.sh PATH_TO_SLUICE   (env SLUICE_PG_DSN; SLUICE_LONG=1: 2M rows,
#        5 trials per mode)
source "$(dirname "${BASH_SOURCE[0]}")/../e2e/lib.sh" "$@" || exit 2

if [ -z "${SLUICE_PG_DSN:-}" ]; then
  echo "skipped: SLUICE_PG_DSN is not set (scripts/services/up.sh starts the server)"
  exit 0
fi
command -v psql >/dev/null || { echo "skipped: psql is not installed"; exit 0; }

if [ "$LONG" = 1 ]; then N=2000000 TRIALS=5 MAX_KILLS=100; else N=1000000 TRIALS=2 MAX_KILLS=40; fi
KILL_MIN_MS=100
RUN_DEADLINE=600
TAG="k9_$$"   # table, schema and pipeline names of this run

pg() { psql "$SLUICE_PG_DSN" -XAtq -F'|' -v ON_ERROR_STOP=1 -c "$1" 2>&1; }
pg "CREATE SCHEMA IF NOT EXISTS $TAG" >/dev/null
cleanup_pg() {
  pg "DROP SCHEMA IF EXISTS $TAG CASCADE" >/dev/null
  pg "DELETE FROM _sluice_state WHERE pipeline LIKE '${TAG}%'" >/dev/null
}
trap 'cleanup_pg; _cleanup' EXIT

gen_csv in.csv 1 "$N"
echo "generated $N rows ($(du -h in.csv | cut -f1)) in $(_elapsed)"
WANT=$(expect_sums 1 "$N")

# pipeline DIR NAME MODE: a load of in.csv into $TAG.NAME
pipeline() {
  local key=""
  [ "$3" = upsert ] && key=", key: [id]"
  cat >"$1/pipeline.yaml" <<YAML
name: ${TAG}_$2
source: { type: file, path: ../in.csv }
sink: { type: postgres, dsn: "\${SLUICE_PG_DSN}", table: "$TAG.$2", mode: $3$key }
schema: { amount: "decimal(12,2)" }
commit_interval: { rows: 50000 }
YAML
}

table_sums_pg() {
  pg "SELECT count(*), count(DISTINCT id), coalesce(sum(id), 0), coalesce(sum(round(amount * 100)), 0)
      FROM $TAG.\"$1\"" | sed 's/\.0*$//; s/\.0*|/|/g'
}

# The table as a prefix of the input after a kill: ids 1..count, no gap, no double.
PREFIX_BROKEN=""
check_prefix() {
  local r
  r=$(pg "SELECT count(*), coalesce(max(id), 0) FROM $TAG.\"$1\"" 2>/dev/null)
  case "$r" in *ERROR*|"") return 0 ;; esac   # not created yet
  if [ "${r%%|*}" != "${r##*|}" ] && [ -z "$PREFIX_BROKEN" ]; then
    PREFIX_BROKEN="after kill $KILLS: count=${r%%|*} max(id)=${r##*|}"
  fi
}

# calibrate MODE: one uninterrupted run sets the kill delays for MODE.
calibrate() {
  local dir="$T/calib_$1" t0 ms rc
  mkdir -p "$dir"
  pipeline "$dir" "calib_$1" "$1"
  t0=$(date +%s%N)
  timeout -s KILL "$RUN_DEADLINE" "$SLUICE" run "$dir/pipeline.yaml" --json >"$dir/run.out" 2>"$dir/run.err" </dev/null
  rc=$?
  ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  parse_summary "$(cat "$dir/run.out")"
  check_eq "$1: an uninterrupted run loads everything (${ms} ms)" "0 ok $N" "$rc $J_status $J_rows_out"
  check_eq "$1: after it the table holds the source rows" "$WANT" "$(table_sums_pg "calib_$1")"
  KILL_MAX_MS=$(( ms * 7 / 10 ))
  [ "$KILL_MAX_MS" -gt 3000 ] && KILL_MAX_MS=3000
  [ "$KILL_MAX_MS" -lt 300 ] && KILL_MAX_MS=300
  echo "  (kill delays: ${KILL_MIN_MS}-${KILL_MAX_MS} ms)"
}

trial() {
  local label=$1 mode=$2 name=$3 dir
  dir=$(mktemp -d "$T/trial.XXXX")
  pipeline "$dir" "$name" "$mode"
  PREFIX_BROKEN=""
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
    if [ "$BG_RC" -ne 137 ]; then LAST_RC=$BG_RC; break; fi
    KILLS=$((KILLS + 1))
    [ "$mode" = append ] && check_prefix "$name"
  done
  local got
  got=$(table_sums_pg "$name")
  if [ "$LAST_RC" -eq 0 ] && [ "$got" = "$WANT" ] && [ -z "$PREFIX_BROKEN" ]; then
    ok "$label: $KILLS kills, then exit 0; count|distinct|sum(id)|sum(cents) = $got"
  else
    bug "$label" "kills=$KILLS last rc=$LAST_RC"$'\n'"expected $WANT"$'\n'"got      $got"$'\n'"$PREFIX_BROKEN"$'\n'"stderr: $(tail -5 "$dir/run.err")"
  fi
  run_sluice state show "$dir/pipeline.yaml"
  check_contains "$label: state show reads the checkpoint from _sluice_state" "$OUT" "$N"
}

for mode in append upsert; do
  section "kill -9 during a postgres $mode load of $N rows, $TRIALS trials"
  calibrate "$mode"
  for i in $(seq 1 "$TRIALS"); do trial "$mode trial $i/$TRIALS" "$mode" "${mode}_$i"; done
done

finish
