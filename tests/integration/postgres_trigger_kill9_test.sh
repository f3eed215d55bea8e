#!/usr/bin/env bash
# Trigger CDC from PostgreSQL (postgres source, mode: trigger) under kill -9: a replica in SQLite
# matches the source exactly.
#
# Several psql sessions write at the same time, in background loops: random transactions of
# inserts, updates, deletes and updates that change the primary key (about one in ten rolled
# back; a transaction that hits a deadlock or a duplicate key is rolled back by the server and the
# session goes on). Meanwhile `sluice run` (mode: trigger, poll_interval: 200ms) replicates the
# table into SQLite (mode: replicate) and is killed with -9 at random moments, again and again.
# Once the writers stop, one more run catches up, and the replica must equal the source row for
# row (an md5 of every row, sorted by key). The table starts with rows that predate the
# triggers: they reach the replica through the snapshot copy (op r). Concurrent writers are the
# point: sequence numbers and txids are not handed out in commit order, so a reader of "above my
# checkpoint" would step over a late commit; the source reads by transaction snapshot instead.
#
# usage: bash postgres_trigger_kill9_test.sh PATH_TO_SLUICE   (env SLUICE_PG_DSN; SLUICE_LONG=1:
#        more kills and writers; SLUICE_SEED repeats a run)
source "$(dirname "${BASH_SOURCE[0]}")/../e2e/lib.sh" "$@" || exit 2

if [ -z "${SLUICE_PG_DSN:-}" ]; then
  echo "skipped: SLUICE_PG_DSN is not set (scripts/services/up.sh starts the server)"
  exit 0
fi
command -v psql >/dev/null || { echo "skipped: psql is not installed"; exit 0; }

if [ "$LONG" = 1 ]; then KILLS=15 WRITERS=6; else KILLS=6 WRITERS=4; fi
TAG="pgtrg9_$$_$RANDOM"   # the schema of this run
pg() { psql "$SLUICE_PG_DSN" -XAtq -F'|' -v ON_ERROR_STOP=1 -c "$1" 2>&1; }
pg "CREATE SCHEMA $TAG" >/dev/null || { echo "cannot create schema $TAG" >&2; exit 2; }
WRITER_PIDS=()
cleanup_all() {
  touch "$T/stop"
  for p in "${WRITER_PIDS[@]+"${WRITER_PIDS[@]}"}"; do wait "$p" 2>/dev/null; done
  pg "DROP SCHEMA IF EXISTS $TAG CASCADE" >/dev/null
  _cleanup
}
trap cleanup_all EXIT

pg "CREATE TABLE $TAG.t (id bigint PRIMARY KEY, name text NOT NULL, amount numeric(12,2), note text,
      flag int NOT NULL DEFAULT 0)" >/dev/null
pg "INSERT INTO $TAG.t SELECT g, 'seed ' || g, (g % 1000) / 4.0, CASE WHEN g % 7 = 0 THEN NULL ELSE 'n' END, 0
    FROM generate_series(1, 3000) g" >/dev/null

{
  echo "name: pgtrg9"
  echo "source: { type: postgres, dsn: \"\${SLUICE_PG_DSN}\", mode: trigger, table: $TAG.t, poll_interval: 200ms }"
  echo "sink: { type: sqlite, path: replica.db, table: t, mode: replicate }"
} >live.yaml
sed 's/, poll_interval: 200ms//' live.yaml >once.yaml

section "check prints the DDL and the grants, and installs nothing"
run_sluice check once.yaml
check_eq "check passes" 0 "$RC"
check_contains "check shows the trigger DDL" "$OUT" "CREATE TRIGGER _sluice_capture AFTER INSERT OR UPDATE OR DELETE ON \"$TAG\".\"t\""
check_contains "check names the privileges" "$OUT" "GRANT SELECT, TRIGGER ON \"$TAG\".\"t\""
check_eq "check created nothing" "0 0" "$(pg "SELECT (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = '$TAG' AND c.relname LIKE '\\_sluice%'), (SELECT count(*) FROM pg_trigger WHERE tgrelid = '$TAG.t'::regclass)" | tr '|' ' ')"

# writer N: random transactions until $T/stop exists; ids it inserts are its own (N * 10^7 + i).
# Writer 1 sleeps inside its transactions, so its changes take their numbers long before they
# commit, while the other writers' later changes commit and are read first.
writer() {
  local n=$1 round=0
  while [ ! -f "$T/stop" ]; do
    awk -v seed="$((SEED * 100 + n * 1000 + round))" -v base="$(( n * 10000000 + round * 1000 ))" -v tbl="$TAG.t" \
        -v slow="$([ "$n" = 1 ] && echo 1 || echo 0)" 'BEGIN {
      srand(seed)
      for (t = 0; t < (slow ? 5 : 25); t++) {
        print "BEGIN;"
        k = 1 + int(rand() * 4)
        for (j = 0; j < k; j++) {
          if (slow) printf "SELECT pg_sleep(%.2f);\n", rand() * 0.3
          r = rand(); id = 1 + int(rand() * 3000)
          if (r < 0.35) {
            base++
            printf "INSERT INTO %s VALUES (%d, \047w %d\047, %d.%02d, %s, %d);\n", tbl, base, base, int(rand() * 9999),
                   int(rand() * 100), (rand() < 0.2 ? "NULL" : "repeat(\047x\047, " int(rand() * 50) ")"), int(rand() * 3)
          } else if (r < 0.75) {
            printf "UPDATE %s SET amount = amount + 1.25, name = name || \047+\047, flag = flag + 1 WHERE id BETWEEN %d AND %d;\n", tbl, id, id + int(rand() * 5)
          } else if (r < 0.85) {
            printf "UPDATE %s SET id = id + 100000000 WHERE id = %d;\n", tbl, id
          } else {
            printf "DELETE FROM %s WHERE id BETWEEN %d AND %d;\n", tbl, id, id + int(rand() * 3)
          }
        }
        print (rand() < 0.1 ? "ROLLBACK;" : "COMMIT;")
      }
    }' | psql "$SLUICE_PG_DSN" -X -v ON_ERROR_STOP=0 >>"$T/writer_$n.out" 2>&1
    round=$((round + 1))
  done
}

section "a replica under kill -9 while $WRITERS sessions write ($KILLS kills)"
for w in $(seq 1 "$WRITERS"); do
  writer "$w" &
  WRITER_PIDS+=($!)
done
kill9_runs "$KILLS" 300 1500 run live.yaml --json
check_eq "sluice was killed -9 $KILLS times mid-run (no run failed)" "$KILLS 0" "$KILL_DONE $KILL_FAILS"
touch "$T/stop"
for p in "${WRITER_PIDS[@]}"; do wait "$p" 2>/dev/null; done
WRITER_PIDS=()
echo "  writer transactions: $(cat "$T"/writer_*.out | grep -c '^COMMIT') committed, $(cat "$T"/writer_*.out | grep -c '^ROLLBACK') rolled back ($(cat "$T"/writer_*.out | grep -c 'deadlock detected') deadlocks, $(cat "$T"/writer_*.out | grep -c 'duplicate key') duplicate keys)"
echo "  changes logged: $(pg "SELECT last_value FROM $(pg "SELECT pg_get_serial_sequence('$TAG._sluice_log_t', 'seq')")"), log rows not yet trimmed: $(pg "SELECT count(*) FROM $TAG._sluice_log_t")"

section "a catch-up run leaves a replica equal to the source"
run_sluice_timeout 120 run once.yaml --json
parse_summary "$OUT"
check_eq "the catch-up run ends ok" "0 ok" "$RC $J_status"
check_identity "catch-up run"
src=$(pg "SELECT concat_ws('|', id, name, coalesce(amount::text, '~'), coalesce(note, '~'), flag) FROM $TAG.t ORDER BY id" | md5sum)
dst=$(sql replica.db "SELECT id || '|' || name || '|' || COALESCE(amount, '~') || '|' || COALESCE(note, '~') || '|' || flag FROM t ORDER BY id" | md5sum)
check_eq "the replica equals the source, row for row ($(pg "SELECT count(*) FROM $TAG.t") rows)" "$src" "$dst" bug
run_sluice_timeout 60 run once.yaml --json
parse_summary "$OUT"
check_eq "a run with nothing new reads nothing" "0 ok 0" "$RC $J_status $J_rows_in"
check_eq "and the change log is trimmed down to nothing" "0" "$(pg "SELECT count(*) FROM $TAG._sluice_log_t")"

section "uninstall"
run_sluice cdc uninstall once.yaml
check_eq "cdc uninstall exits 0" 0 "$RC"
check_eq "no trigger is left" "0" "$(pg "SELECT count(*) FROM pg_trigger WHERE tgrelid = '$TAG.t'::regclass")"
check_eq "no log table or function is left" "t|" "$(pg "SELECT string_agg(relname, ',') FROM pg_class c JOIN pg_namespace n
  ON n.oid = c.relnamespace WHERE n.nspname = '$TAG' AND c.relkind = 'r'")|$(pg "SELECT string_agg(proname, ',') FROM pg_proc p
  JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = '$TAG'")"
pg "INSERT INTO $TAG.t VALUES (999999999, 'after uninstall', 1, NULL, 0)" >/dev/null
check_eq "the table takes writes" "after uninstall" "$(pg "SELECT name FROM $TAG.t WHERE id = 999999999")"

finish
