#!/usr/bin/env bash
# kill -9 at random moments never duplicates nor drops a row in the mysql sink (and source).
#
#   1. CSV -> mysql sink, append, LOAD DATA: kill -9 `sluice run` after a random delay, again and
#      again, until a run ends by itself; the table then holds exactly the file's rows (count,
#      distinct ids, sum of ids, sum of amounts in cents). After every kill the table must be a
#      prefix of the file (count = max(id)): a commit group is there whole or not at all.
#   2. The same with load_method: insert.
#   3. upsert by id, and replace (staged, swapped at the end): exact rows, no staging left over.
#   4. mysql source (full snapshot, resumed by key) -> mysql sink: exact copy of table 1.
#
# The kill delay is random in [0.3 s, D], D = 70% of an uninterrupted run (at most 6 s).
# Needs SLUICE_MYSQL_DSN (scripts/services/up.sh); skipped without it. SLUICE_SEED repeats a run.
# usage: bash mysql_kill9_test.sh PATH_TO_SLUICE   (SLUICE_LONG=1: 2M rows, more kills)
source "$(dirname "${BASH_SOURCE[0]}")/../e2e/lib.sh" "$@" || exit 2

if [ -z "${SLUICE_MYSQL_DSN:-}" ]; then
  echo "SLUICE_MYSQL_DSN is not set: skipped (scripts/services/up.sh starts the server)"
  exit 0
fi
command -v mariadb >/dev/null || { echo "the mariadb client is missing: skipped"; exit 0; }

if [ "$LONG" = 1 ]; then N=2000000 MAX_KILLS=25; else N=1000000 MAX_KILLS=10; fi
N=${MYSQL_KILL9_ROWS:-$N}
KILL_MIN_MS=300
RUN_DEADLINE=900

# mysql://user:password@host:port/database
re='^mysql://([^:@]*):([^@]*)@([^:/]*):([0-9]+)/([^?]*)'
[[ "$SLUICE_MYSQL_DSN" =~ $re ]] || { echo "cannot parse SLUICE_MYSQL_DSN" >&2; exit 2; }
MY_USER=${BASH_REMATCH[1]} MY_PW=${BASH_REMATCH[2]} MY_HOST=${BASH_REMATCH[3]} MY_PORT=${BASH_REMATCH[4]}
DB=sluice_kill9_$$
DSN="mysql://$MY_USER:$MY_PW@$MY_HOST:$MY_PORT/$DB"
myq() { mariadb --no-defaults -h "$MY_HOST" -P "$MY_PORT" -u "$MY_USER" -p"$MY_PW" -N -B "$DB" -e "$1" 2>&1; }
mariadb --no-defaults -h "$MY_HOST" -P "$MY_PORT" -u "$MY_USER" -p"$MY_PW" -e "CREATE DATABASE $DB CHARACTER SET utf8mb4" ||
  { echo "cannot create the database" >&2; exit 2; }
drop_db() { mariadb --no-defaults -h "$MY_HOST" -P "$MY_PORT" -u "$MY_USER" -p"$MY_PW" -e "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1; }
trap 'drop_db; _cleanup' EXIT

gen_csv in.csv 1 "$N"
echo "generated $N rows ($(du -h in.csv | cut -f1)) in $(_elapsed)"
WANT=$(expect_sums 1 "$N")

# my_sums TABLE -> count|distinct|sum(id)|sum(cents)
my_sums() {
  myq "SELECT CONCAT_WS('|', COUNT(*), COUNT(DISTINCT id), COALESCE(SUM(id), 0), COALESCE(SUM(ROUND(amount * 100)), 0)) FROM \`$1\`"
}

# pipeline DIR TABLE SINK_EXTRA [SOURCE]: a load of in.csv (or SOURCE) into TABLE
pipeline() {
  local source=${4:-}
  [ -n "$source" ] || source="{ type: file, path: ../in.csv }"
  mkdir -p "$1"
  cat >"$1/pipeline.yaml" <<EOF
name: $(basename "$1")
source: $source
sink: { type: mysql, dsn: "$DSN", table: $2 $3 }
schema: { amount: "decimal(12,2)" }
commit_interval: { rows: 100000 }
EOF
}

# calibrate DIR TABLE: one uninterrupted run; sets KILL_MAX_MS; then forgets what it wrote.
calibrate() {
  local dir=$1 t0 ms
  t0=$(date +%s%N)
  timeout -s KILL "$RUN_DEADLINE" "$SLUICE" run "$dir/pipeline.yaml" --json >"$dir/run.out" 2>"$dir/run.err" </dev/null
  local rc=$?
  ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  parse_summary "$(cat "$dir/run.out")"
  check_eq "$(basename "$dir"): an uninterrupted run loads everything (${ms} ms)" "0 ok" "$rc $J_status"
  KILL_MAX_MS=$(( ms * 7 / 10 ))
  [ "$KILL_MAX_MS" -gt 6000 ] && KILL_MAX_MS=6000
  [ "$KILL_MAX_MS" -lt 800 ] && KILL_MAX_MS=800
  echo "  (kill delays: ${KILL_MIN_MS}-${KILL_MAX_MS} ms)"
  myq "DROP TABLE IF EXISTS \`$2\`; DELETE FROM _sluice_state WHERE pipeline = '$(basename "$dir")'" >/dev/null
  rm -rf "$dir/.sluice" "$dir/run.out" "$dir/run.err"
}

PREFIX_BROKEN=""
prefix_after_kill() {  # TABLE
  local r
  r=$(myq "SELECT CONCAT(COUNT(*), '|', COALESCE(MAX(id), 0)) FROM \`$1\`")
  case "$r" in *ERROR*) return 0 ;; esac  # not created yet
  if [ "${r%%|*}" != "${r##*|}" ] && [ -z "$PREFIX_BROKEN" ]; then
    PREFIX_BROKEN="after kill $KILLS: count=${r%%|*} max(id)=${r##*|}"
  fi
}

# kill_loop DIR [TABLE_FOR_PREFIX_CHECK]: sets KILLS, LAST_RC, LAST_OUT
kill_loop() {
  local dir=$1
  KILLS=0
  while :; do
    if [ "$KILLS" -ge "$MAX_KILLS" ]; then
      timeout -s KILL "$RUN_DEADLINE" "$SLUICE" run "$dir/pipeline.yaml" --json >"$dir/run.out" 2>"$dir/run.err" </dev/null
      LAST_RC=$?
      break
    fi
    start_bg "$dir/run.out" "$dir/run.err" run "$dir/pipeline.yaml" --json
    rand_sleep "$KILL_MIN_MS" "$KILL_MAX_MS"
    kill -9 "$BG" 2>/dev/null
    wait_bg "$BG"
    if [ "$BG_RC" -ne 137 ]; then
      LAST_RC=$BG_RC
      break
    fi
    KILLS=$((KILLS + 1))
    if [ -n "${2:-}" ]; then prefix_after_kill "$2"; fi
  done
  LAST_OUT=$(cat "$dir/run.out")
}

trial() {  # LABEL DIR TABLE PREFIX_CHECK(0/1)
  local label=$1 dir=$2 table=$3 got
  PREFIX_BROKEN=""
  kill_loop "$dir" "$([ "$4" = 1 ] && echo "$table")"
  got=$(my_sums "$table")
  check_eq "$label: a run ended by itself with exit 0 (after $KILLS kills)" 0 "$LAST_RC"
  check_eq "$label: the table holds exactly the source rows (count|distinct|sum(id)|sum(cents))" "$WANT" "$got" bug
  if [ "$4" = 1 ]; then check_eq "$label: after every kill the table was a prefix of the input" "" "$PREFIX_BROKEN" bug; fi
  if [ "$LAST_RC" -ne 0 ]; then echo "  last stderr: $(tail -3 "$dir/run.err")"; fi
}

section "kill -9 during a LOAD DATA append of $N rows"
pipeline "$T/append" t_append ", mode: append"
calibrate "$T/append" t_append
trial "append (load_data)" "$T/append" t_append 1

section "kill -9 during an INSERT append"
pipeline "$T/insert" t_insert ", mode: append, load_method: insert"
calibrate "$T/insert" t_insert
trial "append (insert)" "$T/insert" t_insert 1

section "kill -9 during an upsert"
pipeline "$T/upsert" t_upsert ", mode: upsert, key: [id]"
calibrate "$T/upsert" t_upsert
trial "upsert" "$T/upsert" t_upsert 1

section "kill -9 during a replace"
pipeline "$T/replace" t_replace ", mode: replace"
calibrate "$T/replace" t_replace
myq "CREATE TABLE t_replace (id BIGINT, name TEXT, amount DECIMAL(12,2), ts DATETIME(6)); INSERT INTO t_replace VALUES (-1, 'old', 1, NULL)" >/dev/null
trial "replace" "$T/replace" t_replace 0
check_eq "replace: no staging or old table is left" "0" \
  "$(myq "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME LIKE 't\\_replace\\_\\_%'")"

section "kill -9 during a mysql -> mysql full snapshot copy"
pipeline "$T/copy" t_copy ", mode: upsert, key: [id]" "{ type: mysql, dsn: \"$DSN\", table: t_append }"
calibrate "$T/copy" t_copy
trial "mysql source full -> mysql sink" "$T/copy" t_copy 1
run_sluice state show "$T/copy/pipeline.yaml"
check_contains "state show reads the checkpoint from _sluice_state" "$OUT" "in the sink (_sluice_state)"
check_contains "state show shows the finished snapshot" "$OUT" '"done":true'

finish
