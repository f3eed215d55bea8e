#!/usr/bin/env bash
# PostgreSQL change data capture under a steady write load: end-to-end lag from the source commit
# to the sink commit, per row, at rising rates. Not part of `make test` or `make bench`: it needs
# the server that scripts/services/postgres.sh starts.
#
#   1. Two databases of their own on the one server: bench_lag_src (pgbench -i -s 1, plus a key on
#      pgbench_history and a probe table lag_probe(id, src_ts)) and bench_lag_dst (the replica).
#      pgbench's tpcb-like transaction gets one more statement before its COMMIT:
#      INSERT INTO lag_probe (src_ts) VALUES (clock_timestamp()), so every transaction makes 5
#      row changes (3 updates, 2 inserts) and carries the time it was written at.
#   2. In the replica, lag_probe is created beforehand with a column applied_ts DEFAULT
#      clock_timestamp() (when the sink's statement wrote the row) and a DEFERRABLE INITIALLY
#      DEFERRED constraint trigger that records clock_timestamp() into lag_commit when the sink's
#      transaction commits. Same machine, same clock. lag = committed_ts - src_ts.
#   3. One `sluice run` streams all five tables (postgres source mode: cdc, snapshot: initial,
#      postgres sink mode: replicate) for the whole benchmark. After the snapshot, the writer
#      runs `pgbench -R RATE -T BENCH_STEP -c 4 -j 2` for each rate of BENCH_RATES; after each
#      step the script waits until the replica holds every probe row. A rate is kept up with when
#      pgbench reached 95% of it and the replica caught up within 2 s of the writer's end (plus the
#      commit interval). Steps stop after the first rate that is not kept up with, then one
#      unthrottled step (the machine's ceiling, capture running) follows.
#   4. With BENCH_DEFAULT_COMMIT=1 (default), sluice is restarted with the default commit_interval
#      (time: 5s) and the highest rate kept up with is run once more. Its drain is not judged:
#      the last commit group closes when its interval is up (up to 5 s after the writer ends).
#
#   BENCH_RATES="250 500 1000 1500 2000 3000"  BENCH_STEP=20 (seconds per rate)
#   BENCH_COMMIT_TIME=0s (commit_interval time of the sweep: 0s commits each transaction boundary
#   the source emits, i.e. at most every 200 ms under load; the default is 5s)
#   BENCH_DEFAULT_COMMIT=1   SLUICE=build/release/sluice
#   PG_DSN=postgresql://sluice:sluice@127.0.0.1:54329/sluice
#
# Prints Markdown for bench/RESULTS.md. Leaves nothing behind: the slot, the publication (in the
# dropped database) and both databases are dropped on exit.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RATES=${BENCH_RATES:-"250 500 1000 1500 2000 3000"}
STEP=${BENCH_STEP:-20}
COMMIT_TIME=${BENCH_COMMIT_TIME:-0s}
DEFAULT_COMMIT=${BENCH_DEFAULT_COMMIT:-1}
SLUICE=${SLUICE:-$ROOT/build/release/sluice}
PG_DSN=${PG_DSN:-postgresql://sluice:sluice@127.0.0.1:54329/sluice}
SRC_DB=bench_lag_src DST_DB=bench_lag_dst SLOT=sluice_bench_lag
PGBENCH=$(command -v pgbench || ls /usr/lib/postgresql/*/bin/pgbench | tail -1)
export PGOPTIONS="-c client_min_messages=warning"

log() { printf '[pg cdc lag %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
[ -x "$SLUICE" ] || { log "no sluice binary at $SLUICE"; exit 1; }
psql "$PG_DSN" -Xqc 'SELECT 1' >/dev/null || { log "cannot reach $PG_DSN (bash scripts/services/postgres.sh start)"; exit 1; }
with_db() { python3 -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/" + sys.argv[2])))' "$PG_DSN" "$1"; }
SRC=$(with_db $SRC_DB) DST=$(with_db $DST_DB)
pg() { psql "$PG_DSN" -XAtq -v ON_ERROR_STOP=1 -c "$1"; }
src() { psql "$SRC" -XAtq -v ON_ERROR_STOP=1 -c "$1"; }
dst() { psql "$DST" -XAtq -v ON_ERROR_STOP=1 -c "$1"; }

WORK=$(mktemp -d /tmp/sluice-bench-lag.XXXXXX)
cp "$SLUICE" "$WORK/sluice" && SLUICE=$WORK/sluice  # immune to rebuilds meanwhile
SLUICE_PID=
stop_sluice() {
  if [ -n "$SLUICE_PID" ]; then
    kill -TERM "$SLUICE_PID" 2>/dev/null || true
    wait "$SLUICE_PID" 2>/dev/null || true
    SLUICE_PID=
  fi
}
drop_all() {
  pg "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '$SLOT' AND NOT active" >/dev/null 2>&1 || true
  pg "DROP DATABASE IF EXISTS $SRC_DB WITH (FORCE)" >/dev/null 2>&1 || true
  pg "DROP DATABASE IF EXISTS $DST_DB WITH (FORCE)" >/dev/null 2>&1 || true
}
cleanup() {
  stop_sluice
  drop_all
  rm -rf "$WORK"
}
trap cleanup EXIT

drop_all
pg "CREATE DATABASE $SRC_DB" >/dev/null
pg "CREATE DATABASE $DST_DB" >/dev/null
"$PGBENCH" -i -s 1 -q "$SRC" >/dev/null 2>&1
src "ALTER TABLE pgbench_history ADD COLUMN hid bigserial PRIMARY KEY;
     CREATE TABLE lag_probe (id bigserial PRIMARY KEY, src_ts timestamptz NOT NULL)" >/dev/null
dst "CREATE TABLE lag_probe (id bigint PRIMARY KEY, src_ts timestamptz, applied_ts timestamptz DEFAULT clock_timestamp());
     CREATE TABLE lag_commit (id bigint NOT NULL, committed_ts timestamptz NOT NULL);
     CREATE FUNCTION lag_commit_at() RETURNS trigger LANGUAGE plpgsql AS
       \$\$BEGIN INSERT INTO lag_commit VALUES (NEW.id, clock_timestamp()); RETURN NULL; END\$\$;
     CREATE CONSTRAINT TRIGGER lag_commit_at AFTER INSERT ON lag_probe DEFERRABLE INITIALLY DEFERRED
       FOR EACH ROW EXECUTE FUNCTION lag_commit_at()" >/dev/null

cat >"$WORK/tx.sql" <<'SQL'
\set aid random(1, 100000 * :scale)
\set bid random(1, 1 * :scale)
\set tid random(1, 10 * :scale)
\set delta random(-5000, 5000)
BEGIN;
UPDATE pgbench_accounts SET abalance = abalance + :delta WHERE aid = :aid;
SELECT abalance FROM pgbench_accounts WHERE aid = :aid;
UPDATE pgbench_tellers SET tbalance = tbalance + :delta WHERE tid = :tid;
UPDATE pgbench_branches SET bbalance = bbalance + :delta WHERE bid = :bid;
INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (:tid, :bid, :aid, :delta, CURRENT_TIMESTAMP);
INSERT INTO lag_probe (src_ts) VALUES (clock_timestamp());
END;
SQL

pipeline() {  # pipeline COMMIT_INTERVAL_YAML
  cat >"$WORK/pipeline.yaml" <<YAML
name: bench_lag
source: { type: postgres, dsn: "$SRC", mode: cdc, slot: $SLOT, heartbeat_interval: 10s,
          tables: [public.pgbench_accounts, public.pgbench_branches, public.pgbench_tellers,
                   public.pgbench_history, public.lag_probe] }
sink: { type: postgres, dsn: "$DST", mode: replicate }
state: $WORK/state.db
$1
YAML
}
start_sluice() {
  "$SLUICE" run "$WORK/pipeline.yaml" --json >>"$WORK/sluice.out" 2>>"$WORK/sluice.err" &
  SLUICE_PID=$!
}

# Unthrottled writer, no capture yet: the machine's ceiling for this transaction.
log "unthrottled pgbench, no capture (10 s)"
BASE_TPS=$("$PGBENCH" -n -c 4 -j 2 -T 10 -f "$WORK/tx.sql" "$SRC" 2>/dev/null | awk '/^tps/ { printf "%.0f", $3; exit }')
log "  $BASE_TPS tps"

pipeline "commit_interval: { time: $COMMIT_TIME }"
start_sluice
log "snapshot (100k accounts) ..."
for _ in $(seq 1 600); do
  [ "$(dst "SELECT count(*) FROM lag_probe")" = "$(src "SELECT count(*) FROM lag_probe")" ] &&
    [ "$(dst "SELECT to_regclass('pgbench_accounts') IS NOT NULL")" = t ] &&
    [ "$(dst "SELECT count(*) FROM pgbench_accounts")" = 100000 ] && break
  kill -0 "$SLUICE_PID" 2>/dev/null || { cat "$WORK/sluice.err" >&2; exit 1; }
  sleep 0.5
done

ms() { echo $(( $(date +%s%N) / 1000000 )); }
# step RATE LABEL: prints one table row, sets KEPT_UP=1|0
step() {
  local rate=$1 label=$2 first last t_end t_caught tps wal0 wal1 drain stats
  first=$(src "SELECT coalesce(max(id), 0) FROM lag_probe")
  wal0=$(src "SELECT pg_current_wal_insert_lsn()")
  local rflag=()
  [ "$rate" = max ] || rflag=(-R "$rate")
  tps=$("$PGBENCH" -n -c 4 -j 2 "${rflag[@]}" -T "$STEP" -f "$WORK/tx.sql" "$SRC" 2>/dev/null |
    awk '/^tps/ { printf "%.0f", $3; exit }')
  t_end=$(ms)
  wal1=$(src "SELECT pg_current_wal_insert_lsn()")
  last=$(src "SELECT coalesce(max(id), 0) FROM lag_probe")
  t_caught=
  for _ in $(seq 1 1200); do
    if [ "$(dst "SELECT count(*) FROM lag_commit WHERE id > $first AND id <= $last")" -ge $((last - first)) ]; then
      t_caught=$(ms); break
    fi
    kill -0 "$SLUICE_PID" 2>/dev/null || { log "sluice exited"; cat "$WORK/sluice.err" >&2; exit 1; }
    sleep 0.05
  done
  [ -n "$t_caught" ] || { log "replica did not catch up within 60 s"; t_caught=$((t_end + 60000)); }
  drain=$(awk -v a="$t_caught" -v b="$t_end" 'BEGIN { printf "%.2f", (a - b) / 1000 }')
  stats=$(dst "WITH c AS (SELECT id, min(committed_ts) AS committed_ts FROM lag_commit WHERE id > $first AND id <= $last GROUP BY id),
                    l AS (SELECT extract(epoch FROM c.committed_ts - p.src_ts) * 1000 AS ms,
                                 extract(epoch FROM p.applied_ts - p.src_ts) * 1000 AS applied_ms
                          FROM c JOIN lag_probe p USING (id))
               SELECT count(*), round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 0),
                      round(percentile_cont(0.99) WITHIN GROUP (ORDER BY ms)::numeric, 0), round(max(ms)::numeric, 0),
                      round(percentile_cont(0.5) WITHIN GROUP (ORDER BY applied_ms)::numeric, 0) FROM l")
  local n p50 p99 mx ap50
  IFS='|' read -r n p50 p99 mx ap50 <<<"$stats"
  local wal_mb
  wal_mb=$(src "SELECT round(('$wal1'::pg_lsn - '$wal0'::pg_lsn) / 1048576.0 / $STEP, 2)")
  local budget
  budget=$(awk -v c="$COMMIT_TIME" 'BEGIN { v = c + 0; if (c ~ /ms$/) v /= 1000; print 2 + v }')
  local note=
  KEPT_UP=1
  if [ "$rate" != max ] && [ "$(awk -v r="$rate" -v t="$tps" 'BEGIN { print (t < 0.95 * r) ? 1 : 0 }')" = 1 ]; then
    KEPT_UP=0 note=" (writer below the target rate)"
  fi
  if [ "${3:-judge}" = judge ] && [ "$(awk -v d="$drain" -v b="$budget" 'BEGIN { print (d > b) ? 1 : 0 }')" = 1 ]; then
    KEPT_UP=0 note="$note (replica behind)"
  fi
  printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s%s |\n' "$label" "$rate" "$tps" $((tps * 5)) "$wal_mb" \
    "$n" "$p50" "$p99" "$mx" "$ap50" "$drain" "$note"
}

echo "unthrottled writer before capture: $BASE_TPS tps ($((BASE_TPS * 5)) row changes/s); $STEP s per step; 4 clients"
echo
echo "| commit_interval | target tps | pgbench tps | row changes/s | WAL MB/s | probe rows | lag p50 ms | lag p99 ms | lag max ms | applied p50 ms | drain s |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
BEST=
for rate in $RATES; do
  log "step: -R $rate"
  step "$rate" "time: $COMMIT_TIME"
  if [ "$KEPT_UP" = 1 ]; then BEST=$rate; else break; fi
done
log "step: unthrottled, with capture"
step max "time: $COMMIT_TIME"
if [ "$DEFAULT_COMMIT" = 1 ] && [ -n "$BEST" ]; then
  stop_sluice
  pipeline ""
  start_sluice
  sleep 2
  log "step: -R $BEST, default commit_interval"
  COMMIT_TIME=5s
  step "$BEST" "default (5s)" nojudge
fi
stop_sluice
echo
echo "highest rate kept up with: ${BEST:-none} tps"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); load average at the end $(cut -d' ' -f1-3 /proc/loadavg); server: $(pg 'SHOW server_version') (fsync $(pg 'SHOW fsync'), synchronous_commit $(pg 'SHOW synchronous_commit'))"
