#!/usr/bin/env bash
# Trigger CDC from MariaDB (mysql source, mode: trigger) under kill -9: a replica in SQLite
# matches the source exactly.
#
# Three `mariadb` client sessions write at the same time, in background loops: random
# transactions of inserts, updates, deletes and updates that change the primary key (about one in
# ten rolled back; a deadlock between writers, if one happens, rolls a transaction back and
# --force goes on).
# Meanwhile `sluice run` (mode: trigger, poll_interval: 200ms) replicates the table into SQLite
# (mode: replicate) and is killed with -9 at random moments, again and again. Once the writers
# stop, one more run catches up, and the replica must equal the source row for row (an md5 of
# every row, sorted by key). The table starts with rows that predate the triggers: they reach the
# replica through the snapshot that the install writes into the change log. Concurrent writers
# are the point: numbers handed out in statement order instead of commit order would let a
# reader step over a late commit.
#
# usage: bash mysql_trigger_kill9_test.sh PATH_TO_SLUICE   (env SLUICE_MYSQL_DSN; SLUICE_LONG=1:
#        more kills; SLUICE_SEED repeats a run)
source "$(dirname "${BASH_SOURCE[0]}")/../e2e/lib.sh" "$@" || exit 2

if [ -z "${SLUICE_MYSQL_DSN:-}" ]; then
  echo "skipped: SLUICE_MYSQL_DSN is not set (scripts/services/up.sh starts the server)"
  exit 0
fi
command -v mariadb >/dev/null || { echo "skipped: the mariadb client is missing"; exit 0; }

if [ "$LONG" = 1 ]; then KILLS=15 WRITERS=4; else KILLS=6 WRITERS=3; fi
re='^mysql://([^:@]*):([^@]*)@([^:/]*):([0-9]+)/([^?]*)'
[[ "$SLUICE_MYSQL_DSN" =~ $re ]] || { echo "cannot parse SLUICE_MYSQL_DSN" >&2; exit 2; }
MY_USER=${BASH_REMATCH[1]} MY_PW=${BASH_REMATCH[2]} MY_HOST=${BASH_REMATCH[3]} MY_PORT=${BASH_REMATCH[4]}
DB=sluice_trg9_$$_$RANDOM
DSN="mysql://$MY_USER:$MY_PW@$MY_HOST:$MY_PORT/$DB"
my() { mariadb --no-defaults -h "$MY_HOST" -P "$MY_PORT" -u "$MY_USER" -p"$MY_PW" -N -B "$@" 2>&1; }
myq() { my "$DB" -e "$1"; }
my -e "CREATE DATABASE $DB CHARACTER SET utf8mb4" || { echo "cannot create the database" >&2; exit 2; }
WRITER_PIDS=()
cleanup_all() {
  touch "$T/stop"
  for p in "${WRITER_PIDS[@]+"${WRITER_PIDS[@]}"}"; do wait "$p" 2>/dev/null; done
  my -e "DROP DATABASE IF EXISTS $DB" >/dev/null
  _cleanup
}
trap cleanup_all EXIT

myq "CREATE TABLE t (id BIGINT PRIMARY KEY, name VARCHAR(60) NOT NULL, amount DECIMAL(12,2),
       note TEXT NULL, flag INT NOT NULL DEFAULT 0) ENGINE=InnoDB" >/dev/null
myq "INSERT INTO t SELECT seq, CONCAT('seed ', seq), (seq % 1000) / 4, IF(seq % 7 = 0, NULL, 'n'), 0
     FROM seq_1_to_3000" >/dev/null

{
  echo "name: trg9"
  echo "source: { type: mysql, dsn: \"$DSN\", mode: trigger, table: t, poll_interval: 200ms }"
  echo "sink: { type: sqlite, path: replica.db, table: t, mode: replicate }"
  echo "commit_interval: { rows: 2000 }"
} >live.yaml
sed 's/, poll_interval: 200ms//' live.yaml >once.yaml

section "check prints the DDL and the grants, and installs nothing"
run_sluice check once.yaml
check_eq "check passes" 0 "$RC"
check_contains "check shows the trigger DDL" "$OUT" "CREATE TRIGGER \`$DB\`.\`_sluice_t_upd\` AFTER UPDATE"
check_contains "check names the privileges" "$OUT" "GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, TRIGGER ON \`$DB\`.*"
check_eq "check created nothing" "0" "$(myq "SELECT count(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = '$DB' AND TABLE_NAME LIKE '\\_sluice%'")"

# writer N: random transactions until $T/stop exists; ids it inserts are its own (N * 10^7 + i).
writer() {
  local n=$1 round=0
  while [ ! -f "$T/stop" ]; do
    awk -v seed="$((SEED * 100 + n * 1000 + round))" -v base="$(( n * 10000000 + round * 1000 ))" 'BEGIN {
      srand(seed)
      for (t = 0; t < 25; t++) {
        print "BEGIN;"
        k = 1 + int(rand() * 4)
        for (j = 0; j < k; j++) {
          r = rand(); id = 1 + int(rand() * 3000)
          if (r < 0.35) {
            base++
            printf "INSERT INTO t VALUES (%d, \"w %d\", %d.%02d, %s, %d);\n", base, base, int(rand() * 9999),
                   int(rand() * 100), (rand() < 0.2 ? "NULL" : "REPEAT(\"x\", " int(rand() * 50) ")"), int(rand() * 3)
          } else if (r < 0.75) {
            printf "UPDATE t SET amount = amount + 1.25, name = CONCAT(name, \"+\"), flag = flag + 1 WHERE id BETWEEN %d AND %d;\n", id, id + int(rand() * 5)
          } else if (r < 0.85) {
            printf "UPDATE IGNORE t SET id = id + 100000000 WHERE id = %d;\n", id
          } else {
            printf "DELETE FROM t WHERE id BETWEEN %d AND %d;\n", id, id + int(rand() * 3)
          }
        }
        print (rand() < 0.1 ? "ROLLBACK;" : "COMMIT;")
      }
    }' | my --force "$DB" >>"$T/writer_$n.out"
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
echo "  writer errors: $(cat "$T"/writer_*.out | grep -c 'ERROR 1213') deadlocks, $(cat "$T"/writer_*.out | grep -c 'ERROR 1205') lock wait timeouts"
echo "  log rows not yet trimmed: $(myq "SELECT count(*) FROM _sluice_log_t"), changes numbered: $(myq "SELECT n FROM _sluice_cdc_seq WHERE name = ''")"

section "a catch-up run leaves a replica equal to the source"
run_sluice_timeout 120 run once.yaml --json
parse_summary "$OUT"
check_eq "the catch-up run ends ok" "0 ok" "$RC $J_status"
check_identity "catch-up run"
src=$(myq "SELECT CONCAT_WS('|', id, name, COALESCE(amount, '~'), COALESCE(note, '~'), flag) FROM t ORDER BY id" | md5sum)
dst=$(sql replica.db "SELECT id || '|' || name || '|' || COALESCE(amount, '~') || '|' || COALESCE(note, '~') || '|' || flag FROM t ORDER BY id" | md5sum)
check_eq "the replica equals the source, row for row ($(myq 'SELECT count(*) FROM t') rows)" "$src" "$dst" bug
run_sluice_timeout 60 run once.yaml --json
parse_summary "$OUT"
check_eq "a run with nothing new reads nothing" "0 ok 0" "$RC $J_status $J_rows_in"
check_eq "and trims the change log down to nothing" "0" "$(myq "SELECT count(*) FROM _sluice_log_t")"

section "uninstall"
run_sluice cdc uninstall once.yaml
check_eq "cdc uninstall exits 0" 0 "$RC"
check_eq "no trigger is left" "0" "$(myq "SELECT count(*) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = '$DB'")"
check_eq "no log or counter table is left" "t" "$(myq "SHOW TABLES")"
myq "INSERT INTO t VALUES (999999999, 'after uninstall', 1, NULL, 0)" >/dev/null
check_eq "the table takes writes" "after uninstall" "$(myq "SELECT name FROM t WHERE id = 999999999")"

finish
