#!/usr/bin/env bash
# PostgreSQL change data capture: a backlog of pgbench changes drained by sluice (postgres source
# mode: cdc, pgoutput protocol 1, into the discard sink) against pg_recvlogical draining the same
# backlog from a second slot of the same publication into /dev/null, in the same run on the same
# server. Not part of `make test` or `make bench`: it needs the server that
# scripts/services/postgres.sh starts.
#
#   1. pgbench -i -s 1 in a database of its own; a sluice pipeline over the four pgbench tables
#      (snapshot: never) creates its slot and publication; pg_recvlogical creates a second slot.
#   2. Per repetition: pgbench -t BENCH_TX -c 4 writes the backlog (4 changes per transaction:
#      3 updates, 1 insert), nothing reading it. Then, one after the other (the order alternates):
#      `sluice run` with stop_at: caught_up, and `pg_recvlogical --start --endpos=<WAL insert
#      position after pgbench> -o proto_version=1 -o publication_names=...  -f /dev/null`.
#   3. Prints changes/s of both and the ratio sluice / pg_recvlogical.
#
#   BENCH_TX=7000 (per client; 4 clients -> 112k changes) BENCH_REPS=3
#   SLUICE=build/release/sluice   PG_DSN=postgresql://sluice:sluice@127.0.0.1:54329/sluice
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TX=${BENCH_TX:-7000}
REPS=${BENCH_REPS:-3}
SLUICE=${SLUICE:-$ROOT/build/release/sluice}
PG_DSN=${PG_DSN:-postgresql://sluice:sluice@127.0.0.1:54329/sluice}
DB=bench_cdc
PGBENCH=$(command -v pgbench || ls /usr/lib/postgresql/*/bin/pgbench | tail -1)
RECV=$(command -v pg_recvlogical || ls /usr/lib/postgresql/*/bin/pg_recvlogical | tail -1)
export PGOPTIONS="-c client_min_messages=warning"

log() { printf '[pg cdc %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
[ -x "$SLUICE" ] || { log "no sluice binary at $SLUICE"; exit 1; }
psql "$PG_DSN" -Xqc 'SELECT 1' >/dev/null || { log "cannot reach $PG_DSN (bash scripts/services/postgres.sh start)"; exit 1; }
SRC=$(python3 -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/" + sys.argv[2])))' "$PG_DSN" "$DB")
pg() { psql "$PG_DSN" -XAtq -v ON_ERROR_STOP=1 -c "$1"; }
src() { psql "$SRC" -XAtq -v ON_ERROR_STOP=1 -c "$1"; }

WORK=$(mktemp -d /tmp/sluice-bench-cdc.XXXXXX)
cp "$SLUICE" "$WORK/sluice" && SLUICE=$WORK/sluice  # immune to rebuilds meanwhile
cleanup() {
  pg "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name IN ('sluice_bench_cdc', 'bench_cdc_recv') AND NOT active" >/dev/null 2>&1 || true
  pg "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

cleanup_slots() {
  pg "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name IN ('sluice_bench_cdc', 'bench_cdc_recv')" >/dev/null
}
cleanup_slots
pg "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null
pg "CREATE DATABASE $DB" >/dev/null
"$PGBENCH" -i -s 1 -q "$SRC" >/dev/null 2>&1
cat >"$WORK/pipeline.yaml" <<YAML
name: bench_cdc
source: { type: postgres, dsn: "$SRC", mode: cdc, snapshot: never, stop_at: caught_up,
          tables: [public.pgbench_accounts, public.pgbench_branches, public.pgbench_tellers, public.pgbench_history] }
sink: { type: discard }
state: $WORK/state.db
YAML
"$SLUICE" run "$WORK/pipeline.yaml" --json >/dev/null 2>"$WORK/setup.err" || { cat "$WORK/setup.err" >&2; exit 1; }
"$RECV" -d "$SRC" -S bench_cdc_recv --create-slot -P pgoutput 2>/dev/null

ms() { echo $(( $(date +%s%N) / 1000000 )); }
run_sluice() {
  local t0 t1 out
  t0=$(ms)
  out=$("$SLUICE" run "$WORK/pipeline.yaml" --json 2>"$WORK/sluice.err")
  t1=$(ms)
  S_ROWS=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["rows_in"])' "$out")
  S_MS=$((t1 - t0))
}
run_recv() {
  local t0 t1
  t0=$(ms)
  "$RECV" -d "$SRC" -S bench_cdc_recv --start --no-loop --endpos="$1" -o proto_version=1 \
    -o publication_names=sluice_bench_cdc -f /dev/null 2>"$WORK/recv.err"
  t1=$(ms)
  R_MS=$((t1 - t0))
}

echo "| rep | changes | sluice s | sluice changes/s | pg_recvlogical s | pg_recvlogical changes/s | ratio |"
echo "|---|---|---|---|---|---|---|"
SUM_S=0 SUM_R=0
for rep in $(seq 1 "$REPS"); do
  "$PGBENCH" -n -c 4 -j 2 -t "$TX" "$SRC" >"$WORK/pgbench.log" 2>&1
  END=$(src "SELECT pg_current_wal_insert_lsn()")
  CHANGES=$((TX * 4 * 4))
  log "rep $rep: backlog of $CHANGES changes up to $END"
  if [ $((rep % 2)) = 1 ]; then run_recv "$END"; run_sluice; else run_sluice; run_recv "$END"; fi
  [ "$S_ROWS" = "$CHANGES" ] || log "warning: sluice read $S_ROWS changes, expected $CHANGES"
  awk -v r="$rep" -v n="$CHANGES" -v s="$S_MS" -v p="$R_MS" 'BEGIN {
    printf "| %d | %d | %.2f | %.0f | %.2f | %.0f | %.2f |\n", r, n, s / 1000, n / (s / 1000), p / 1000, n / (p / 1000), p / s }'
  SUM_S=$((SUM_S + S_MS)) SUM_R=$((SUM_R + R_MS))
done
awk -v s="$SUM_S" -v p="$SUM_R" 'BEGIN { printf "\ntotal: sluice %.2f s, pg_recvlogical %.2f s; sluice throughput / pg_recvlogical throughput = %.2f\n", s / 1000, p / 1000, p / s }'
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); server: $(pg 'SHOW server_version')"
