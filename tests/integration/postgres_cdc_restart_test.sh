#!/usr/bin/env bash
# PostgreSQL change data capture (postgres source mode: cdc) into SQLite (sqlite sink mode:
# replicate) while the sluice process is killed and while the PostgreSQL server restarts.
#
# The server is a private one (scripts/services/postgres.sh on port $SLUICE_PG_RESTART_PORT,
# default 54339, or one of the 9 after it when a concurrent run holds it), started and stopped by
# this script, because it is restarted under the runs.
# The source is a database of its own, owned by a role with a password that occurs nowhere else,
# so a leaked DSN would show in the output. Every check compares the replica with the source row
# by row: count and md5 of the rows in key order, rendered on the PostgreSQL side in the text
# form the sqlite sink stores (char(n) with its padding; timestamps as YYYY-MM-DD HH:MM:SS,
# .ffffff only when the fraction is not zero, Z for a timestamptz).
#
#  1. pgbench -i -s 2 (and a key for pgbench_history), then pgbench -c 4 -j 2 -T 20 under load
#     while one pipeline replicates the four pgbench tables into an SQLite file and is killed
#     with -9 five times: once after the first committed chunk of the initial copy, once soon
#     after the next start, then at random moments; a run with stop_at: caught_up then catches
#     up, and every table equals the source.
#  2. a streaming run (no stop_at) under a writer, while the server restarts with -m fast, then
#     with -m immediate (a crash and recovery): the run logs a retry each time, reconnects,
#     catches up (the replica equals the source), and SIGTERM ends it with exit 0.
#  3. a run started while the server is down fails (exit 1, status failed) with an error that
#     names the address and the connection refusal; a wrong password fails as an authentication
#     error; no password appears in any output.
#  4. the retry budget of a streaming run (max_attempts) counts failed attempts in a row, so a
#     run that reconnected and streamed survives more disconnects than max_attempts (marked
#     [BUG]: today the budget counts every attempt of the run's life).
#
# usage: bash postgres_cdc_restart_test.sh PATH_TO_SLUICE   (needs PostgreSQL server binaries)
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$HERE/../e2e/lib.sh" "$@" || exit 2

PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
if [ -z "$PGBIN" ] || [ ! -x "$PGBIN/pg_ctl" ]; then
  echo "skipped: PostgreSQL server binaries are not installed"
  exit 0
fi
PSQL=$(command -v psql || echo "$PGBIN/psql")
PGBENCH=$(command -v pgbench || echo "$PGBIN/pgbench")
command -v sqlite3 >/dev/null || { echo "skipped: the sqlite3 shell is not installed"; exit 0; }
SERVICE="$HERE/../../scripts/services/postgres.sh"

# The server is this run's alone: a run of this script holds the lock of its port (fd 9) to its
# end, and a second run at the same time (ctest in another checkout) takes the next free port.
PORT=
for p in $(seq "${SLUICE_PG_RESTART_PORT:-54339}" $(( ${SLUICE_PG_RESTART_PORT:-54339} + 9 ))); do
  exec 9>"/tmp/sluice-pg-$p.lock"
  if flock -n 9; then PORT=$p; break; fi
  exec 9>&-
done
[ -n "$PORT" ] || { echo "no free port for a private PostgreSQL server (all 10 are locked)"; exit 1; }
DATA="/tmp/sluice-pg-$PORT/data"
ADMIN="postgresql://sluice:sluice@127.0.0.1:$PORT/sluice"
ROLE="rst$$"
PASSWORD="Pw_$$_$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
SRC="postgresql://$ROLE:$PASSWORD@127.0.0.1:$PORT/rst_src"

# The server runs as the postgres user when we are root (PostgreSQL refuses root), from /: the
# test's directory is not readable by that user.
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}
# (9>&-: the server must not inherit the port's lock)
pg_ctl_() { as_pg "$PGBIN/pg_ctl" -D "$DATA" -l "/tmp/sluice-pg-$PORT/server.log" -w -t 60 "$@" >"$T/pg_ctl.log" 2>&1 9>&-; }
service() { (cd / && bash "$SERVICE" "$1" "$PORT") 9>&-; }

WORKERS=()  # background writers and pgbench
cleanup_all() {
  local p
  touch "$T/stop_writer" 2>/dev/null
  for p in "${WORKERS[@]+"${WORKERS[@]}"}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  _cleanup
  service stop >/dev/null 2>&1
}
trap cleanup_all EXIT

# A server still running on the port was left by a run that was killed (it no longer holds the
# lock): start afresh.
service stop >/dev/null 2>&1
if ! service start >"$T/service.log" 2>&1; then
  echo "cannot start the private PostgreSQL server on port $PORT:"
  cat "$T/service.log"
  exit 1
fi

admin() { "$PSQL" "$ADMIN" -XAtq -v ON_ERROR_STOP=1 -c "$1" 2>&1; }
src() { "$PSQL" "$SRC" -XAtq -v ON_ERROR_STOP=1 -c "$1" 2>&1; }
admin "CREATE ROLE $ROLE LOGIN REPLICATION PASSWORD '$PASSWORD'" >/dev/null
admin "CREATE DATABASE rst_src OWNER $ROLE" >/dev/null

# pipeline FILE NAME DB TABLES [extra source options]
pipeline() {
  cat >"$1" <<YAML
name: $2
source: { type: postgres, dsn: "$SRC", mode: cdc, tables: [$4], heartbeat_interval: 1s${5:+, $5} }
sink: { type: sqlite, path: "$3", mode: replicate }
commit_interval: { time: 1s }
retry: { max_attempts: 20, initial_backoff: 200ms, max_backoff: 2s }
YAML
}

# The key and each table's rows as text, on both sides: PG_EXPR renders a row of the source as
# the sqlite sink stores it, SQ_EXPR the same row of the replica. NULL is rendered as \N.
declare -A KEY PG_EXPR SQ_EXPR
# pg_col COLUMN [TYPE]: the PostgreSQL expression for one column's stored text
pg_col() {
  case "${2:-}" in
    # bpchar keeps its padding through its output function (concat); ::text would trim it.
    char) echo "CASE WHEN $1 IS NULL THEN '\\N' ELSE concat($1) END" ;;
    ts) echo "coalesce(to_char($1, 'YYYY-MM-DD HH24:MI:SS') || CASE WHEN extract(microseconds FROM $1)::bigint % 1000000 <> 0 THEN to_char($1, '.US') ELSE '' END, '\\N')" ;;
    tstz) echo "coalesce(to_char($1 AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') || CASE WHEN extract(microseconds FROM $1)::bigint % 1000000 <> 0 THEN to_char($1 AT TIME ZONE 'UTC', '.US') ELSE '' END || 'Z', '\\N')" ;;
    *) echo "coalesce($1::text, '\\N')" ;;
  esac
}
# table_def TABLE KEY COL[:TYPE]...
table_def() {
  local t=$1 c pg=() sq=()
  KEY[$t]=$2
  shift 2
  for c in "$@"; do
    pg+=("$(pg_col "${c%%:*}" "$([ "${c#*:}" != "$c" ] && echo "${c#*:}")")")
    sq+=("coalesce(\"${c%%:*}\", '\\N')")
  done
  PG_EXPR[$t]=$(join_cols "${pg[@]}")
  SQ_EXPR[$t]=$(join_cols "${sq[@]}")
}
# join_cols EXPR...: the expressions concatenated with '|' between them
join_cols() {
  local out=$1
  shift
  while [ $# -gt 0 ]; do out="$out || '|' || $1"; shift; done
  echo "$out"
}
table_def pgbench_accounts aid aid bid abalance filler:char
table_def pgbench_branches bid bid bbalance filler:char
table_def pgbench_tellers tid tid bid tbalance filler:char
table_def pgbench_history hid hid tid bid aid delta mtime:ts filler:char
table_def items id id v note ts:tstz

# dump_src TABLE / dump_dst DB TABLE: the rows in key order, one line each
dump_src() { "$PSQL" "$SRC" -XAtq -c "SELECT ${PG_EXPR[$1]} FROM public.$1 ORDER BY ${KEY[$1]}" 2>&1; }
dump_dst() { sqlite3 -readonly -batch -noheader "$1" "SELECT ${SQ_EXPR[$2]} FROM \"$2\" ORDER BY \"${KEY[$2]}\"" 2>&1; }
rows_sum() { echo "$(wc -l <"$1") $(md5sum <"$1" | cut -c1-32)"; }
# same_rows DB TABLE: the replica holds the source's rows
same_rows() {
  dump_src "$2" >"$T/same_src" && dump_dst "$1" "$2" >"$T/same_dst" && cmp -s "$T/same_src" "$T/same_dst"
}
# check_same DESC DB TABLE
check_same() {
  dump_src "$3" >"$T/diff_src_$3"
  dump_dst "$2" "$3" >"$T/diff_dst_$3"
  local s d
  s=$(rows_sum "$T/diff_src_$3")
  d=$(rows_sum "$T/diff_dst_$3")
  check_eq "$1: $3 replica = source ($s)" "$s" "$d"
  if [ "$s" != "$d" ]; then  # what differs, for the log: the first rows of a diff in key order
    echo "  rows that differ (< source, > replica): $(diff "$T/diff_src_$3" "$T/diff_dst_$3" | grep -c '^[<>]')"
    diff "$T/diff_src_$3" "$T/diff_dst_$3" | grep '^[<>]' | head -6 | sed 's/^/    /'
  fi
}
# sqlite_has DB SQL: the query returns a row (a missing table or a busy file is "no")
sqlite_has() { [ -f "$1" ] && [ -n "$(sqlite3 -readonly -batch -noheader "$1" "$2" 2>/dev/null)" ]; }

# ---------------------------------------------------------------------------------------------
section "pgbench under load into SQLite, the pipeline killed with -9 5 times"
"$PGBENCH" -i -s 2 -q "$SRC" >"$T/pgbench_init.log" 2>&1 || nok "pgbench -i" "$(tail -5 "$T/pgbench_init.log")"
# pgbench_history has no key: give it one (pgbench's inserts name their columns).
src "ALTER TABLE pgbench_history ADD COLUMN hid bigserial PRIMARY KEY" >/dev/null
PB="$T/pb.yaml"
PBDB="$T/pb.db"
# Chunks of 5000 keys, a commit about every chunk: the copy of pgbench_accounts (200000 rows) is
# 40 chunks and commits, so a kill can come after some of them.
pipeline "$PB" pb "$PBDB" "public.pgbench_accounts, public.pgbench_branches, public.pgbench_tellers, public.pgbench_history" "page_size: 5000"
sed -i 's/commit_interval: { time: 1s }/commit_interval: { rows: 5000, time: 1s }/' "$PB"
"$PGBENCH" -n -c 4 -j 2 -T 20 "$SRC" >"$T/pgbench.log" 2>&1 &
PGB=$!
WORKERS+=("$PGB")
KILLS=0
MID_COPY=0
RESUMED=0
for round in 1 2 3 4 5; do
  start_bg "$T/pb.out.$round" "$T/pb.err.$round" run "$PB" --json
  case $round in
    1)  # after the first committed chunk of pgbench_accounts, before the copy ends
      wait_for 30 sqlite_has "$PBDB" "SELECT 1 FROM _sluice_state WHERE stream = 'pgbench_accounts'
        AND value LIKE '%\"snapshot\":\"running\"%' AND value LIKE '%\"last_key\"%'" && MID_COPY=1 ;;
    2)  # early: soon after the start, while the copy goes on
      wait_for 30 grep -q 'postgres cdc: streaming' "$T/pb.err.$round"
      rand_sleep 50 600 ;;
    *) rand_sleep 500 4000 ;;
  esac
  kill -9 "$BG"
  wait_bg "$BG"
  KILLS=$((KILLS + 1))
  [ "$round" = 2 ] && grep -qE 'snapshot of "public"."pgbench_accounts" .*after_rows=[1-9]' "$T/pb.err.$round" && RESUMED=1
  if [ "$round" = 1 ] && [ "$MID_COPY" = 1 ]; then
    echo "  (first kill with $(sqlite3 "$PBDB" 'SELECT count(*) FROM pgbench_accounts' 2>/dev/null) of 200000 accounts in the replica)"
  fi
done
check_eq "the first kill came during the initial copy, after a committed chunk" "1" "$MID_COPY"
check_eq "the next run resumed the copy after the committed chunks (after_rows > 0)" "1" "$RESUMED"
wait "$PGB"
check_eq "pgbench ran to its end" "0" "$?"
echo "  ($(grep -E '^number of transactions actually processed' "$T/pgbench.log"))"
sed -i 's/heartbeat_interval: 1s/heartbeat_interval: 1s, stop_at: caught_up/' "$PB"
run_sluice_timeout 300 run "$PB" --json
parse_summary "$OUT"
check_eq "after $KILLS kills a caught-up run ends ok" "0 ok" "$RC $J_status"
[ "$RC" = 0 ] || echo "$ERR" | tail -5 | sed 's/^/    /'
check_eq "nothing was quarantined" "0" "$J_rows_quarantined"
for t in pgbench_accounts pgbench_branches pgbench_tellers pgbench_history; do
  check_same "pgbench, $KILLS kills" "$PBDB" "$t"
done
run_json "$PB"
check_eq "a run with nothing new loads nothing" "ok 0" "$J_status $J_rows_out"

# ---------------------------------------------------------------------------------------------
section "the server restarts (-m fast, then -m immediate) under a streaming run"
src "CREATE TABLE items (id int PRIMARY KEY, v int NOT NULL, note text, ts timestamptz DEFAULT now());
     INSERT INTO items SELECT g, 0, 'row ' || g, '2026-01-01 00:00:00+00'::timestamptz + g * interval '1.5 s'
     FROM generate_series(1, 2000) g;" >/dev/null
ST="$T/st.yaml"
STDB="$T/st.db"
pipeline "$ST" st "$STDB" "public.items"
start_bg "$T/st.out" "$T/st.err" run "$ST" --json
STPID=$BG
check "the streaming run copied the table" wait_for 60 same_rows "$STDB" items
kill -0 "$STPID" 2>/dev/null || nok "the streaming run ended early" "$(tail -5 "$T/st.err")"
# The writer: one transaction per psql call (an insert, an update of an older row, now and then a
# delete), going on while the server is down (those calls fail, which is fine: the replica is
# compared with what the source holds).
writer() {
  local i=3000
  while [ ! -f "$T/stop_writer" ]; do
    i=$((i + 1))
    "$PSQL" "$SRC" -XAtq -c "INSERT INTO items (id, v, note) VALUES ($i, 1, 'w$i');
      UPDATE items SET v = v + 1, ts = clock_timestamp() WHERE id = $(( (i * 37) % 2000 + 1 ));
      DELETE FROM items WHERE id = $(( i - 40 )) AND $(( i % 7 )) = 0" >/dev/null 2>&1 && echo "$i" >>"$T/writer.ok"
    sleep 0.02
  done
}
rm -f "$T/stop_writer"
writer &
WRITER=$!
WORKERS+=("$WRITER")
sleep 2
pg_ctl_ -m fast restart
check_eq "pg_ctl restart -m fast" "0" "$?"
sleep 3
pg_ctl_ -m immediate restart
check_eq "pg_ctl restart -m immediate (crash, recovery)" "0" "$?"
BEFORE=$(wc -l <"$T/writer.ok")
sleep 3
touch "$T/stop_writer"
wait "$WRITER"
AFTER=$(wc -l <"$T/writer.ok")
check "the writer wrote after the second restart ($((AFTER - BEFORE)) transactions)" test "$AFTER" -gt "$BEFORE"
src "INSERT INTO items (id, v, note) VALUES (-1, 0, 'last')" >/dev/null
check "the running pipeline reconnected and caught up: the replica equals the source" \
  wait_for 90 same_rows "$STDB" items
check_same "after two server restarts" "$STDB" items
check "the run is still running" kill -0 "$STPID"
RETRIES=$(grep -c 'transient error; retrying from the last checkpoint' "$T/st.err")
STREAMS=$(grep -c 'postgres cdc: streaming' "$T/st.err")
check "it logged a retry for each restart ($RETRIES retries)" test "$RETRIES" -ge 2
check "... and streamed again after each (streaming $STREAMS times)" test "$STREAMS" -ge 3
kill -TERM "$STPID"
wait_bg "$STPID"
check_eq "SIGTERM ends the streaming run with exit 0" "0" "$BG_RC"
check_not_contains "no password in the streaming run's output" "$(cat "$T/st.out" "$T/st.err")" "$PASSWORD"

# ---------------------------------------------------------------------------------------------
section "a run while the server is down; a wrong password"
pg_ctl_ -m fast stop
check_eq "pg_ctl stop" "0" "$?"
DOWN="$T/down.yaml"
pipeline "$DOWN" st "$STDB" "public.items"
sed -i 's/retry: .*/retry: { max_attempts: 2, initial_backoff: 200ms, max_backoff: 500ms }/' "$DOWN"
run_sluice_timeout 60 run "$DOWN" --json
parse_summary "$OUT"
check_eq "a run against a stopped server fails (exit 1, status failed)" "1 failed" "$RC $J_status"
check_contains "the error names the server's address" "$J_error" "cannot connect to 127.0.0.1:$PORT"
check_contains "... and the refused connection" "$J_error" "Connection refused"
check_contains "stderr says so too" "$ERR" "run failed: source: postgres: cannot connect to 127.0.0.1:$PORT"
check_not_contains "no password on stdout" "$OUT" "$PASSWORD"
check_not_contains "no password on stderr" "$ERR" "$PASSWORD"
run_sluice_timeout 60 check "$DOWN"
check_eq "check against a stopped server exits 1" "1" "$RC"
check_contains "... naming the address" "$OUT$ERR" "127.0.0.1:$PORT"
check_not_contains "... without the password" "$OUT$ERR" "$PASSWORD"
pg_ctl_ start
check_eq "pg_ctl start" "0" "$?"
WRONG="Wrong_$$_pw"
sed "s|$PASSWORD|$WRONG|" "$DOWN" >"$T/wrong.yaml"
run_sluice_timeout 60 run "$T/wrong.yaml" --json
parse_summary "$OUT"
check_eq "a wrong password fails the run" "1 failed" "$RC $J_status"
check_contains "... as an authentication failure" "$J_error" "password authentication failed"
check_not_contains "... without the password" "$OUT$ERR" "$WRONG"
check_not_contains "... or the right one" "$OUT$ERR" "$PASSWORD"
# The pipeline itself resumes from where the streaming run stopped.
src "UPDATE items SET note = 'after the outage' WHERE id <= 10" >/dev/null
sed -i 's/heartbeat_interval: 1s/heartbeat_interval: 1s, stop_at: caught_up/' "$ST"
run_json "$ST"
check_eq "after the outage a caught-up run ends ok" "ok" "$J_status"
check_same "after the outage" "$STDB" items

# ---------------------------------------------------------------------------------------------
section "the retry budget of a streaming run counts failed attempts in a row"
# Each server restart costs a streaming run at least one failed attempt (more while the server is
# still down). With the budget counted over the run's whole life, a pipeline meant to stream for
# months stops for good at its max_attempts-th outage (5 by default), however long it streamed
# in between. Here the disruption is the walsender terminated (pg_terminate_backend): the server
# stays up, so each one costs exactly one attempt, and the reconnect succeeds the first time.
BUD="$T/budget.yaml"
pipeline "$BUD" budget "$T/budget.db" "public.pgbench_branches"
sed -i 's/retry: .*/retry: { max_attempts: 2, initial_backoff: 200ms, max_backoff: 1s }/' "$BUD"
start_bg "$T/budget.out" "$T/budget.err" run "$BUD" --json
BUDPID=$BG
# streaming: the run holds the slot and its replica has the source's rows; or the run has ended
streaming() {
  ! kill -0 "$BUDPID" 2>/dev/null ||
    { [ -n "$(admin "SELECT 1 FROM pg_replication_slots WHERE slot_name = 'sluice_budget' AND active_pid IS NOT NULL")" ] &&
      same_rows "$T/budget.db" pgbench_branches; }
}
SURVIVED=0
wait_for 60 streaming
for i in 1 2 3; do
  admin "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = 'sluice_budget'" >/dev/null
  src "UPDATE pgbench_branches SET bbalance = bbalance + 1" >/dev/null
  wait_for 30 streaming
  sleep 1.5  # a heartbeat commit after the reconnect
  kill -0 "$BUDPID" 2>/dev/null && streaming || break
  SURVIVED=$((SURVIVED + 1))
done
check_eq "a run with max_attempts: 2 reconnects after each of 3 disconnects with streaming between" "3" "$SURVIVED" bug
if [ "$SURVIVED" != 3 ]; then
  grep -E 'warn|error' "$T/budget.err" | tail -3 | sed 's/^/    /'
fi
kill -TERM "$BUDPID" 2>/dev/null
wait_bg "$BUDPID"

finish
