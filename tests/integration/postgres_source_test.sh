#!/usr/bin/env bash
# The postgres source under kill -9: a full read of three tables (an integer key read as
# parallel ranges, a uuid key, and a table without a primary key) into SQLite in replace mode
# (an interrupted run resumes into the staging tables), and an incremental read by an insert-only
# id into an append table; each is killed at random moments until a run ends by itself. At the end every
# table holds exactly the PostgreSQL rows (count, distinct keys, sums); after every kill no key
# is doubled. Needs SLUICE_PG_DSN (scripts/services/up.sh) and psql; skipped without them.
#
# usage: bash postgres_source_test.sh PATH_TO_SLUICE   (SLUICE_LONG=1: 5M rows, more kills)
source "$(dirname "${BASH_SOURCE[0]}")/../e2e/lib.sh" "$@" || exit 2

if [ -z "${SLUICE_PG_DSN:-}" ] || ! command -v psql >/dev/null; then
  echo "SLUICE_PG_DSN not set or psql missing: skipped"
  exit 0
fi
if [ "$LONG" = 1 ]; then N=5000000 MAX_KILLS=40; else N=1000000 MAX_KILLS=12; fi
S="pgsrc_kill_$$"
pg() { psql "$SLUICE_PG_DSN" -v ON_ERROR_STOP=1 -qAtX "$@"; }
trap 'pg -c "DROP SCHEMA IF EXISTS $S CASCADE" >/dev/null 2>&1; _cleanup' EXIT

section "setup: $N + $((N / 4)) + $((N / 10)) rows in schema $S"
pg <<SQL || { nok "create the source tables"; finish; }
CREATE SCHEMA $S;
CREATE TABLE $S.orders (id bigint PRIMARY KEY, name text, amount numeric(12,2), ts timestamptz);
INSERT INTO $S.orders SELECT i, 'name ' || i, (i % 100000) + (i % 100) / 100.0,
  '2026-01-01'::timestamptz + i * interval '1 second' FROM generate_series(1, $N) i;
CREATE TABLE $S.keyed (k uuid PRIMARY KEY, n bigint);
INSERT INTO $S.keyed SELECT md5(i::text)::uuid, i FROM generate_series(1, $N / 4) i;
CREATE TABLE $S.nokey (n bigint, label text);
INSERT INTO $S.nokey SELECT i, 'l' || i FROM generate_series(1, $N / 10) i;
CREATE TABLE $S.events (id bigint PRIMARY KEY, v text, updated_at timestamptz NOT NULL);
CREATE INDEX ON $S.events (updated_at);
INSERT INTO $S.events SELECT i, 'v' || i, '2026-01-01'::timestamptz + (i / 3) * interval '1 second'
  FROM generate_series(1, $N / 2) i;
ANALYZE $S.orders; ANALYZE $S.keyed;
SQL
want_orders=$(pg -c "SELECT count(*) || '|' || count(DISTINCT id) || '|' || sum(id) || '|' || (sum(amount) * 100)::bigint FROM $S.orders")
want_keyed=$(pg -c "SELECT count(*) || '|' || count(DISTINCT k) || '|' || sum(n) FROM $S.keyed")
want_nokey=$(pg -c "SELECT count(*) || '|' || count(DISTINCT n) || '|' || sum(n) FROM $S.nokey")
want_events=$(pg -c "SELECT count(*) || '|' || count(DISTINCT id) || '|' || sum(id) FROM $S.events")

mkdir -p full inc
cat >full/pipeline.yaml <<EOF
name: pg_full_kill9
source: { type: postgres, dsn: "\${SLUICE_PG_DSN}", mode: full, tables: [$S.orders, $S.keyed, $S.nokey], parallel: 2 }
sink: { type: sqlite, path: out.db, mode: replace }
commit_interval: { rows: 50000 }
EOF
cat >inc/pipeline.yaml <<EOF
name: pg_inc_kill9
source: { type: postgres, dsn: "\${SLUICE_PG_DSN}", table: $S.events, mode: incremental, cursor: id, key: [id], page_size: 2000 }
sink: { type: sqlite, path: out.db, table: events, mode: append }
commit_interval: { rows: 2000 }
EOF

# kill_loop DIR CHECK: kill -9 runs of DIR/pipeline.yaml at random moments until one ends by
# itself; CHECK DIR runs after each kill. Sets KILLS, LAST_RC, LAST_OUT.
kill_loop() {
  local dir=$1 check=$2
  KILLS=0
  while :; do
    if [ "$KILLS" -ge "$MAX_KILLS" ]; then
      timeout -s KILL 600 "$SLUICE" run "$dir/pipeline.yaml" --json >"$dir/run.out" 2>"$dir/run.err" </dev/null
      LAST_RC=$?
      break
    fi
    start_bg "$dir/run.out" "$dir/run.err" run "$dir/pipeline.yaml" --json
    rand_sleep 100 "$KILL_MAX_MS"
    kill -9 "$BG" 2>/dev/null
    wait_bg "$BG"
    if [ "$BG_RC" -ne 137 ]; then LAST_RC=$BG_RC; break; fi
    KILLS=$((KILLS + 1))
    "$check" "$dir"
  done
  LAST_OUT=$(cat "$dir/run.out")
}

# calibrate DIR: one uninterrupted run of a copy of DIR's pipeline; kills then land within the
# first 70% of that duration, so that most of them interrupt a load.
calibrate() {
  local dir=$1 t0 ms
  rm -rf "$T/calib" && mkdir -p "$T/calib" && cp "$dir/pipeline.yaml" "$T/calib/"
  t0=$(date +%s%N)
  timeout -s KILL 600 "$SLUICE" run "$T/calib/pipeline.yaml" --json >"$T/calib/run.out" 2>"$T/calib/run.err" </dev/null
  ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  parse_summary "$(cat "$T/calib/run.out")"
  check_eq "$(basename "$dir"): an uninterrupted run loads everything (${ms} ms)" "ok" "$J_status"
  KILL_MAX_MS=$(( ms * 7 / 10 ))
  [ "$KILL_MAX_MS" -lt 300 ] && KILL_MAX_MS=300
  echo "  (kill delays: 100-${KILL_MAX_MS} ms)"
  rm -rf "$T/calib"
}

DOUBLED=""
no_double() {  # after a kill: no key twice in any table loaded so far (staging tables of replace too)
  local db=$1/out.db r t col
  [ -f "$db" ] || return 0
  for t in "$S.orders:id" "$S.orders__sluice_staging:id" "$S.keyed:k" "$S.keyed__sluice_staging:k" "events:id"; do
    col=${t##*:}
    r=$(sql "$db" "select count(*) - count(distinct $col) from \"${t%:*}\"" 2>/dev/null)
    case "$r" in ''|*"no such table"*) continue ;; esac
    if [ "$r" != 0 ] && [ -z "$DOUBLED" ]; then DOUBLED="after kill $KILLS: $r doubled key(s) in ${t%:*}"; fi
  done
}

section "full read, parallel: 2, kill -9 until a run completes"
calibrate "$T/full"
kill_loop "$T/full" no_double
parse_summary "$LAST_OUT"
check_eq "full: a run ended by itself with exit 0 (after $KILLS kills)" "0 ok" "$LAST_RC $J_status"
check_eq "full: no key doubled after any kill" "" "$DOUBLED" bug
check_eq "full: orders holds exactly the source rows" "$want_orders" \
  "$(sql full/out.db "select count(*), count(distinct id), sum(id), cast(round(sum(amount * 100)) as integer) from \"$S.orders\"")" bug
check_eq "full: keyed (uuid key) holds exactly the source rows" "$want_keyed" \
  "$(sql full/out.db "select count(*), count(distinct k), sum(n) from \"$S.keyed\"")" bug
check_eq "full: nokey (no primary key, one commit group) holds exactly the source rows" "$want_nokey" \
  "$(sql full/out.db "select count(*), count(distinct n), sum(n) from \"$S.nokey\"")" bug
run_sluice check full/pipeline.yaml
check_contains "full: check shows the parallel ranges" "$OUT" "$S.orders: 4 columns, ~1.00M rows, key (id), 2 range(s)"
check_not_contains "full: the DSN's password is not shown" "$OUT$ERR" "sluice@127"

section "incremental read, kill -9 until a run completes, then new rows"
DOUBLED=""
calibrate "$T/inc"
kill_loop "$T/inc" no_double
parse_summary "$LAST_OUT"
check_eq "incremental: a run ended by itself with exit 0 (after $KILLS kills)" "0 ok" "$LAST_RC $J_status"
check_eq "incremental: no key doubled after any kill" "" "$DOUBLED" bug
check_eq "incremental: the table holds exactly the source rows" "$want_events" \
  "$(sql inc/out.db "select count(*), count(distinct id), sum(id) from events")" bug
pg -c "INSERT INTO $S.events VALUES ($N + 1, 'new', '2030-01-01')"
run_json inc/pipeline.yaml
check_eq "incremental: the next run reads only the new row" "ok 1 1" "$J_status $J_rows_in $J_rows_out"
run_sluice check inc/pipeline.yaml
check_contains "incremental: check shows the page query's plan" "$OUT" "page query plan:"
check_contains "incremental: the plan uses the cursor's index" "$OUT" "Index"

finish
