#!/usr/bin/env bash
# MariaDB binlog CDC drain: a backlog of row changes already in the binlog, read by `sluice run`
# (mysql source, mode: cdc, snapshot: never, start_gtid: before the backlog, stop_at: caught_up)
# into the discard sink, against `mariadb-binlog --read-from-remote-server` of the same binlog
# range into /dev/null (once as is: row events printed as BINLOG base64; once with -v: row values
# decoded into pseudo-SQL, the closer match to what sluice does). Same server, same run,
# alternating. Both sides without TLS (mariadb-binlog 10.11 does not use it by default). Not part of `make test` or `make bench`: it needs scripts/services/mariadb.sh.
#
#   BENCH_CHANGES=300000   row changes in the backlog (inserts, then updates, then deletes)
#   BENCH_REPS=3           timed repetitions of each side, after one warm-up each
#   BENCH_SINK=discard     or debezium: a jsonl file with the Debezium envelope (before images
#                          of updates built and every change written as JSON)
#   SLUICE=build/release/sluice   MYSQL_DSN=mysql://sluice:sluice@127.0.0.1:33069/sluice
#
# Prints wall and client CPU time, changes per second and the ratios (peer time / sluice time).
# The backlog starts a new binlog file (FLUSH BINARY LOGS: needs RELOAD or BINLOG ADMIN).
# The server is shared: other traffic written to the binlog meanwhile is read by both sides too.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CHANGES=${BENCH_CHANGES:-300000}
REPS=${BENCH_REPS:-3}
SLUICE=${SLUICE:-$ROOT/build/release/sluice}
MYSQL_DSN=${MYSQL_DSN:-mysql://sluice:sluice@127.0.0.1:33069/sluice}

log() { printf '[mysql cdc bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
re='^mysql://([^:@]*):([^@]*)@([^:/]*):([0-9]+)/([^?]*)'
[[ "$MYSQL_DSN" =~ $re ]] || { log "cannot parse MYSQL_DSN"; exit 1; }
U=${BASH_REMATCH[1]} PW=${BASH_REMATCH[2]} H=${BASH_REMATCH[3]} P=${BASH_REMATCH[4]}
DB=sluice_cdc_bench
MY=(mariadb --no-defaults -h "$H" -P "$P" -u "$U" -p"$PW" -N -B)
[ -x "$SLUICE" ] || { log "no sluice binary at $SLUICE"; exit 1; }
"${MY[@]}" -e 'SELECT 1' >/dev/null || { log "cannot reach the server"; exit 1; }

W=$(mktemp -d /tmp/sluice-cdc-bench.XXXXXX)
trap 'rm -rf "$W"; "${MY[@]}" -e "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1' EXIT
cp "$SLUICE" "$W/sluice"

"${MY[@]}" -e "DROP DATABASE IF EXISTS $DB; CREATE DATABASE $DB"
"${MY[@]}" "$DB" -e "CREATE TABLE lineitem (orderkey BIGINT PRIMARY KEY, partkey BIGINT, suppkey BIGINT,
  quantity DECIMAL(12,2), price DECIMAL(12,2), discount DECIMAL(12,2), shipdate DATE,
  shipmode VARCHAR(10), comment VARCHAR(44), updated DATETIME(6)) ENGINE=InnoDB"
# The backlog starts here, at the start of a new binlog file: MariaDB 10.11 positions a GTID
# connection by scanning its binlog file from the start (no GTID index), so without the rotation
# sluice's time would depend on how much earlier traffic (earlier runs of this script) sits in
# the same file; 0.05-0.25 s in files of 250-850 MiB here. The seek line below measures it.
"${MY[@]}" -e "FLUSH BINARY LOGS"
read -r FILE POS <<<"$("${MY[@]}" -e "SHOW MASTER STATUS" | awk '{print $1, $2}')"
GTID=$("${MY[@]}" -e "SELECT @@gtid_binlog_pos")
INS=$(( CHANGES / 2 )) UPD=$(( CHANGES / 3 )) DEL=$(( CHANGES - CHANGES / 2 - CHANGES / 3 ))
log "backlog: $INS inserts, $UPD updates, $DEL deletes in 10k-row transactions, after $FILE:$POS (GTID $GTID)"
for ((lo = 1; lo <= INS; lo += 10000)); do
  hi=$(( lo + 9999 > INS ? INS : lo + 9999 ))
  "${MY[@]}" "$DB" -e "INSERT INTO lineitem SELECT seq, seq % 200000, seq % 10000, seq % 50 + 1,
    (seq % 100000) / 100, (seq % 10) / 100, DATE '1995-01-01' + INTERVAL (seq % 2000) DAY,
    ELT(1 + seq % 7, 'AIR', 'MAIL', 'SHIP', 'TRUCK', 'RAIL', 'FOB', 'REG AIR'),
    CONCAT('comment of line ', seq), NOW(6) FROM seq_${lo}_to_${hi}"
done
for ((lo = 1; lo <= UPD; lo += 10000)); do
  hi=$(( lo + 9999 > UPD ? UPD : lo + 9999 ))
  "${MY[@]}" "$DB" -e "UPDATE lineitem SET price = price + 1, updated = NOW(6) WHERE orderkey BETWEEN $lo AND $hi"
done
for ((lo = INS - DEL + 1; lo <= INS; lo += 10000)); do
  hi=$(( lo + 9999 > INS ? INS : lo + 9999 ))
  "${MY[@]}" "$DB" -e "DELETE FROM lineitem WHERE orderkey BETWEEN $lo AND $hi"
done
END_GTID=$("${MY[@]}" -e "SELECT @@gtid_binlog_pos")
log "backlog written, up to GTID $END_GTID"

cat >"$W/pipeline.yaml" <<EOF
name: cdc_bench
source: { type: mysql, dsn: "mysql://$U:$PW@$H:$P/$DB", mode: cdc, tables: [lineitem],
          snapshot: never, start_gtid: "$GTID", stop_at: caught_up, tls: { mode: disable } }
sink: $([ "${BENCH_SINK:-discard}" = debezium ] && echo "{ type: jsonl, path: $W/changes.jsonl, envelope: debezium }" || echo "{ type: discard }")
state: $W/state.db
EOF

# Each side prints "wall cpu" (seconds; cpu = user + sys of the client process, from
# /usr/bin/time): the machine is shared, and CPU time is steadier than wall time there.
timed() {  # OUTFILE COMMAND...
  local out=$1
  shift
  /usr/bin/time -f "%e %U %S" -o "$W/time" "$@" >"$out" 2>"$W/err.log" || { cat "$W/err.log" >&2; exit 1; }
  awk '{ printf "%.3f %.3f", $1, $2 + $3 }' "$W/time"
}
run_sluice() {
  rm -rf "$W/state.db"* "$W/changes.jsonl"* "$W/quarantine"
  timed "$W/out.json" "$W/sluice" run "$W/pipeline.yaml" --json
}
run_peer() {  # extra mariadb-binlog flags
  timed /dev/null mariadb-binlog --no-defaults --read-from-remote-server -h "$H" -P "$P" -u "$U" -p"$PW" \
    --start-position="$POS" --to-last-log "$@" "$FILE"
}

log "warm-up"
run_sluice >/dev/null
ROWS_IN=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).read().splitlines()[-1])["rows_in"])' "$W/out.json")
run_peer >/dev/null
run_peer -v >/dev/null
log "sluice reads $ROWS_IN row changes of lineitem"
[ "$ROWS_IN" -ge "$CHANGES" ] || { log "expected at least $CHANGES row changes, got $ROWS_IN"; exit 1; }
# What positioning by GTID costs the server: MariaDB 10.11 has no GTID index, so it scans the
# binlog file from its start up to the position; BINLOG_GTID_POS does the same scan.
seek() {
  /usr/bin/time -f "%e" -o "$W/time" "${MY[@]}" -e "SELECT BINLOG_GTID_POS('$FILE', $POS)" >/dev/null
  cat "$W/time"
}
S=() B=() V=() SC=() BC=() VC=() K=()
for ((r = 1; r <= REPS; r++)); do
  K+=("$(seek)")
  read -r w c <<<"$(run_sluice)"; S+=("$w"); SC+=("$c")
  read -r w c <<<"$(run_peer)"; B+=("$w"); BC+=("$c")
  read -r w c <<<"$(run_peer -v)"; V+=("$w"); VC+=("$c")
  log "rep $r (wall/cpu s): sluice ${S[-1]}/${SC[-1]}, mariadb-binlog ${B[-1]}/${BC[-1]}, mariadb-binlog -v ${V[-1]}/${VC[-1]}"
done
median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
MS=$(median "${S[@]}") MB=$(median "${B[@]}") MV=$(median "${V[@]}")
CS=$(median "${SC[@]}") CB=$(median "${BC[@]}") CV=$(median "${VC[@]}") MK=$(median "${K[@]}")
BYTES=$("${MY[@]}" -e "SHOW BINARY LOGS" | awk -v f="$FILE" -v p="$POS" '$1 >= f { s += ($1 == f ? $2 - p : $2) } END { print s }')
echo "backlog: $ROWS_IN row changes, binlog range $FILE:$POS to the end ($(( BYTES / 1048576 )) MiB, other traffic included); $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg); $(mariadb --version | awk '{print $5}' | tr -d ,)"
echo "medians of $REPS runs; ratio = peer time / sluice time (above 1: sluice faster)"
FSIZE=$("${MY[@]}" -e "SHOW BINARY LOGS" | awk -v f="$FILE" '$1 == f { print $2 }')
echo "the server's GTID seek (BINLOG_GTID_POS('$FILE', $POS), a scan of $(( POS / 1048576 )) MiB of a $(( FSIZE / 1048576 )) MiB file): $MK s of sluice's wall time (mariadb-binlog starts at the file offset)"
awk -v sink="${BENCH_SINK:-discard}" -v n="$ROWS_IN" -v s="$MS" -v b="$MB" -v v="$MV" -v cs="$CS" -v cb="$CB" -v cv="$CV" -v k="$MK" 'BEGIN {
  printf "%-42s %8s %12s %9s | %8s %12s %9s\n", "", "wall s", "changes/s", "ratio", "cpu s", "changes/cpu-s", "ratio"
  printf "%-42s %8.3f %12.0f %9s | %8.3f %12.0f %9s\n", "sluice (mysql cdc -> " sink ")", s, n / s, "", cs, n / cs, ""
  printf "%-42s %8.3f %12.0f %9.2f | %8.3f %12.0f %9.2f\n", "mariadb-binlog --read-from-remote-server", b, n / b, b / s, cb, n / cb, cb / cs
  printf "%-42s %8.3f %12.0f %9.2f | %8.3f %12.0f %9.2f\n", "mariadb-binlog --read-from-remote-server -v", v, n / v, v / s, cv, n / cv, cv / cs
  if (s > k) printf "%-42s %8.3f %12.0f %9s   (ratios vs it: %.2f, %.2f)\n", "sluice minus the server GTID seek", s - k, n / (s - k), "", b / (s - k), v / (s - k)
}'
