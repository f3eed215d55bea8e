#!/usr/bin/env bash
# Three ways to capture changes, measured on one machine in one run (docs/cdc.md explains them):
#   log      postgres source `mode: cdc` (logical replication, pgoutput)
#   query    postgres source `mode: incremental` with `cursor: updated_at`, `deleted_flag: deleted`,
#            `lookback: 2s`, `poll_interval: 1s`
#   trigger  sqlite source `mode: trigger` (poll_interval: 1s), and postgres `mode: trigger` when
#            this build's postgres source has it
#   MariaDB  mysql source `mode: cdc` (binlog) and `mode: trigger`: latency and deletes only, when
#            the server of MYSQL_DSN answers (BENCH_MARIADB=0 skips them)
# Every capture writes into PostgreSQL (sink mode: replicate) with `commit_interval: {time: 0s}`.
# Not part of `make test` or `make bench`: it needs the server that scripts/services/postgres.sh
# starts.
#
#   1. Latency: with the capture streaming, a writer inserts BENCH_RATE rows/s for BENCH_LAT_S
#      seconds (pgbench -R, 2 clients; for SQLite a Python writer, for MariaDB a stored
#      procedure that inserts and sleeps), each row carrying the microseconds of its write
#      (clock_timestamp(), time.time_ns(), NOW(6)), just before its commit. In the replica, a
#      DEFERRABLE INITIALLY DEFERRED constraint trigger records clock_timestamp() when the sink's
#      transaction commits. Same machine, same clock.
#   2. Load on the source: the writer unthrottled for BENCH_LOAD_S seconds (pgbench -c 4 -j 2,
#      each transaction one UPDATE by key and one INSERT; for SQLite one Python connection), with
#      no capture and with each capture running (PostgreSQL log and query into the discard sink),
#      alternating, BENCH_REPS times; medians. PostgreSQL trigger capture comes last, alternating
#      with its triggers disabled. Reported: writer transactions/s, WAL bytes per transaction, CPU
#      seconds of sluice and of the server processes serving the capture. Then, for SQLite, 100k
#      rows inserted and updated by two statements with and without triggers.
#   3. Deletes: tables del_a (rows 1-5) and del_b (rows 1-3) captured into a `changelog` sink (one
#      row per event), one capture pass, then: DELETE id 1; soft delete of id 2 (deleted = true,
#      updated_at = now); id 6 inserted and deleted; a second pass; TRUNCATE del_b (SQLite:
#      DELETE FROM del_b, no WHERE); a third pass, which may stop with an error. The events each
#      technique delivered are read back and printed.
#
#   BENCH_RATE=200 BENCH_LAT_S=20 BENCH_LOAD_S=10 BENCH_REPS=3 BENCH_MARIADB=1
#   SLUICE=build/release/sluice   PG_DSN=postgresql://sluice:sluice@127.0.0.1:54329/sluice
#   MYSQL_DSN=mysql://sluice:sluice@127.0.0.1:33069/sluice (a database bench_cmp_my is made there)
#
# Prints Markdown for bench/RESULTS.md and docs/cdc.md. Leaves nothing behind: slots and
# databases it made are dropped on exit, the SQLite files are in a temporary directory.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RATE=${BENCH_RATE:-200}
LAT_S=${BENCH_LAT_S:-20}
REPS=${BENCH_REPS:-3}
LOAD_S=${BENCH_LOAD_S:-10}
SLUICE=${SLUICE:-$ROOT/build/release/sluice}
PG_DSN=${PG_DSN:-postgresql://sluice:sluice@127.0.0.1:54329/sluice}
PGBENCH=$(command -v pgbench || ls /usr/lib/postgresql/*/bin/pgbench | tail -1)
export PGOPTIONS="-c client_min_messages=warning"
DBS="bench_cmp_src bench_cmp_dst bench_cmp_cl_log bench_cmp_cl_query bench_cmp_rep_query bench_cmp_cl_sqlite bench_cmp_cl_pgtrig bench_cmp_cl_mylog bench_cmp_cl_mytrig"
MYSQL_DSN=${MYSQL_DSN:-mysql://sluice:sluice@127.0.0.1:33069/sluice}
MARIADB=${BENCH_MARIADB:-1}
MYDB=bench_cmp_my
re='^mysql://([^:@]*):([^@]*)@([^:/]*):([0-9]+)/([^?]*)'
if [ "$MARIADB" = 1 ] && [[ "$MYSQL_DSN" =~ $re ]]; then
  MY=(mariadb --no-defaults -h "${BASH_REMATCH[3]}" -P "${BASH_REMATCH[4]}" -u "${BASH_REMATCH[1]}" -p"${BASH_REMATCH[2]}" -N -B)
  MY_SRC="mysql://${BASH_REMATCH[1]}:${BASH_REMATCH[2]}@${BASH_REMATCH[3]}:${BASH_REMATCH[4]}/$MYDB"
  "${MY[@]}" -e 'SELECT 1' >/dev/null 2>&1 || MARIADB=0
else
  MARIADB=0
fi
SLOTS="'sluice_cmp_log', 'sluice_cmp_log_load', 'sluice_cmp_del_log'"

log() { printf '[cdc compare %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() {
  log "error: $*"
  for f in "${WORK:-/nonexistent}"/*.err; do [ -s "$f" ] && { log "tail of $(basename "$f"):"; tail -n 5 "$f" >&2; }; done
  exit 1
}
[ -x "$SLUICE" ] || die "no sluice binary at $SLUICE"
psql "$PG_DSN" -Xqc 'SELECT 1' >/dev/null || die "cannot reach $PG_DSN (bash scripts/services/postgres.sh start)"
with_db() { python3 -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/" + sys.argv[2])))' "$PG_DSN" "$1"; }
SRC=$(with_db bench_cmp_src) DST=$(with_db bench_cmp_dst)
pg() { psql "$PG_DSN" -XAtq -v ON_ERROR_STOP=1 -c "$1"; }
src() { psql "$SRC" -XAtq -v ON_ERROR_STOP=1 -c "$1"; }
dst() { psql "$DST" -XAtq -v ON_ERROR_STOP=1 -c "$1"; }

WORK=$(mktemp -d /tmp/sluice-bench-cmp.XXXXXX)
cp "$SLUICE" "$WORK/sluice" && SLUICE=$WORK/sluice  # immune to rebuilds meanwhile
SQLITE_DB=$WORK/src.db
SLUICE_PID=
stop_sluice() {
  if [ -n "$SLUICE_PID" ]; then
    kill -TERM "$SLUICE_PID" 2>/dev/null || true
    wait "$SLUICE_PID" 2>/dev/null || true
    SLUICE_PID=
  fi
}
drop_all() {
  pg "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name IN ($SLOTS) AND NOT active" >/dev/null 2>&1 || true
  for db in $DBS; do pg "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true; done
  [ "$MARIADB" != 1 ] || "${MY[@]}" -e "DROP DATABASE IF EXISTS $MYDB" >/dev/null 2>&1 || true
}
cleanup() {
  stop_sluice
  drop_all
  rm -rf "$WORK"
}
trap cleanup EXIT

PG_TRIGGER=0
if "$SLUICE" connectors describe postgres 2>/dev/null | grep -q 'mode .*trigger'; then PG_TRIGGER=1; fi

# --- setup -----------------------------------------------------------------------------------
drop_all
for db in $DBS; do pg "CREATE DATABASE $db" >/dev/null; done
src "CREATE TABLE probe (id bigserial PRIMARY KEY, src_us bigint NOT NULL, v int NOT NULL DEFAULT 0,
       updated_at timestamptz NOT NULL DEFAULT clock_timestamp(), deleted boolean NOT NULL DEFAULT false, pad text);
     CREATE INDEX probe_updated_at ON probe (updated_at);
     INSERT INTO probe (src_us, pad) SELECT 0, 'x' FROM generate_series(1, 10000)" >/dev/null
src "VACUUM ANALYZE probe" >/dev/null
dst "CREATE TABLE lag_commit (tech text NOT NULL, id bigint NOT NULL, committed_ts timestamptz NOT NULL)" >/dev/null
for tech in log query sqlite pgtrig mylog mytrig; do
  dst "CREATE TABLE lat_$tech (id bigint PRIMARY KEY, src_us bigint, v bigint, updated_at timestamptz, deleted boolean, pad text);
       CREATE FUNCTION lat_${tech}_commit() RETURNS trigger LANGUAGE plpgsql AS
         \$\$BEGIN INSERT INTO lag_commit VALUES ('$tech', NEW.id, clock_timestamp()); RETURN NULL; END\$\$;
       CREATE CONSTRAINT TRIGGER lat_${tech}_commit AFTER INSERT ON lat_$tech DEFERRABLE INITIALLY DEFERRED
         FOR EACH ROW EXECUTE FUNCTION lat_${tech}_commit()" >/dev/null
done
python3 - "$SQLITE_DB" <<'EOF'
import sqlite3, sys
con = sqlite3.connect(sys.argv[1], isolation_level=None)
con.execute("PRAGMA journal_mode=WAL")
con.execute("CREATE TABLE probe (id INTEGER PRIMARY KEY, src_us INTEGER NOT NULL, v INTEGER NOT NULL DEFAULT 0, pad TEXT)")
con.execute("BEGIN")
con.executemany("INSERT INTO probe (src_us, pad) VALUES (0, 'x')", [()] * 10000)
con.execute("COMMIT")
EOF

cat >"$WORK/ins.sql" <<'SQL'
INSERT INTO probe (src_us, pad) VALUES ((extract(epoch FROM clock_timestamp()) * 1000000)::bigint, 'x');
SQL
cat >"$WORK/load.sql" <<'SQL'
\set id random(1, 10000)
BEGIN;
UPDATE probe SET v = v + 1, updated_at = clock_timestamp() WHERE id = :id;
INSERT INTO probe (src_us, pad) VALUES ((extract(epoch FROM clock_timestamp()) * 1000000)::bigint, 'x');
END;
SQL
# sqlite_writer rate RATE SECONDS | load SECONDS: prints the transactions made
cat >"$WORK/sqlite_writer.py" <<'EOF'
import random, sqlite3, sys, time
path, kind, a = sys.argv[1], sys.argv[2], sys.argv[3:]
con = sqlite3.connect(path, timeout=30, isolation_level=None)
n = 0
if kind == "rate":
    rate, secs = float(a[0]), float(a[1])
    t0 = time.monotonic()
    while time.monotonic() - t0 < secs:
        due = t0 + n / rate
        now = time.monotonic()
        if due > now:
            time.sleep(due - now)
        con.execute("INSERT INTO probe (src_us, pad) VALUES (?, 'x')", (time.time_ns() // 1000,))
        n += 1
else:
    secs = float(a[0])
    t0 = time.monotonic()
    while time.monotonic() - t0 < secs:
        con.execute("BEGIN IMMEDIATE")
        con.execute("UPDATE probe SET v = v + 1 WHERE id = ?", (random.randint(1, 10000),))
        con.execute("INSERT INTO probe (src_us, pad) VALUES (?, 'x')", (time.time_ns() // 1000,))
        con.execute("COMMIT")
        n += 1
print(n)
EOF

pipeline() {  # pipeline NAME SOURCE_YAML SINK_YAML
  cat >"$WORK/$1.yaml" <<YAML
name: $1
source: $2
sink: $3
state: $WORK/$1.state.db
commit_interval: { time: 0s }
YAML
}
start_sluice() {  # start_sluice NAME
  "$SLUICE" run "$WORK/$1.yaml" --json >>"$WORK/$1.out" 2>>"$WORK/$1.err" &
  SLUICE_PID=$!
}
alive() { kill -0 "$SLUICE_PID" 2>/dev/null || { cat "$WORK"/*.err >&2; die "sluice exited"; }; }
wait_for() {  # wait_for SQL_ON_DST EXPECTED: polls until the value is at least EXPECTED
  for _ in $(seq 1 1200); do
    [ "$(dst "$1")" -ge "$2" ] && return 0
    [ -z "$SLUICE_PID" ] || alive
    sleep 0.05
  done
  die "timed out waiting for $1 >= $2"
}
cpu_s() {  # cpu_s PID...: CPU seconds of these processes (those that are gone count 0)
  local p t=0
  for p in "$@"; do
    [ -r "/proc/$p/stat" ] && t=$(awk -v t="$t" -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.2f", t + ($12 + $13) / hz }' "/proc/$p/stat")
  done
  echo "$t"
}

LAT_ROWS=()
LOAD_ROWS=()
# latency TECH: the writer at RATE; appends to LAT_ROWS
latency() {
  local tech=$1 first last stats
  if [ "$tech" = sqlite ]; then
    first=$(sqlite3 "$SQLITE_DB" "SELECT max(id) FROM probe")
    python3 "$WORK/sqlite_writer.py" "$SQLITE_DB" rate "$RATE" "$LAT_S" >/dev/null
    last=$(sqlite3 "$SQLITE_DB" "SELECT max(id) FROM probe")
  elif [ "$tech" = mylog ] || [ "$tech" = mytrig ]; then
    first=$("${MY[@]}" "$MYDB" -e "SELECT coalesce(max(id), 0) FROM probe")
    "${MY[@]}" "$MYDB" -e "CALL write_probe($RATE, $LAT_S)"
    last=$("${MY[@]}" "$MYDB" -e "SELECT coalesce(max(id), 0) FROM probe")
  else
    first=$(src "SELECT max(id) FROM probe")
    "$PGBENCH" -n -c 2 -j 2 -R "$RATE" -T "$LAT_S" -f "$WORK/ins.sql" "$SRC" >/dev/null 2>&1
    last=$(src "SELECT max(id) FROM probe")
  fi
  wait_for "SELECT count(*) FROM lag_commit WHERE tech = '$tech' AND id > $first AND id <= $last" $((last - first))
  stats=$(dst "WITH c AS (SELECT id, min(committed_ts) AS ts FROM lag_commit WHERE tech = '$tech' AND id > $first AND id <= $last GROUP BY id),
                    l AS (SELECT (extract(epoch FROM c.ts) * 1000000 - p.src_us) / 1000.0 AS ms FROM c JOIN lat_$tech p USING (id))
               SELECT count(*), round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 0),
                      round(percentile_cont(0.99) WITHIN GROUP (ORDER BY ms)::numeric, 0), round(max(ms)::numeric, 0) FROM l" | tr '|' ' ')
  LAT_ROWS+=("$tech $stats")
  log "  latency $tech: rows p50 p99 max = $stats"
}
# load LABEL [sqlite FILE]: the writer unthrottled; appends to LOAD_ROWS
# "label tps wal_per_tx sluice_cpu server_cpu". server_cpu: the server processes serving the
# capture (the walsender, or the backend running the polls), i.e. the ones connected to the
# source database before the writer starts.
load() {
  local label=$1 n tps wal0 wal1 cpu0=0 cpu1=0 walb=- pids scpu0 scpu1
  pids=$(pg "SELECT pid FROM pg_stat_activity WHERE datname = 'bench_cmp_src' AND pid <> pg_backend_pid()" | tr '\n' ' ')
  scpu0=$(cpu_s $pids)
  [ -z "$SLUICE_PID" ] || cpu0=$(cpu_s "$SLUICE_PID")
  if [ "${2:-}" = sqlite ]; then
    n=$(python3 "$WORK/sqlite_writer.py" "$3" load "$LOAD_S")
  else
    wal0=$(src "SELECT pg_current_wal_insert_lsn()")
    n=$("$PGBENCH" -n -c 4 -j 2 -T "$LOAD_S" -f "$WORK/load.sql" "$SRC" 2>/dev/null | awk -F': ' '/actually processed/ { split($2, a, "/"); print a[1] }')
    wal1=$(src "SELECT pg_current_wal_insert_lsn()")
    walb=$(src "SELECT round(('$wal1'::pg_lsn - '$wal0'::pg_lsn) / $n)")
  fi
  [ -z "$SLUICE_PID" ] || cpu1=$(cpu_s "$SLUICE_PID")
  scpu1=$(cpu_s $pids)
  tps=$(awk -v n="$n" -v s="$LOAD_S" 'BEGIN { printf "%.0f", n / s }')
  local c sc
  c=$(awk -v a="$cpu1" -v b="$cpu0" 'BEGIN { printf "%.1f", a - b }')
  sc=$(awk -v a="$scpu1" -v b="$scpu0" 'BEGIN { printf "%.1f", a - b }')
  LOAD_ROWS+=("$label $tps $walb $c $sc")
  log "  load $label: $tps tx/s, WAL/tx $walb, sluice cpu $c s, server cpu for the capture $sc s"
}
catch_up() {  # catch_up TECH [sqlite]: every row of the source probe table is in lat_TECH
  local n
  case ${2:-} in
    sqlite) n=$(sqlite3 "$SQLITE_DB" "SELECT count(*) FROM probe") ;;
    mysql) n=$("${MY[@]}" "$MYDB" -e "SELECT count(*) FROM probe") ;;
    *) n=$(src "SELECT count(*) FROM probe") ;;
  esac
  wait_for "SELECT count(*) FROM lat_$1" "$n"
}

# --- 1: latency ------------------------------------------------------------------------------
wait_slot() {  # wait_slot SLOT: until the capture is streaming from it
  for _ in $(seq 1 200); do
    [ "$(pg "SELECT count(*) FROM pg_replication_slots WHERE slot_name = '$1' AND active")" = 1 ] && break
    alive; sleep 0.1
  done
  sleep 1
}
cp "$SQLITE_DB" "$WORK/base.db"  # the same table without triggers, for the writer's baseline

log "latency, log-based: mode: cdc"
pipeline cmp_log "{ type: postgres, dsn: \"$SRC\", mode: cdc, slot: sluice_cmp_log, publication: sluice_cmp_log, snapshot: never, tables: [public.probe] }" \
  "{ type: postgres, dsn: \"$DST\", mode: replicate, table: lat_log, key: [id] }"
start_sluice cmp_log
wait_slot sluice_cmp_log
latency log
stop_sluice

log "latency, query-based: mode: incremental"
pipeline cmp_query "{ type: postgres, dsn: \"$SRC\", mode: incremental, table: public.probe, cursor: updated_at, lookback: 2s, deleted_flag: deleted, poll_interval: 1s }" \
  "{ type: postgres, dsn: \"$DST\", mode: replicate, table: lat_query, key: [id] }"
start_sluice cmp_query
catch_up query
latency query
stop_sluice

log "latency, trigger-based: SQLite mode: trigger"
pipeline cmp_sqlite "{ type: sqlite, path: \"$SQLITE_DB\", mode: trigger, tables: [probe], poll_interval: 1s }" \
  "{ type: postgres, dsn: \"$DST\", mode: replicate, table: lat_sqlite, key: [id] }"
start_sluice cmp_sqlite
catch_up sqlite sqlite
latency sqlite
stop_sluice

if [ "$MARIADB" = 1 ]; then
  # MariaDB: latency only (the writer costs of its trigger mode are measured in
  # src/connectors/mysql/README.md). The writer is a procedure: one autocommitted INSERT, then a
  # sleep that keeps the rate.
  "${MY[@]}" -e "DROP DATABASE IF EXISTS $MYDB; CREATE DATABASE $MYDB"
  "${MY[@]}" "$MYDB" -e "CREATE TABLE probe (id bigint AUTO_INCREMENT PRIMARY KEY, src_us bigint NOT NULL, pad varchar(10)) ENGINE=InnoDB"
  "${MY[@]}" "$MYDB" <<'SQL'
DELIMITER //
CREATE PROCEDURE write_probe(rate int, secs int)
BEGIN
  DECLARE t0 double DEFAULT UNIX_TIMESTAMP(NOW(6));
  DECLARE n int DEFAULT 0;
  WHILE UNIX_TIMESTAMP(NOW(6)) - t0 < secs DO
    INSERT INTO probe (src_us, pad) VALUES (CAST(UNIX_TIMESTAMP(NOW(6)) * 1000000 AS SIGNED), 'x');
    SET n = n + 1;
    IF t0 + n / rate > UNIX_TIMESTAMP(NOW(6)) THEN DO SLEEP(t0 + n / rate - UNIX_TIMESTAMP(NOW(6))); END IF;
  END WHILE;
END //
DELIMITER ;
SQL
  log "latency, log-based: MariaDB mode: cdc"
  pipeline cmp_mylog "{ type: mysql, dsn: \"$MY_SRC\", mode: cdc, snapshot: never, tables: [probe] }" \
    "{ type: postgres, dsn: \"$DST\", mode: replicate, table: lat_mylog, key: [id] }"
  start_sluice cmp_mylog; sleep 3; alive
  latency mylog
  stop_sluice
  log "latency, trigger-based: MariaDB mode: trigger"
  pipeline cmp_mytrig "{ type: mysql, dsn: \"$MY_SRC\", mode: trigger, tables: [probe], poll_interval: 1s }" \
    "{ type: postgres, dsn: \"$DST\", mode: replicate, table: lat_mytrig, key: [id] }"
  start_sluice cmp_mytrig
  catch_up mytrig mysql
  latency mytrig
  stop_sluice
  "$SLUICE" cdc uninstall "$WORK/cmp_mytrig.yaml" >/dev/null 2>&1 || true
fi

# --- 2: load on the source -------------------------------------------------------------------
# The PostgreSQL captures write into the discard sink here, so that the writer's figures hold the
# source's side only (the replica is on the same server and would add its own WAL and CPU).
# Conditions alternate within each repetition, so a burst of load from elsewhere hits all.
# Each starts afresh (a new slot; a cursor starting now), so that none of them spends the run
# catching up with the changes the other conditions made.
fresh_load_pipelines() {
  pg "SELECT pg_drop_replication_slot('sluice_cmp_log_load') FROM pg_replication_slots WHERE slot_name = 'sluice_cmp_log_load'" >/dev/null
  rm -f "$WORK"/cmp_log_load.state.db* "$WORK"/cmp_query_load.state.db*
  pipeline cmp_log_load "{ type: postgres, dsn: \"$SRC\", mode: cdc, slot: sluice_cmp_log_load, publication: sluice_cmp_log, snapshot: never, tables: [public.probe] }" "{ type: discard }"
  pipeline cmp_query_load "{ type: postgres, dsn: \"$SRC\", mode: incremental, table: public.probe, cursor: updated_at, lookback: 2s, deleted_flag: deleted, poll_interval: 1s, initial_cursor: \"$(src "SELECT now()")\" }" "{ type: discard }"
}
for rep in $(seq 1 "$REPS"); do
  log "load, repetition $rep of $REPS"
  fresh_load_pipelines
  load "pg none"
  start_sluice cmp_log_load; wait_slot sluice_cmp_log_load
  load "pg log"
  stop_sluice
  start_sluice cmp_query_load; sleep 2
  load "pg query"
  stop_sluice
  load "sqlite none" sqlite "$WORK/base.db"
  start_sluice cmp_sqlite; sleep 2
  load "sqlite trigger" sqlite "$SQLITE_DB"
  stop_sluice
done
SQLITE_LOG_ROWS=$(sqlite3 "$SQLITE_DB" "SELECT count(*) FROM _sluice_log_probe" 2>/dev/null || echo '?')
# Row cost of the triggers, without the interpreter's per-transaction cost: one statement that
# inserts 100k rows and one that updates them, in the sqlite3 shell, with and without triggers.
bulk_s() {  # bulk_s FILE: seconds for the two statements
  local t0 t1
  t0=$(date +%s%N)
  sqlite3 "$1" "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000)
                INSERT INTO probe (src_us, pad) SELECT 0, 'bulk' FROM n;
                UPDATE probe SET v = v + 1 WHERE pad = 'bulk';" >/dev/null
  t1=$(date +%s%N)
  awk -v a="$t1" -v b="$t0" 'BEGIN { printf "%.2f", (a - b) / 1e9 }'
}
SQLITE_BULK_BASE=$(bulk_s "$WORK/base.db")
SQLITE_BULK_TRIG=$(bulk_s "$SQLITE_DB")

if [ "$PG_TRIGGER" = 1 ]; then
  # Last: its triggers, once installed, would slow every other PostgreSQL figure.
  log "latency and load, trigger-based: PostgreSQL mode: trigger"
  pipeline cmp_pgtrig "{ type: postgres, dsn: \"$SRC\", mode: trigger, tables: [public.probe], poll_interval: 1s }" \
    "{ type: postgres, dsn: \"$DST\", mode: replicate, table: lat_pgtrig, key: [id] }"
  start_sluice cmp_pgtrig
  catch_up pgtrig
  latency pgtrig
  stop_sluice
  # Its baseline alternates with it: the same table with its triggers disabled, sluice stopped.
  for rep in $(seq 1 "$REPS"); do
    log "load, trigger-based PostgreSQL, repetition $rep of $REPS"
    src "ALTER TABLE probe DISABLE TRIGGER USER" >/dev/null
    load "pg none-trigger-phase"
    src "ALTER TABLE probe ENABLE TRIGGER USER" >/dev/null
    start_sluice cmp_pgtrig; sleep 2
    load "pg trigger"
    stop_sluice
  done
  "$SLUICE" cdc uninstall "$WORK/cmp_pgtrig.yaml" >/dev/null 2>&1 || true
fi

# --- 3: deletes ------------------------------------------------------------------------------
log "deletes"
src "CREATE TABLE del_a (id bigint PRIMARY KEY, v text, updated_at timestamptz NOT NULL DEFAULT clock_timestamp(), deleted boolean NOT NULL DEFAULT false);
     CREATE TABLE del_b (LIKE del_a INCLUDING ALL);
     INSERT INTO del_a (id, v) SELECT i, 'a' || i FROM generate_series(1, 5) i;
     INSERT INTO del_b (id, v) SELECT i, 'b' || i FROM generate_series(1, 3) i" >/dev/null
sqlite3 "$SQLITE_DB" "CREATE TABLE del_a (id INTEGER PRIMARY KEY, v TEXT, deleted INTEGER NOT NULL DEFAULT 0);
  CREATE TABLE del_b (id INTEGER PRIMARY KEY, v TEXT, deleted INTEGER NOT NULL DEFAULT 0);
  INSERT INTO del_a (id, v) VALUES (1, 'a1'), (2, 'a2'), (3, 'a3'), (4, 'a4'), (5, 'a5');
  INSERT INTO del_b (id, v) VALUES (1, 'b1'), (2, 'b2'), (3, 'b3');"
cl() { echo "{ type: postgres, dsn: \"$(with_db "bench_cmp_cl_$1")\", mode: changelog }"; }
pipeline del_log "{ type: postgres, dsn: \"$SRC\", mode: cdc, slot: sluice_cmp_del_log, publication: sluice_cmp_del_log, stop_at: caught_up, tables: [public.del_a, public.del_b] }" "$(cl log)"
# A changelog sink cannot take deleted_flag's deletes: the events are read without it, and a
# second pipeline with it applies them to a replica.
pipeline del_query "{ type: postgres, dsn: \"$SRC\", mode: incremental, tables: [public.del_a, public.del_b], cursor: updated_at }" "$(cl query)"
pipeline del_query_rep "{ type: postgres, dsn: \"$SRC\", mode: incremental, tables: [public.del_a, public.del_b], cursor: updated_at, deleted_flag: deleted }" \
  "{ type: postgres, dsn: \"$(with_db bench_cmp_rep_query)\", mode: replicate, key: [id] }"
pipeline del_sqlite "{ type: sqlite, path: \"$SQLITE_DB\", mode: trigger, tables: [del_a, del_b] }" "$(cl sqlite)"
DEL_TECHS="log query query_rep sqlite"
if [ "$MARIADB" = 1 ]; then
  "${MY[@]}" "$MYDB" -e "CREATE TABLE del_a (id bigint PRIMARY KEY, v varchar(10), deleted boolean NOT NULL DEFAULT false) ENGINE=InnoDB;
    CREATE TABLE del_b LIKE del_a;
    INSERT INTO del_a (id, v) VALUES (1, 'a1'), (2, 'a2'), (3, 'a3'), (4, 'a4'), (5, 'a5');
    INSERT INTO del_b (id, v) VALUES (1, 'b1'), (2, 'b2'), (3, 'b3')"
  pipeline del_mylog "{ type: mysql, dsn: \"$MY_SRC\", mode: cdc, stop_at: caught_up, tables: [del_a, del_b] }" "$(cl mylog)"
  pipeline del_mytrig "{ type: mysql, dsn: \"$MY_SRC\", mode: trigger, tables: [del_a, del_b] }" "$(cl mytrig)"
  DEL_TECHS="$DEL_TECHS mylog mytrig"
fi
if [ "$PG_TRIGGER" = 1 ]; then
  pipeline del_pgtrig "{ type: postgres, dsn: \"$SRC\", mode: trigger, tables: [public.del_a, public.del_b] }" "$(cl pgtrig)"
  DEL_TECHS="$DEL_TECHS pgtrig"
fi
cl_table() {  # cl_table TECH TABLE: the changelog table the sink made for TABLE
  psql "$(with_db "bench_cmp_cl_$1")" -XAtq -c "SELECT quote_ident(table_schema) || '.' || quote_ident(table_name)
    FROM information_schema.tables WHERE table_name LIKE '%$2' AND table_schema <> 'information_schema' LIMIT 1"
}
declare -A FAILED
pass() {  # pass [tolerant]: one run of every deletes pipeline; tolerant: a failed run is recorded
  local t
  for t in $DEL_TECHS; do
    : >"$WORK/del_$t.last.err"
    if ! "$SLUICE" run "$WORK/del_$t.yaml" --json >>"$WORK/del_$t.out" 2>"$WORK/del_$t.last.err"; then
      [ "${1:-}" = tolerant ] || { cat "$WORK/del_$t.last.err" >&2; die "del_$t failed"; }
      FAILED[$t]=$(grep -m1 'run failed' "$WORK/del_$t.last.err" | sed 's/^.*run failed: //' | cut -c1-200)
    fi
    cat "$WORK/del_$t.last.err" >>"$WORK/del_$t.err"
  done
}
pass
# Where the first pass ended in each changelog: later events are the ones the changes made.
declare -A MARK
for t in $DEL_TECHS; do
  [ "$t" = query_rep ] && continue
  for tb in del_a del_b; do
    MARK[$t.$tb]=$(psql "$(with_db "bench_cmp_cl_$t")" -XAtq -c "SELECT coalesce(max(_sluice_seq), 0) FROM (
      SELECT _sluice_seq FROM $(cl_table "$t" "$tb")) e")
  done
done
src "DELETE FROM del_a WHERE id = 1;
     UPDATE del_a SET deleted = true, updated_at = clock_timestamp() WHERE id = 2;
     INSERT INTO del_a (id, v) VALUES (6, 'a6');" >/dev/null
src "DELETE FROM del_a WHERE id = 6" >/dev/null
[ "$MARIADB" != 1 ] || "${MY[@]}" "$MYDB" -e "DELETE FROM del_a WHERE id = 1; UPDATE del_a SET deleted = true WHERE id = 2;
  INSERT INTO del_a (id, v) VALUES (6, 'a6'); DELETE FROM del_a WHERE id = 6"
sqlite3 "$SQLITE_DB" "DELETE FROM del_a WHERE id = 1; UPDATE del_a SET deleted = 1 WHERE id = 2;
  INSERT INTO del_a (id, v) VALUES (6, 'a6'); DELETE FROM del_a WHERE id = 6;"
pass
# TRUNCATE last, in a pass of its own: a capture may stop on it.
src "TRUNCATE del_b" >/dev/null
[ "$MARIADB" != 1 ] || "${MY[@]}" "$MYDB" -e "TRUNCATE del_b"
sqlite3 "$SQLITE_DB" "DELETE FROM del_b;"
pass tolerant
# seen TECH TABLE WHERE: the events after the first pass matching WHERE
seen() {
  local db t
  db=$(with_db "bench_cmp_cl_$1")
  t=$(cl_table "$1" "$2")
  local r
  r=$(psql "$db" -XAtq -c "SELECT string_agg(op || ':' || coalesce(after->>'id', before->>'id') ||
                              CASE WHEN op = 'u' AND (after->>'deleted') IN ('true', '1') THEN '(deleted=true)' ELSE '' END, ' ' ORDER BY _sluice_seq)
                            FROM $t WHERE _sluice_seq > ${MARK[$1.$2]} AND $3")
  echo "${r:-nothing}"
}

# --- report ----------------------------------------------------------------------------------
echo "writer: $RATE rows/s for $LAT_S s (latency); unthrottled for $LOAD_S s (load); commit_interval time: 0s; $(nproc) cores"
echo
echo "| technique | latency p50 ms | p99 ms | max ms | rows | writer tx/s without → with capture | WAL bytes/tx without → with | CPU s of sluice + of the server for the capture, during the load run |"
echo "|---|---|---|---|---|---|---|---|"
get_load() {  # get_load LABEL: the medians of the repetitions: tps wal_per_tx sluice_cpu server_cpu
  local want=$1 r
  for r in "${LOAD_ROWS[@]}"; do case $r in "$want "*) echo "${r#"$want "}" ;; esac; done | python3 -c '
import statistics, sys
rows = [l.split() for l in sys.stdin if l.strip()]
out = []
for i in range(4):
    v = [r[i] for r in rows if r[i] != "-"]
    out.append("-" if not v else ("%.1f" % statistics.median(map(float, v)) if i >= 2 else "%.0f" % statistics.median(map(float, v))))
print(" ".join(out))'
}
read -r PG0_TPS PG0_WAL _ <<<"$(get_load "pg none")"
read -r SQ0_TPS _ _ <<<"$(get_load "sqlite none")"
for r in "${LAT_ROWS[@]}"; do
  read -r tech n p50 p99 mx <<<"$r"
  case $tech in
    log) name='log: postgres `mode: cdc`'; key="pg log"; base_tps=$PG0_TPS base_wal=$PG0_WAL ;;
    query) name='query: postgres `mode: incremental`, poll 1 s'; key="pg query"; base_tps=$PG0_TPS base_wal=$PG0_WAL ;;
    sqlite) name='trigger: sqlite `mode: trigger`, poll 1 s'; key="sqlite trigger"; base_tps=$SQ0_TPS base_wal=- ;;
    mylog) name='log: MariaDB `mode: cdc` (binlog)'; key="-"; base_tps=- base_wal=- ;;
    mytrig) name='trigger: MariaDB `mode: trigger`, poll 1 s'; key="-"; base_tps=- base_wal=- ;;
    pgtrig) name='trigger: postgres `mode: trigger`, poll 1 s'; key="pg trigger"; read -r base_tps base_wal _ <<<"$(get_load "pg none-trigger-phase")" ;;
  esac
  read -r tps wal cpu scpu <<<"$(get_load "$key")"
  echo "| $name | $p50 | $p99 | $mx | $n | $base_tps → $tps | $base_wal → $wal | $cpu + $scpu |"
done
if [ "$PG_TRIGGER" != 1 ]; then
  echo '| trigger: postgres `mode: trigger` | not measured yet: this build has no postgres `mode: trigger` | | | | | | |'
fi
echo
echo "load figures: medians of $REPS repetitions of $LOAD_S s, conditions alternating; every run: $(for r in "${LOAD_ROWS[@]}"; do set -- $r; printf '%s %s=%s; ' "$1" "$2" "$3"; done)"
echo "SQLite, 100k rows inserted then updated by two statements in the sqlite3 shell: $SQLITE_BULK_BASE s without triggers, $SQLITE_BULK_TRIG s with them (sluice not running)."
echo "SQLite log rows written by the triggers and still held: $SQLITE_LOG_ROWS (deleted once a committed checkpoint passes them, when the source opens and between polls)."
echo
echo "| technique | hard DELETE (id 1) | soft delete (id 2) | inserted and deleted between passes (id 6) | TRUNCATE del_b (SQLite: DELETE FROM del_b) |"
echo "|---|---|---|---|---|"
for t in ${DEL_TECHS/query_rep /}; do
  case $t in log) name='log (`cdc`)' ;; query) name='query (`incremental`), changelog sink' ;; sqlite) name='trigger (sqlite)' ;; pgtrig) name='trigger (postgres)' ;; mylog) name='log (MariaDB `cdc`)' ;; mytrig) name='trigger (MariaDB)' ;; esac
  tr=$(seen "$t" del_b "true")
  [ -z "${FAILED[$t]:-}" ] || tr="the run stopped: ${FAILED[$t]}"
  echo "| $name | $(seen "$t" del_a "coalesce(after->>'id', before->>'id') = '1'") | $(seen "$t" del_a "coalesce(after->>'id', before->>'id') = '2'") | $(seen "$t" del_a "coalesce(after->>'id', before->>'id') = '6'") | $tr |"
done
REP_IDS=$(psql "$(with_db bench_cmp_rep_query)" -XAtq -c "SELECT string_agg(id::text, ',' ORDER BY id) FROM public.del_a")
REP_B=$(psql "$(with_db bench_cmp_rep_query)" -XAtq -c "SELECT count(*) FROM public.del_b")
has() { case ",$REP_IDS," in *",$1,"*) echo "id $1 $2 in the replica" ;; *) echo "id $1 $3 the replica" ;; esac; }
echo "| query (\`incremental\` + \`deleted_flag\`), replicate sink | $(has 1 'still' 'gone from') | $(has 2 'still' 'deleted from') | $(has 6 'in' 'not in') | del_b: $REP_B of 3 rows left in the replica |"
echo
echo "replica of del_a after the last pass, query + deleted_flag: ids $REP_IDS (source: 3,4,5 live, 2 soft-deleted)"
echo
echo "log-based TRUNCATE: sluice's log of the third pass $(grep -qi truncate "$WORK/del_log.err" && echo "warns: $(grep -i -m1 truncate "$WORK/del_log.err" | cut -c1-160)" || echo "has no TRUNCATE warning")"
echo
echo "events after the first pass, as op:id (c insert, u update, d delete); \"nothing\": no event reached the sink"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); load average at the end $(cut -d' ' -f1-3 /proc/loadavg); server: $(pg 'SHOW server_version') (fsync $(pg 'SHOW fsync'), synchronous_commit $(pg 'SHOW synchronous_commit')); SQLite $(sqlite3 --version | cut -d' ' -f1), journal_mode WAL"
