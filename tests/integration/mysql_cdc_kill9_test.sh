#!/usr/bin/env bash
# MariaDB binlog CDC (mysql source, mode: cdc) survives kill -9: a randomized workload of
# insert/update/delete transactions (key changes included) runs on a MariaDB table while
# `sluice run` is killed -9 at random moments, again and again; a last run to `stop_at:
# caught_up` then leaves replicas that match the source table exactly (row count and a checksum
# of every row's values):
#   1. mysql sink, mode: replicate, into another MariaDB database;
#   2. sqlite sink, mode: replicate, into an SQLite file (keys reported by the source);
#   3. postgres sink, mode: replicate, into the real PostgreSQL (when SLUICE_PG_DSN is set).
# Then a run without stop_at streams live changes until SIGTERM, drains and exits 0.
# Last, the chunked snapshot (watermarks): a larger table (100000 rows, page_size 1000) is copied
# under a concurrent writer while the runs are killed -9 again and again; the runs resume after
# the last committed chunk, and both replicas end equal to the source.
#
# Needs SLUICE_MYSQL_DSN (scripts/services/up.sh); skipped without it. SLUICE_SEED repeats a run.
# usage: bash mysql_cdc_kill9_test.sh PATH_TO_SLUICE   (SLUICE_LONG=1: more rounds and kills)
source "$(dirname "${BASH_SOURCE[0]}")/../e2e/lib.sh" "$@" || exit 2

if [ -z "${SLUICE_MYSQL_DSN:-}" ]; then
  echo "SLUICE_MYSQL_DSN is not set: skipped (scripts/services/up.sh starts the server)"
  exit 0
fi
command -v mariadb >/dev/null || { echo "the mariadb client is missing: skipped"; exit 0; }

if [ "$LONG" = 1 ]; then KILLS_WANTED=25 SEED_ROWS=20000 BIG_ROWS=300000; else KILLS_WANTED=10 SEED_ROWS=5000 BIG_ROWS=100000; fi
KILL_MIN_MS=200 KILL_MAX_MS=2500 RUN_DEADLINE=600

re='^mysql://([^:@]*):([^@]*)@([^:/]*):([0-9]+)/([^?]*)'
[[ "$SLUICE_MYSQL_DSN" =~ $re ]] || { echo "cannot parse SLUICE_MYSQL_DSN" >&2; exit 2; }
MY_USER=${BASH_REMATCH[1]} MY_PW=${BASH_REMATCH[2]} MY_HOST=${BASH_REMATCH[3]} MY_PORT=${BASH_REMATCH[4]}
DB=sluice_cdc9_$$
RDB=sluice_cdc9r_$$
DSN="mysql://$MY_USER:$MY_PW@$MY_HOST:$MY_PORT/$DB"
RDSN="mysql://$MY_USER:$MY_PW@$MY_HOST:$MY_PORT/$RDB"
my() { mariadb --no-defaults -h "$MY_HOST" -P "$MY_PORT" -u "$MY_USER" -p"$MY_PW" -N -B "$@" 2>&1; }
myq() { my "$DB" -e "$1"; }
my -e "CREATE DATABASE $DB CHARACTER SET utf8mb4; CREATE DATABASE $RDB CHARACTER SET utf8mb4" ||
  { echo "cannot create the databases" >&2; exit 2; }

PG_SCHEMA=sluice_cdc9_$$
HAVE_PG=0
if [ -n "${SLUICE_PG_DSN:-}" ] && command -v psql >/dev/null; then
  HAVE_PG=1
  psql -q "$SLUICE_PG_DSN" -c "CREATE SCHEMA $PG_SCHEMA" >/dev/null 2>&1 || HAVE_PG=0
fi
WORKLOAD_PID=""
cleanup_all() {
  [ -n "$WORKLOAD_PID" ] && touch "$T/stop" && wait "$WORKLOAD_PID" 2>/dev/null
  my -e "DROP DATABASE IF EXISTS $DB; DROP DATABASE IF EXISTS $RDB" >/dev/null
  [ "$HAVE_PG" = 1 ] && psql -q "$SLUICE_PG_DSN" -c "DROP SCHEMA IF EXISTS $PG_SCHEMA CASCADE;
    DELETE FROM _sluice_state WHERE pipeline LIKE '%\\_$$'" >/dev/null 2>&1
  _cleanup
}
trap cleanup_all EXIT

myq "CREATE TABLE t (id BIGINT PRIMARY KEY, name VARCHAR(60) NOT NULL, amount DECIMAL(12,2),
       ts DATETIME(6), note TEXT NULL, flag TINYINT NOT NULL DEFAULT 0) ENGINE=InnoDB" >/dev/null
# Seed rows (copied by the initial snapshot).
awk -v n="$SEED_ROWS" 'BEGIN {
  print "INSERT INTO t (id, name, amount, ts, note) VALUES"
  for (i = 1; i <= n; i++)
    printf "(%d, \"seed %d\", %d.%02d, \"2026-01-%02d 10:00:%02d.%06d\", %s)%s\n", i, i, i % 1000, i % 100,
           1 + i % 28, i % 60, i, (i % 7 ? "\"n\"" : "NULL"), (i < n ? "," : ";")
}' | my "$DB" || exit 2

# workload ROUND [TABLE [ROWS]]: one file of random transactions (inserts, updates, key changes,
# deletes) on TABLE (t) whose seed keys are 1..ROWS.
workload_sql() {
  awk -v seed="$1" -v base="$(( $1 * 100000 + 1000000 ))" -v n="${3:-$SEED_ROWS}" -v tb="${2:-t}" 'BEGIN {
    srand(seed)
    for (t = 0; t < 40; t++) {
      print "BEGIN;"
      k = 1 + int(rand() * 6)
      for (j = 0; j < k; j++) {
        r = rand(); id = 1 + int(rand() * n)
        if (r < 0.35) {
          base++
          printf "INSERT INTO " tb " VALUES (%d, \"w %d\", %d.%02d, NOW(6), %s, %d);\n", base, base, int(rand() * 9999), int(rand() * 100),
                 (rand() < 0.2 ? "NULL" : "REPEAT(\"x\", " int(rand() * 300) ")"), int(rand() * 3)
        } else if (r < 0.70) {
          printf "UPDATE " tb " SET amount = amount + 1.25, name = CONCAT(\"u\", id), flag = flag + 1 WHERE id BETWEEN %d AND %d;\n", id, id + int(rand() * 20)
        } else if (r < 0.80) {
          printf "UPDATE IGNORE " tb " SET id = id + 5000000 WHERE id = %d;\n", id
        } else if (r < 0.95) {
          printf "DELETE FROM " tb " WHERE id BETWEEN %d AND %d;\n", id, id + int(rand() * 5)
        } else {
          printf "UPDATE " tb " SET note = NULL, ts = NULL WHERE id = %d;\n", id
        }
      }
      print (rand() < 0.1 ? "ROLLBACK;" : "COMMIT;")
    }
  }'
}
run_workload() {  # ROUND [TABLE [ROWS]]: runs rounds until $T/stop exists (each ends whole)
  local round=$1
  while [ ! -f "$T/stop" ]; do
    workload_sql "$round" "${2:-t}" "${3:-$SEED_ROWS}" | my "$DB" >/dev/null
    round=$((round + 1))
    sleep 0.05
  done
}

# checksum DB [TABLE] (mariadb) -> count|sum of per-row CRC32
my_sum() {
  my "$1" -e "SELECT CONCAT(COUNT(*), '|', COALESCE(SUM(CRC32(CONCAT_WS('|', id, name, amount,
      COALESCE(DATE_FORMAT(ts, '%Y-%m-%d %H:%i:%s.%f'), '~'), COALESCE(note, '~'), flag))), 0)) FROM ${2:-t}"
}
pg_sum() {  # [TABLE]: the same checksum computed on the PostgreSQL replica, row text sent to mariadb
  psql -q -At "$SLUICE_PG_DSN" -c "COPY (SELECT id, name, to_char(amount, 'FM9999999999990.00'),
      COALESCE(to_char(ts, 'YYYY-MM-DD HH24:MI:SS.US'), '~'), COALESCE(note, '~'), flag FROM $PG_SCHEMA.${1:-t}) TO STDOUT" \
    >"$T/pg_rows.tsv" || { echo "psql failed"; return; }
  my "$DB" --local-infile=1 -e "CREATE TEMPORARY TABLE pgrows (id BIGINT, name TEXT, amount TEXT, ts TEXT, note TEXT, flag INT);
      LOAD DATA LOCAL INFILE '$T/pg_rows.tsv' INTO TABLE pgrows;
      SELECT CONCAT(COUNT(*), '|', COALESCE(SUM(CRC32(CONCAT_WS('|', id, name, amount, ts, note, flag))), 0)) FROM pgrows"
}

sqlite_sum() {  # DB [TABLE]: the same checksum over the SQLite replica (timestamps without a zero fraction)
  sqlite3 -batch -noheader -separator $'\t' -nullvalue '\N' "$1" "SELECT id, name, amount,
      CASE WHEN ts IS NULL THEN '~' WHEN instr(ts, '.') = 0 THEN ts || '.000000' ELSE substr(ts || '000000', 1, 26) END,
      COALESCE(note, '~'), flag FROM ${2:-t}" >"$T/sq_rows.tsv" || { echo "sqlite3 failed"; return; }
  my "$DB" --local-infile=1 -e "CREATE TEMPORARY TABLE sqrows (id BIGINT, name TEXT, amount TEXT, ts TEXT, note TEXT, flag INT);
      LOAD DATA LOCAL INFILE '$T/sq_rows.tsv' INTO TABLE sqrows;
      SELECT CONCAT(COUNT(*), '|', COALESCE(SUM(CRC32(CONCAT_WS('|', id, name, amount, ts, note, flag))), 0)) FROM sqrows"
}

pipeline() {  # DIR SINK [TABLE [SOURCE_OPTIONS]]
  mkdir -p "$1"
  # The name is unique per run: the postgres sink keeps its state in a schema shared by runs.
  cat >"$1/pipeline.yaml" <<EOF
name: $(basename "$1")_$$
source: { type: mysql, dsn: "$DSN", mode: cdc, tables: [${3:-t}]${4:-}, stop_at: caught_up }
sink: $2
commit_interval: { rows: 5000, time: 1s }
EOF
  # live.yaml: the same pipeline without stop_at (streams until killed).
  sed 's/, stop_at: caught_up//' "$1/pipeline.yaml" >"$1/live.yaml"
}
pipeline "$T/my" "{ type: mysql, dsn: \"$RDSN\", table: t, mode: replicate, key: [id] }"
pipeline "$T/sq" "{ type: sqlite, path: \"$T/sq/replica.db\", table: t, mode: replicate }"
[ "$HAVE_PG" = 1 ] && pipeline "$T/pg" "{ type: postgres, dsn: \"$SLUICE_PG_DSN\", table: $PG_SCHEMA.t, mode: replicate, key: [id] }"

section "check names the binlog settings and privileges as fine"
run_sluice check "$T/my/pipeline.yaml"
check_eq "check passes" 0 "$RC"
check_contains "check shows the plan of the cdc source" "$OUT$ERR" "mode cdc"

run_workload 1 &
WORKLOAD_PID=$!

kill_loop() {  # DIR: kill -9 KILLS_WANTED times at random moments of runs that stream live changes
  local dir=$1
  pushd "$dir" >/dev/null || return
  kill9_runs "$KILLS_WANTED" "$KILL_MIN_MS" "$KILL_MAX_MS" run "$dir/live.yaml" --json
  popd >/dev/null || return
  if [ "$KILL_FAILS" -gt 0 ]; then
    nok "$(basename "$dir"): a run failed ($KILL_FAILS)" "$(tail -5 "$dir/run.err")"
    return
  fi
  ok "$(basename "$dir"): killed -9 $KILL_DONE times while streaming ($KILL_ENDS runs ended by themselves)"
}

section "kill -9 during CDC into a MariaDB replica (mysql sink, replicate)"
kill_loop "$T/my"
section "kill -9 during CDC into an SQLite replica (sqlite sink, replicate, keys from the source)"
kill_loop "$T/sq"
if [ "$HAVE_PG" = 1 ]; then
  section "kill -9 during CDC into a PostgreSQL replica (postgres sink, replicate)"
  kill_loop "$T/pg"
fi

touch "$T/stop"
wait "$WORKLOAD_PID" 2>/dev/null
WORKLOAD_PID=""
WANT=$(my_sum "$DB")
echo "  source table: $WANT (count|checksum)"

section "a last run catches up and the replicas match the source exactly"
run_sluice_timeout "$RUN_DEADLINE" run "$T/my/pipeline.yaml" --json
parse_summary "$OUT"
check_eq "mysql replica: the last run ends by itself" "0 ok" "$RC $J_status"
check_identity "mysql replica"
check_eq "mysql replica = source (count|checksum)" "$WANT" "$(my_sum "$RDB")" bug
run_sluice_timeout "$RUN_DEADLINE" run "$T/sq/pipeline.yaml" --json
parse_summary "$OUT"
check_eq "sqlite replica: the last run ends by itself" "0 ok" "$RC $J_status"
check_eq "sqlite replica = source (count|checksum)" "$WANT" "$(sqlite_sum "$T/sq/replica.db" | tail -1)" bug
if [ "$HAVE_PG" = 1 ]; then
  run_sluice_timeout "$RUN_DEADLINE" run "$T/pg/pipeline.yaml" --json
  parse_summary "$OUT"
  check_eq "postgres replica: the last run ends by itself" "0 ok" "$RC $J_status"
  check_eq "postgres replica = source (count|checksum)" "$WANT" "$(pg_sum | tail -1)" bug
fi

section "a run with nothing new sends nothing"
run_json "$T/my/pipeline.yaml"
check_eq "nothing new: 0 rows in" "ok 0" "$J_status $J_rows_in"

section "without stop_at a run streams live changes until SIGTERM, then drains and exits 0"
mkdir -p "$T/term"
cat >"$T/term/pipeline.yaml" <<EOF
name: term
source: { type: mysql, dsn: "$DSN", mode: cdc, tables: [t] }
sink: { type: mysql, dsn: "$RDSN", table: t_term, mode: replicate, key: [id] }
commit_interval: { rows: 5000, time: 1s }
EOF
term_sum() { my "$RDB" -e "SELECT CONCAT(COUNT(*), '|', COALESCE(SUM(CRC32(CONCAT_WS('|', id, name, amount,
      COALESCE(DATE_FORMAT(ts, '%Y-%m-%d %H:%i:%s.%f'), '~'), COALESCE(note, '~'), flag))), 0)) FROM t_term"; }
start_bg "$T/term/run.out" "$T/term/run.err" run "$T/term/pipeline.yaml" --json
TERM_PID=$BG
same_as_source() { [ "$(term_sum)" = "$(my_sum "$DB")" ]; }
wait_for 120 same_as_source
check_eq "the snapshot reaches the replica while the run goes on" "$(my_sum "$DB")" "$(term_sum)" bug
myq "INSERT INTO t VALUES (999999999, 'live', 1.00, NULL, NULL, 0); UPDATE t SET name = 'live2' WHERE id = 999999999" >/dev/null
wait_for 60 same_as_source
check_eq "a change made during the run is streamed to the replica" "$(my_sum "$DB")" "$(term_sum)" bug
kill -TERM "$TERM_PID"
wait_bg "$TERM_PID"
parse_summary "$(cat "$T/term/run.out")"
check_eq "SIGTERM: the run drains and exits 0 (status stopped)" "0 stopped" "$BG_RC $J_status"
check_eq "after SIGTERM the replica still equals the source" "$(my_sum "$DB")" "$(term_sum)" bug

section "kill -9 during a chunked snapshot of $BIG_ROWS rows (page_size 1000) under a concurrent writer"
myq "CREATE TABLE big (id BIGINT PRIMARY KEY, name VARCHAR(60) NOT NULL, amount DECIMAL(12,2),
       ts DATETIME(6), note TEXT NULL, flag TINYINT NOT NULL DEFAULT 0) ENGINE=InnoDB" >/dev/null
myq "INSERT INTO big (id, name, amount, ts, note) SELECT seq, CONCAT('seed ', seq), seq % 1000 + 0.25,
       '2026-01-01 10:00:00.000001' + INTERVAL seq SECOND, IF(seq % 7 = 0, NULL, 'n') FROM seq_1_to_$BIG_ROWS" >/dev/null
pipeline "$T/bigmy" "{ type: mysql, dsn: \"$RDSN\", table: big, mode: replicate, key: [id] }" big ", page_size: 1000"
[ "$HAVE_PG" = 1 ] && pipeline "$T/bigpg" "{ type: postgres, dsn: \"$SLUICE_PG_DSN\", table: $PG_SCHEMA.big, mode: replicate, key: [id] }" big ", page_size: 1000"
rm -f "$T/stop"
run_workload 500 big "$BIG_ROWS" &
WORKLOAD_PID=$!
big_copy_running() {  # DIR: the sink holds some chunks of the copy, and the copy is not done
  local q="SELECT COUNT(*) FROM _sluice_state WHERE pipeline = '$(basename "$1")_$$' AND value LIKE '%\"after\"%'
           AND value LIKE '%\"snapshot\":\"running\"%'"
  if [ "$(basename "$1")" = bigpg ]; then psql -q -At "$SLUICE_PG_DSN" -c "$q"; else my "$RDB" -e "$q"; fi 2>/dev/null |
    grep -qx '[1-9][0-9]*'
}
mid_copy_kills() {  # DIR: kill -9 once chunks are committed, then again while the next run resumes
  local dir=$1 name
  name=$(basename "$1")
  start_bg "$dir/run.out" "$dir/run.err.a" run "$dir/live.yaml" --json
  wait_for 120 big_copy_running "$dir"
  check_eq "$name: killed -9 mid-copy, after some chunks were committed" 0 "$?"
  kill -9 "$BG"
  wait_bg "$BG"
  start_bg "$dir/run.out" "$dir/run.err.b" run "$dir/live.yaml" --json
  wait_for 60 grep -q 'snapshot of' "$dir/run.err.b"
  rand_sleep 100 600
  kill -9 "$BG"
  wait_bg "$BG"
  check "$name: the next run resumed the copy after the last committed chunk (after_rows > 0)" \
    grep -qE 'snapshot of .*after_rows=[1-9]' "$dir/run.err.b"
}
# Then kills at random moments, sooner than above: the copy goes on across them.
KILL_MIN_MS=300 KILL_MAX_MS=1500
mid_copy_kills "$T/bigmy"
kill_loop "$T/bigmy"
if [ "$HAVE_PG" = 1 ]; then
  mid_copy_kills "$T/bigpg"
  kill_loop "$T/bigpg"
fi
touch "$T/stop"
wait "$WORKLOAD_PID" 2>/dev/null
WORKLOAD_PID=""
WANT=$(my_sum "$DB" big)
echo "  source table big: $WANT (count|checksum)"
run_sluice_timeout "$RUN_DEADLINE" run "$T/bigmy/pipeline.yaml" --json
parse_summary "$OUT"
check_eq "mysql replica of big: the last run ends by itself" "0 ok" "$RC $J_status"
check_eq "mysql replica of big = source (count|checksum)" "$WANT" "$(my_sum "$RDB" big)" bug
if [ "$HAVE_PG" = 1 ]; then
  run_sluice_timeout "$RUN_DEADLINE" run "$T/bigpg/pipeline.yaml" --json
  parse_summary "$OUT"
  check_eq "postgres replica of big: the last run ends by itself" "0 ok" "$RC $J_status"
  check_eq "postgres replica of big = source (count|checksum)" "$WANT" "$(pg_sum big | tail -1)" bug
fi

finish
