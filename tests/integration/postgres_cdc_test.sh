#!/usr/bin/env bash
# PostgreSQL change data capture (postgres source mode: cdc) into a PostgreSQL replica (postgres
# sink mode: replicate), against the real server of scripts/services/postgres.sh.
#
# The source tables live in a database of their own (cdc_src_<pid>), the replicas in a schema of
# the `sluice` database (cdc_dst_<pid>). Every check compares the replica with the source row by
# row: count and md5 of string_agg(row::text ORDER BY key). Slots, publications, the source
# database, the replica schema and the state rows are dropped at the end (slots retain WAL).
#
#  1. snapshot then stream: inserts, updates, deletes, a TOASTed text left unchanged by an update
#     of another column, a key change, ADD COLUMN and DROP COLUMN, a multi-table transaction;
#     `check` warns about a table without primary key; a second run with nothing new loads nothing.
#  1b. a watermark snapshot (chunks of 25 keys) of a 30000-row table while a writer updates,
#     deletes, inserts and re-keys rows, each pipeline killed with -9 mid-copy three times, into a
#     replicate sink (the replica equals the source) and a changelog sink (each (key, commit LSN)
#     once, and the last event of every key is the source's row); then a table added to tables:
#     is copied on its own while the other streams.
#  2. the walsender is terminated (pg_terminate_backend) under a running `sluice run`: the run
#     retries, catches up, and SIGTERM ends it with exit 0.
#  3. pgbench -i, then pgbench under load while four pipelines (one per pgbench table) are killed
#     with -9 at random moments, several times; then each catches up: every table matches.
#  4. a lost slot (dropped while the sink holds positions) fails with how to recover;
#     `sluice cdc drop-slot` drops slot and publication.
#
# usage: bash postgres_cdc_test.sh PATH_TO_SLUICE   (env SLUICE_PG_DSN; SLUICE_LONG=1: more kills)
source "$(dirname "${BASH_SOURCE[0]}")/../e2e/lib.sh" "$@" || exit 2

if [ -z "${SLUICE_PG_DSN:-}" ]; then
  echo "skipped: SLUICE_PG_DSN is not set (scripts/services/up.sh starts the server)"
  exit 0
fi
command -v psql >/dev/null || { echo "skipped: psql is not installed"; exit 0; }
PGBENCH=$(command -v pgbench || ls /usr/lib/postgresql/*/bin/pgbench 2>/dev/null | tail -1)

TAG="cdct$$"
SRCDB="cdc_src_$$"
DST="cdc_dst_$$"
# The source DSN: the same server, the test's own database.
SRC=$(python3 -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/" + sys.argv[2])))' "$SLUICE_PG_DSN" "$SRCDB")
if [ "$LONG" = 1 ]; then ROUNDS=12; else ROUNDS=5; fi

pg() { psql "$SLUICE_PG_DSN" -XAtq -v ON_ERROR_STOP=1 -c "$1" 2>&1; }
src() { psql "$SRC" -XAtq -v ON_ERROR_STOP=1 -c "$1" 2>&1; }
# has_row SQL: the query (on the sluice database) returns a row
has_row() { [ -n "$(pg "$1")" ]; }

cleanup_pg() {
  local i
  for i in $(seq 1 50); do
    pg "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name LIKE 'sluice_${TAG}%' AND active_pid IS NOT NULL" >/dev/null
    pg "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name LIKE 'sluice_${TAG}%' AND NOT active" >/dev/null
    [ "$(pg "SELECT count(*) FROM pg_replication_slots WHERE slot_name LIKE 'sluice_${TAG}%'")" = 0 ] && break
    sleep 0.1
  done
  pg "DROP DATABASE IF EXISTS $SRCDB WITH (FORCE)" >/dev/null
  pg "DROP SCHEMA IF EXISTS $DST CASCADE" >/dev/null
  pg "DROP ROLE IF EXISTS ${TAG}_norepl" >/dev/null
  pg "DELETE FROM _sluice_state WHERE pipeline LIKE '${TAG}%'" >/dev/null
}
trap 'cleanup_pg; _cleanup' EXIT

pg "CREATE DATABASE $SRCDB" >/dev/null
pg "CREATE SCHEMA $DST" >/dev/null

# pipeline DIR NAME KEY TABLES [extra source options]
pipeline() {
  mkdir -p "$1"
  cat >"$1/pipeline.yaml" <<YAML
name: ${TAG}_$2
source: { type: postgres, dsn: "$SRC", mode: cdc, tables: [$4], heartbeat_interval: 1s${5:+, $5} }
sink: { type: postgres, dsn: "\${SLUICE_PG_DSN}", table: "$DST.{stream}", mode: replicate, key: [$3] }
commit_interval: { time: 1s }
retry: { max_attempts: 20, max_backoff: 2s }
YAML
}

# rows_sum DSN TABLE KEY -> "count|md5" of the rows in key order
rows_sum() {
  psql "$1" -XAtq -c "SELECT count(*), coalesce(md5(string_agg(t::text, '|' ORDER BY t.\"$3\")), '') FROM $2 t" 2>&1
}
# same_rows TABLE KEY [SRC_TABLE]: the replica of TABLE has the source's rows
same_rows() {
  [ "$(rows_sum "$SRC" "public.${3:-$1}" "$2")" = "$(rows_sum "$SLUICE_PG_DSN" "$DST.$1" "$2")" ]
}
check_same() {
  local s d
  s=$(rows_sum "$SRC" "public.$2" "$3")
  d=$(rows_sum "$SLUICE_PG_DSN" "$DST.$2" "$3")
  check_eq "$1: $2 replica = source ($s)" "$s" "$d"
  if [ "$s" != "$d" ]; then  # what differs, for the log: the first rows of a diff in key order
    psql "$SRC" -XAtq -c "SELECT t::text FROM public.$2 t ORDER BY t.\"$3\"" >"$T/diff_src_$2" 2>&1
    psql "$SLUICE_PG_DSN" -XAtq -c "SELECT t::text FROM $DST.$2 t ORDER BY t.\"$3\"" >"$T/diff_dst_$2" 2>&1
    echo "  rows that differ (< source, > replica): $(diff "$T/diff_src_$2" "$T/diff_dst_$2" | grep -c '^[<>]')"
    diff "$T/diff_src_$2" "$T/diff_dst_$2" | grep '^[<>]' | head -6 | sed 's/^/    /'
  fi
}

# ---------------------------------------------------------------------------------------------
section "snapshot, then inserts, updates, deletes, TOAST, key change, schema changes"
src "CREATE TABLE items (id int PRIMARY KEY, name text, amount numeric(12,2), doc text, ts timestamptz, raw bytea, flag bool);
     ALTER TABLE items ALTER COLUMN doc SET STORAGE EXTERNAL;  -- out of line, uncompressed: TOASTed
     INSERT INTO items SELECT g, 'item ' || g, g * 1.25, CASE WHEN g % 100 = 0 THEN repeat(md5(g::text), 4000) END,
       '2026-01-01 00:00:00+00'::timestamptz + g * interval '1 minute', decode(lpad(to_hex(g), 8, '0'), 'hex'), g % 2 = 0
     FROM generate_series(1, 3000) g;
     CREATE TABLE tags (id text PRIMARY KEY, n int);
     INSERT INTO tags VALUES ('a', 1), ('b', 2);
     CREATE TABLE nokey (v int);" >/dev/null
P1="$T/p1"
pipeline "$P1" basic id "public.items, public.tags" "stop_at: caught_up"
run_sluice check "$P1/pipeline.yaml"
check_contains "check shows the slot to create" "$OUT" "slot sluice_${TAG}_basic (created by the first run)"
check_contains "check names each stream after its table" "$OUT" "\"public\".\"items\" -> stream items"
pipeline "$T/pk" nokey id "public.nokey"
run_sluice check "$T/pk/pipeline.yaml"
check_contains "check warns about a table without primary key or REPLICA IDENTITY FULL" "$OUT" "REPLICA IDENTITY FULL"
check_eq "check creates no slot" "0" "$(pg "SELECT count(*) FROM pg_replication_slots WHERE slot_name LIKE 'sluice_${TAG}%'")"
# A role without REPLICATION: check says what to grant.
pg "CREATE ROLE ${TAG}_norepl LOGIN PASSWORD 'norepl'" >/dev/null
NOREPL=$(python3 -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(netloc="'${TAG}_norepl':norepl@" + p.hostname + ":" + str(p.port))))' "$SRC")
mkdir -p "$T/norepl"
sed "s|dsn: \"$SRC\"|dsn: \"$NOREPL\"|" "$P1/pipeline.yaml" >"$T/norepl/pipeline.yaml"
run_sluice check "$T/norepl/pipeline.yaml"
check_eq "check fails for a role without REPLICATION" "1" "$RC"
check_contains "... and says what to grant" "$ERR" "ALTER ROLE \"${TAG}_norepl\" REPLICATION"

run_json "$P1/pipeline.yaml"
check_eq "first run: snapshot of 3002 rows" "ok 3002" "$J_status $J_rows_out"
check_same "after the snapshot" items id
check_same "after the snapshot" tags id

src "UPDATE items SET name = 'renamed' WHERE id % 100 = 0;                 -- doc is TOASTed and unchanged
     UPDATE items SET amount = amount + 1, flag = NOT flag WHERE id BETWEEN 1 AND 500;
     DELETE FROM items WHERE id BETWEEN 1000 AND 1200;
     INSERT INTO items SELECT g, 'new ' || g, 0.01, repeat('z', 50000), now(), NULL, NULL FROM generate_series(5001, 5100) g;
     BEGIN; UPDATE items SET id = 9000 WHERE id = 2000; UPDATE tags SET n = n + 10; INSERT INTO tags VALUES ('c', 3); COMMIT;
     UPDATE items SET id = 9100, doc = 'moved' WHERE id = 2100;
     INSERT INTO items (id, name) VALUES (7000, 'gone soon'); DELETE FROM items WHERE id = 7000;
     DELETE FROM tags WHERE id = 'a';" >/dev/null
run_json "$P1/pipeline.yaml"
check_eq "second run: the changes" "ok" "$J_status"
check_identity "second run"
check_same "after changes" items id
check_same "after changes" tags id
check_eq "the TOASTed value survived an update of another column" "renamed 128000" \
  "$(pg "SELECT name || ' ' || length(doc) FROM $DST.items WHERE id = 300")"

src "ALTER TABLE items ADD COLUMN note text;
     UPDATE items SET note = 'n' || id WHERE id BETWEEN 2500 AND 2510;
     INSERT INTO items (id, name, note) VALUES (8000, 'with note', 'hello');" >/dev/null
run_json "$P1/pipeline.yaml"
check_eq "ADD COLUMN: the run loads the new column" "ok hello" "$J_status $(pg "SELECT note FROM $DST.items WHERE id = 8000")"
check_same "after ADD COLUMN" items id

src "ALTER TABLE items DROP COLUMN note; UPDATE items SET name = 'after drop' WHERE id = 2505;
     ALTER TABLE items ALTER COLUMN amount TYPE numeric(14,3); UPDATE items SET amount = 1.125 WHERE id = 2506;" >/dev/null
run_json "$P1/pipeline.yaml"
check_eq "DROP COLUMN and a type change: the run goes on" "ok" "$J_status"
check_eq "rows after DROP COLUMN" "after drop" "$(pg "SELECT name FROM $DST.items WHERE id = 2505")"
# The stream's schema follows the type change, and the sink widens its column (evolve): no rounding.
check_contains "the type change gives the stream a new schema" "$ERR" "amount decimal(14,3)"
check_eq "the replica's column is widened, the value is not rounded" "1.125" "$(pg "SELECT amount FROM $DST.items WHERE id = 2506")"

run_json "$P1/pipeline.yaml"
check_eq "a run with nothing new loads nothing" "ok 0" "$J_status $J_rows_out"

section "a partitioned table"
src "CREATE TABLE events (id int, region text, v int, PRIMARY KEY (id, region)) PARTITION BY LIST (region);
     CREATE TABLE events_eu PARTITION OF events FOR VALUES IN ('eu');
     CREATE TABLE events_us PARTITION OF events FOR VALUES IN ('us');
     INSERT INTO events SELECT g, CASE WHEN g % 2 = 0 THEN 'eu' ELSE 'us' END, g FROM generate_series(1, 100) g;" >/dev/null
pipeline "$T/part" part "id, region" "public.events" "stop_at: caught_up"
run_json "$T/part/pipeline.yaml"
check_eq "partitioned table: snapshot" "ok 100" "$J_status $J_rows_out"
src "UPDATE events SET v = -v WHERE id <= 10; DELETE FROM events WHERE id > 90; INSERT INTO events VALUES (500, 'eu', 5)" >/dev/null
run_json "$T/part/pipeline.yaml"
check_eq "partitioned table: the changes of its partitions" "ok" "$J_status"
check_same "partitioned table" events id

# ---------------------------------------------------------------------------------------------
section "watermark snapshot under a concurrent writer, kill -9 mid-copy: replicate and changelog sinks"
src "CREATE TABLE big (id int PRIMARY KEY, v int, note text);
     INSERT INTO big SELECT g, 0, md5(g::text) FROM generate_series(1, 30000) g;" >/dev/null
P3="$T/p3"
pipeline "$P3" resume id "public.big" "page_size: 25"
sed -i 's/commit_interval: { time: 1s }/commit_interval: { rows: 300 }/' "$P3/pipeline.yaml"
# The same table into a changelog: one row per event (_sluice_seq, op, before, after, source).
P4="$T/p4"
pipeline "$P4" log id "public.big" "page_size: 25"
sed -i -e 's/commit_interval: { time: 1s }/commit_interval: { rows: 300 }/' \
  -e "s/table: \"$DST.{stream}\", mode: replicate, key: \[id\]/table: \"$DST.{stream}_log\", mode: changelog/" "$P4/pipeline.yaml"
# The writer: one statement per transaction (so a key appears once per commit LSN): updates,
# deletes, inserts, key changes, spread over the copy.
awk 'BEGIN { srand(7); for (i = 1; i <= 1500; i++) {
  k = int(rand() * 31000) + 1
  r = i % 5
  if (r == 0) printf "UPDATE big SET v = v + 1 WHERE id = %d;\n", k
  else if (r == 1) printf "DELETE FROM big WHERE id = %d;\n", k
  else if (r == 2) printf "INSERT INTO big VALUES (%d, -1, %c%s%c) ON CONFLICT (id) DO UPDATE SET v = big.v + 100;\n", 30000 + i, 39, "w" i, 39
  else if (r == 3) printf "UPDATE big SET id = %d WHERE id = %d;\n", 40000 + i, k
  else printf "UPDATE big SET note = %cn%d%c, v = v * 2 WHERE id = %d;\n", 39, i, 39, k
  if (i % 25 == 0) print "SELECT pg_sleep(0.05);"
} }' >"$T/writer.sql"
psql "$SRC" -XAtq -f "$T/writer.sql" >"$T/writer.log" 2>&1 &
WRITER=$!
KILLED=0
for p in "$P3" "$P4"; do
  name=$([ "$p" = "$P3" ] && echo resume || echo log)
  start_bg "$p/run.out" "$p/run.err" run "$p/pipeline.yaml" --json
  if wait_for 120 has_row "SELECT 1 FROM _sluice_state WHERE pipeline = '${TAG}_$name' AND value LIKE '%\"last_key\"%' AND value LIKE '%\"snapshot\":\"running\"%'"; then
    KILLED=$((KILLED + 1))
  fi
  kill -9 "$BG"
  wait_bg "$BG"
done
check_eq "both runs were killed mid-copy, after a committed chunk" "2" "$KILLED"
echo "  (killed after $(pg "SELECT count(*) FROM $DST.big" 2>/dev/null) of 30000 rows were in the replica)"
# Killed again, while the writer goes on: the copy resumes each time from the last committed chunk.
RESUMED=0
for round in 1 2; do
  for p in "$P3" "$P4"; do
    start_bg "$p/run.out" "$p/run.err" run "$p/pipeline.yaml" --json
    [ "$round" = 1 ] && wait_for 60 grep -q 'snapshot of' "$p/run.err"
    rand_sleep 200 800
    kill -9 "$BG"
    wait_bg "$BG"
    [ "$round" = 1 ] && grep -qE 'snapshot of .*after_rows=[1-9]' "$p/run.err" && RESUMED=$((RESUMED + 1))
  done
done
check_eq "both restarted copies resumed after their committed chunks (after_rows > 0)" "2" "$RESUMED"
wait "$WRITER"
check_eq "the writer ran to its end" "0" "$?"
for p in "$P3" "$P4"; do sed -i 's/heartbeat_interval: 1s/heartbeat_interval: 1s, stop_at: caught_up/' "$p/pipeline.yaml"; done
run_json "$P3/pipeline.yaml"
check_eq "replicate: the resumed run ends ok" "ok" "$J_status"
check_same "replicate: resumed copy, with the changes made meanwhile" big id
run_json "$P4/pipeline.yaml"
check_eq "changelog: the resumed run ends ok" "ok" "$J_status"
LOG="$DST.big_log"
check_eq "changelog: each (key, commit LSN) appears once" "0" \
  "$(pg "SELECT count(*) FROM (SELECT coalesce(after->>'id', before->>'id'), source->>'position' FROM $LOG
         GROUP BY 1, 2 HAVING count(*) > 1) d")"
check_eq "changelog: snapshot rows carry op r" "t" "$(pg "SELECT count(*) > 0 FROM $LOG WHERE op = 'r'")"
check_eq "changelog: no key is read twice by the copy" "0" \
  "$(pg "SELECT count(*) FROM (SELECT after->>'id' FROM $LOG WHERE op = 'r' GROUP BY 1 HAVING count(*) > 1) d")"
# The last event of each key, applied: the source's rows exactly.
SRC_ROWS=$(src "SELECT count(*) || ' ' || md5(coalesce(string_agg(id || '|' || v || '|' || coalesce(note, ''), ',' ORDER BY id), '')) FROM big")
LOG_ROWS=$(pg "WITH ev AS (SELECT DISTINCT ON (k) k, op, after FROM
                 (SELECT coalesce(after->>'id', before->>'id')::int k, op, after, _sluice_seq FROM $LOG) x
                 ORDER BY k, _sluice_seq DESC)
               SELECT count(*) || ' ' || md5(coalesce(string_agg(k || '|' || (after->>'v') || '|' || coalesce(after->>'note', ''), ',' ORDER BY k), ''))
               FROM ev WHERE op <> 'd'")
check_eq "changelog: every row's last event is its final state ($SRC_ROWS)" "$SRC_ROWS" "$LOG_ROWS"

section "a table added to tables: later is copied on its own while the other streams"
src "CREATE TABLE later (id int PRIMARY KEY, v text); INSERT INTO later SELECT g, 'l' || g FROM generate_series(1, 5000) g;" >/dev/null
sed -i -e 's/tables: \[public.big\]/tables: [public.big, public.later]/' -e 's/, stop_at: caught_up//' "$P3/pipeline.yaml"
start_bg "$P3/run.out" "$P3/run.err" run "$P3/pipeline.yaml" --json
for i in $(seq 1 40); do
  src "UPDATE big SET v = v + 1 WHERE id = $((i * 37)); INSERT INTO later VALUES ($((6000 + i)), 'new'); UPDATE later SET v = 'u' WHERE id = $((i * 91))" >/dev/null
  sleep 0.05
done
check "the added table is copied" wait_for 120 same_rows later id
check "the other table kept streaming" wait_for 60 same_rows big id
kill -TERM "$BG"
wait_bg "$BG"
check_eq "SIGTERM ends the run with exit 0" "0" "$BG_RC"
check_contains "the added table has its own snapshot" "$(cat "$P3/run.err")" 'snapshot of "public"."later"'
check_not_contains "the other table is not copied again" "$(cat "$P3/run.err")" 'snapshot of "public"."big"'

# ---------------------------------------------------------------------------------------------
section "the walsender is terminated under a running pipeline"
P2="$T/p2"
pipeline "$P2" term id "public.tags"
start_bg "$P2/run.out" "$P2/run.err" run "$P2/pipeline.yaml" --json
wait_for 60 has_row "SELECT 1 FROM pg_replication_slots WHERE slot_name = 'sluice_${TAG}_term' AND active_pid IS NOT NULL" \
  && wait_for 60 same_rows tags id
check "the streaming run copied the table" same_rows tags id
src "INSERT INTO tags VALUES ('t1', 1)" >/dev/null
check "a change streams while the run goes on" wait_for 60 same_rows tags id
# WAL written by tables outside the publication: heartbeats move the slot past it.
src "INSERT INTO nokey SELECT generate_series(1, 1000)" >/dev/null
QUIET_LSN=$(src "SELECT pg_current_wal_insert_lsn()")
check "heartbeats advance the slot over WAL of other tables" wait_for 60 has_row \
  "SELECT 1 FROM pg_replication_slots WHERE slot_name = 'sluice_${TAG}_term' AND confirmed_flush_lsn >= '$QUIET_LSN'"
check "... and the sink's position with it" wait_for 60 has_row \
  "SELECT 1 FROM _sluice_state WHERE pipeline = '${TAG}_term' AND stream = 'tags' AND (value::json->>'end_lsn')::pg_lsn >= '$QUIET_LSN'"
pg "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = 'sluice_${TAG}_term'" >/dev/null
src "INSERT INTO tags VALUES ('t2', 2); UPDATE tags SET n = 99 WHERE id = 'b'" >/dev/null
check "after pg_terminate_backend the run reconnects and catches up" wait_for 60 same_rows tags id
kill -TERM "$BG"
wait_bg "$BG"
check_eq "SIGTERM ends the streaming run with exit 0" "0" "$BG_RC"
check_contains "the retry is logged" "$(cat "$P2/run.err")" "retrying from the last checkpoint"

# ---------------------------------------------------------------------------------------------
section "pgbench under load, four pipelines killed with -9 $ROUNDS times"
if [ -z "$PGBENCH" ]; then
  nok "pgbench is not installed"
else
  "$PGBENCH" -i -s 2 -q "$SRC" >"$T/pgbench_init.log" 2>&1 || nok "pgbench -i" "$(tail -5 "$T/pgbench_init.log")"
  # pgbench_history has no key: give it one (its inserts name their columns).
  src "ALTER TABLE pgbench_history ADD COLUMN hid bigserial PRIMARY KEY" >/dev/null
  declare -A KEYS=([pgbench_accounts]=aid [pgbench_tellers]=tid [pgbench_branches]=bid [pgbench_history]=hid)
  for t in "${!KEYS[@]}"; do pipeline "$T/pb_$t" "pb_$t" "${KEYS[$t]}" "public.$t"; done
  "$PGBENCH" -n -c 4 -j 2 -T 30 "$SRC" >"$T/pgbench.log" 2>&1 &
  PGB=$!
  KILLS=0
  for round in $(seq 1 "$ROUNDS"); do
    PIDS=()
    for t in "${!KEYS[@]}"; do
      start_bg "$T/pb_$t/run.out" "$T/pb_$t/run.err" run "$T/pb_$t/pipeline.yaml" --json
      PIDS+=("$BG")
    done
    rand_sleep 300 4000
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; wait_bg "$p"; done
    KILLS=$((KILLS + 1))
  done
  wait "$PGB"
  check_eq "pgbench ran to its end" "0" "$?"
  echo "  ($(grep -E '^number of transactions actually processed' "$T/pgbench.log"))"
  for t in "${!KEYS[@]}"; do
    sed -i 's/heartbeat_interval: 1s/heartbeat_interval: 1s, stop_at: caught_up/' "$T/pb_$t/pipeline.yaml"
    run_sluice_timeout 600 run "$T/pb_$t/pipeline.yaml" --json
    parse_summary "$OUT"
    check_eq "$t: after $KILLS kills a caught-up run ends ok" "0 ok" "$RC $J_status"
    check_same "pgbench, $KILLS kills" "$t" "${KEYS[$t]}"
  done
fi

# ---------------------------------------------------------------------------------------------
section "lost slot, drop-slot"
pg "SELECT pg_drop_replication_slot('sluice_${TAG}_basic')" >/dev/null
run_json "$P1/pipeline.yaml"
check_eq "a run whose slot is gone fails" "failed" "$J_status"
check_contains "it says how to recover" "$OUT" "sluice state reset"
run_sluice cdc drop-slot "$P2/pipeline.yaml"
check_eq "cdc drop-slot exits 0" "0" "$RC"
check_contains "cdc drop-slot says what it dropped" "$OUT" "dropped replication slot sluice_${TAG}_term"
check_eq "the slot is gone" "0" "$(pg "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'sluice_${TAG}_term'")"

finish
