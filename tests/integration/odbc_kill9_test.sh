#!/usr/bin/env bash
# kill -9 during an odbc full read (PostgreSQL ODBC driver) never duplicates a row and never
# drops one.
#
# `sluice run` of a PostgreSQL table through `type: odbc` (psqlodbcw.so) into an SQLite file in
# `replace` mode is killed with -9 after a random delay, again and again, until a run ends by
# itself. A replace run resumes into its staging table from the committed key, so a row read
# twice would be there twice and a row skipped would be missing: at the end the table must hold
# exactly the source rows (count, distinct ids, sum of ids, sum of amounts in cents).
#
# The kill delay is random in [0.1 s, D], D being 70% of an uninterrupted run (at most 3 s). No
# check depends on a duration. SLUICE_SEED repeats a random run.
#
# usage: bash tests/integration/odbc/odbc_kill9_test.sh PATH_TO_SLUICE   (env SLUICE_PG_DSN;
#        SLUICE_LONG=1: 1M rows, 5 trials)
source "$(dirname "${BASH_SOURCE[0]}")/../e2e/lib.sh" "$@" || exit 2

DRIVER=/usr/lib/x86_64-linux-gnu/odbc/psqlodbcw.so
if [ -z "${SLUICE_PG_DSN:-}" ]; then
  echo "skipped: SLUICE_PG_DSN is not set (scripts/services/up.sh starts the server)"
  exit 0
fi
[ -f "$DRIVER" ] || { echo "skipped: odbc-postgresql is not installed"; exit 0; }
command -v psql >/dev/null || { echo "skipped: psql is not installed"; exit 0; }

if [ "$LONG" = 1 ]; then N=1000000 TRIALS=5 MAX_KILLS=100; else N=200000 TRIALS=2 MAX_KILLS=40; fi
KILL_MIN_MS=100
RUN_DEADLINE=600
TAG="odbck9_$$"

pg() { psql "$SLUICE_PG_DSN" -XAtq -F'|' -v ON_ERROR_STOP=1 -c "$1" 2>&1; }
pg "CREATE SCHEMA $TAG" >/dev/null
trap 'pg "DROP SCHEMA IF EXISTS $TAG CASCADE" >/dev/null; _cleanup' EXIT
pg "CREATE TABLE $TAG.src (id bigint PRIMARY KEY, v text, amount numeric(12,2));
    INSERT INTO $TAG.src SELECT i, 'row ' || i, (i % 100000) / 100.0 FROM generate_series(1, $N) i" >/dev/null
WANT=$(pg "SELECT count(*), count(DISTINCT id), sum(id), sum(round(amount * 100)) FROM $TAG.src")

# The ODBC connection string of SLUICE_PG_DSN; the password comes in through ${PGPASS}.
url=${SLUICE_PG_DSN#*://} && cred=${url%%@*} && hostpart=${url#*@}
hostport=${hostpart%%/*} && db=${hostpart#*/}
export PGPASS=${cred#*:}
ODBC_DSN="Driver=$DRIVER;Server=${hostport%%:*};Port=${hostport#*:};Database=$db;UID=${cred%%:*};PWD=\${PGPASS}"

pipeline() {  # pipeline DIR
  cat >"$1/pipeline.yaml" <<YAML
name: $TAG
source: { type: odbc, dsn: "$ODBC_DSN", table: $TAG.src, page_size: 5000 }
sink: { type: sqlite, path: out.db, table: t, mode: replace }
commit_interval: { rows: 10000 }
YAML
}
table_sums() {
  sqlite3 -batch -noheader "$1/out.db" \
    "SELECT count(*), count(DISTINCT id), coalesce(sum(id), 0), coalesce(sum(CAST(round(amount * 100) AS INTEGER)), 0) FROM t" 2>&1
}

section "an uninterrupted odbc read of $N rows"
dir="$T/calib" && mkdir -p "$dir" && pipeline "$dir"
t0=$(date +%s%N)
timeout -s KILL "$RUN_DEADLINE" "$SLUICE" run "$dir/pipeline.yaml" --json >"$dir/run.out" 2>"$dir/run.err" </dev/null
rc=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
parse_summary "$(cat "$dir/run.out")"
check_eq "it loads everything (${ms} ms)" "0 ok $N" "$rc $J_status $J_rows_out"
check_eq "the table holds the source rows" "$WANT" "$(table_sums "$dir")"
check_not_contains "the password is not in the log" "$(cat "$dir/run.err")" "PWD=$PGPASS;"
KILL_MAX_MS=$(( ms * 7 / 10 ))
[ "$KILL_MAX_MS" -gt 3000 ] && KILL_MAX_MS=3000
[ "$KILL_MAX_MS" -lt 300 ] && KILL_MAX_MS=300

section "kill -9 during the read, $TRIALS trials (kill delays ${KILL_MIN_MS}-${KILL_MAX_MS} ms)"
for i in $(seq 1 "$TRIALS"); do
  dir=$(mktemp -d "$T/trial.XXXX") && pipeline "$dir"
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
  done
  got=$(table_sums "$dir")
  if [ "$LAST_RC" -eq 0 ] && [ "$got" = "$WANT" ]; then
    ok "trial $i: $KILLS kills, then exit 0; count|distinct|sum(id)|sum(cents) = $got"
  else
    bug "trial $i" "kills=$KILLS last rc=$LAST_RC"$'\n'"expected $WANT"$'\n'"got      $got"$'\n'"stderr: $(tail -5 "$dir/run.err")"
  fi
done

finish
