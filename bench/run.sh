#!/usr/bin/env bash
# The file → typed batches → SQLite comparison, measured on one machine in one run (`make bench`).
# See bench/README.md for what each number means. Environment:
#   BENCH_ROWS=8000000   rows of the lineitem-like input (8M rows ≈ 1 GB of CSV, 2.7 GB of JSON)
#   BENCH_REPS=3         timed repetitions of each measurement, after one warm-up
#   BENCH_MEM=1          also load a 2× CSV once to show that peak memory does not grow (0: skip)
#   BENCH_DATA=bench/data        generated inputs, outputs and logs (not in git)
#   BENCH_RESULTS=...    the report; default bench/RESULTS.md for a full-size run and
#                        $BENCH_DATA/RESULTS-quick.md for a smaller BENCH_ROWS
#   BENCH_BUILD=1        build sluice and parse_bench first (0: use the binaries as they are)
#   SLUICE=build/release/sluice, PARSE_BENCH=build/release/parse_bench
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH=$ROOT/bench
DEFAULT_ROWS=8000000
ROWS=${BENCH_ROWS:-$DEFAULT_ROWS}
REPS=${BENCH_REPS:-3}
MEM=${BENCH_MEM:-1}
DATA=${BENCH_DATA:-$BENCH/data}
if [ -n "${BENCH_RESULTS:-}" ]; then
  RESULTS=$BENCH_RESULTS
elif [ "$ROWS" -ge "$DEFAULT_ROWS" ]; then
  RESULTS=$BENCH/RESULTS.md
else
  RESULTS=$DATA/RESULTS-quick.md
fi
SLUICE=${SLUICE:-$ROOT/build/release/sluice}
PARSE_BENCH=${PARSE_BENCH:-$ROOT/build/release/parse_bench}

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

for tool in /usr/bin/time sqlite3 node npm python3 cc c++ cmake; do
  command -v "$tool" >/dev/null || die "$tool is missing (scripts/install-deps.sh installs the Debian packages; node and npm come from the machine)"
done

mkdir -p "$DATA"/{bin,logs,pipelines,out}
DATA=$(cd "$DATA" && pwd)

# --- build -----------------------------------------------------------------------------------
if [ "${BENCH_BUILD:-1}" = 1 ]; then
  log "building sluice and parse_bench (release)"
  (cd "$ROOT" && cmake --preset release >/dev/null &&
    cmake --build --preset release -j "$(nproc)" --target sluice parse_bench >"$DATA/logs/build.log" 2>&1) ||
    die "build failed; see $DATA/logs/build.log"
fi
[ -x "$SLUICE" ] || die "no sluice binary at $SLUICE"
[ -x "$PARSE_BENCH" ] || die "no parse_bench at $PARSE_BENCH (is libbenchmark-dev installed?)"
# Snapshots, so that a rebuild during the run (others share the build tree) cannot swap them.
GIT_AT_START="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null)$(git -C "$ROOT" diff --quiet HEAD -- src 2>/dev/null || echo ' + uncommitted changes in src/')"
cp "$SLUICE" "$DATA/bin/sluice" && SLUICE=$DATA/bin/sluice
cp "$PARSE_BENCH" "$DATA/bin/parse_bench" && PARSE_BENCH=$DATA/bin/parse_bench
for t in gen_lineitem.cc memchr_count.c; do
  out=$DATA/bin/${t%.*}
  if [ ! -x "$out" ] || [ "$BENCH/$t" -nt "$out" ]; then
    case $t in
      *.cc) c++ -O2 -std=c++20 -Wall -Wextra -Werror -o "$out" "$BENCH/$t" ;;
      *.c) cc -O2 -Wall -Wextra -Werror -o "$out" "$BENCH/$t" ;;
    esac
  fi
done

if [ ! -d "$BENCH/node_modules/@duckdb/node-api" ] || [ "$BENCH/package.json" -nt "$BENCH/node_modules" ]; then
  log "npm install (DuckDB peer)"
  (cd "$BENCH" && npm install --no-audit --no-fund --loglevel=error >"$DATA/logs/npm.log" 2>&1) ||
    die "npm install failed; see $DATA/logs/npm.log"
  touch "$BENCH/node_modules"
fi

# --- inputs ----------------------------------------------------------------------------------
CSV=$DATA/lineitem-$ROWS.csv
JSONL=$DATA/lineitem-$ROWS.jsonl
CSV2=$DATA/lineitem-$((2 * ROWS)).csv
gen() {  # gen ROWS CSV [JSONL]: deterministic, skipped when the files exist
  local rows=$1 csv=$2 jsonl=${3:-}
  if [ -s "$csv" ] && { [ -z "$jsonl" ] || [ -s "$jsonl" ]; }; then return; fi
  log "generating $rows rows: $(basename "$csv")${jsonl:+ and $(basename "$jsonl")}"
  "$DATA/bin/gen_lineitem" "$rows" "$csv.tmp" "${jsonl:+$jsonl.tmp}"
  mv "$csv.tmp" "$csv"
  if [ -n "$jsonl" ]; then mv "$jsonl.tmp" "$jsonl"; fi
}
gen "$ROWS" "$CSV" "$JSONL"
if [ "$MEM" = 1 ]; then gen $((2 * ROWS)) "$CSV2"; fi
# The file source holds back a last line written less than settle_time (1s) ago; these are old.
touch -d '-1 minute' "$CSV" "$JSONL"
if [ "$MEM" = 1 ]; then touch -d '-1 minute' "$CSV2"; fi
size_of() { stat -c %s "$1"; }

# --- measurement helpers ---------------------------------------------------------------------
TSV=$DATA/measurements-$ROWS.tsv
printf 'key\trep\twall_s\tcpu_s\trss_kb\trows\tbytes\tcommand\n' >"$TSV"
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
DATE_START=$(date -u '+%Y-%m-%d %H:%M UTC')

# shown CMD...: the command as a shell would take it, with paths relative to the repository.
shown() { local q; q=$(printf '%q ' "$@"); q=${q% }; echo "${q//$ROOT\//}"; }

# record KEY REP WALL CPU RSS ROWS BYTES COMMAND
record() { printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$TSV"; }

# timed KEY REP ROWS BYTES PREP -- CMD...: runs PREP (a function name or :), then CMD under
# /usr/bin/time (peak RSS, user+system CPU), and records wall-clock seconds measured around it.
# CMD's stdout goes to $DATA/logs/KEY.REP.out, its stderr to .err.
timed() {
  local key=$1 rep=$2 rows=$3 bytes=$4 prep=$5
  shift 6
  "$prep"
  local tf=$DATA/logs/$key.$rep.time
  local t0 t1
  t0=$(date +%s.%N)
  /usr/bin/time -f '%U %S %M' -o "$tf" "$@" >"$DATA/logs/$key.$rep.out" 2>"$DATA/logs/$key.$rep.err" ||
    die "$key failed (rep $rep): $* — see $DATA/logs/$key.$rep.err"
  t1=$(date +%s.%N)
  local u s m
  read -r u s m < <(tail -n1 "$tf")
  record "$key" "$rep" "$(awk -v a="$t1" -v b="$t0" 'BEGIN { printf "%.4f", a - b }')" \
    "$(awk -v a="$u" -v b="$s" 'BEGIN { printf "%.2f", a + b }')" "$m" "$rows" "$bytes" "$(shown "$@")"
}

# repeat KEY ROWS BYTES PREP -- CMD...: one warm-up (rep 0, kept in the TSV but not in the
# figures), then BENCH_REPS timed runs.
repeat() {
  local key=$1
  log "$key: warm-up + $REPS"
  for ((r = 0; r <= REPS; r++)); do timed "$key" "$r" "${@:2}"; done
}

# check KEY WHAT EXPECTED ACTUAL
check() { [ "$3" = "$4" ] || die "$1: $2 is $4, expected $3"; }

# --- 1. the memchr ceiling -------------------------------------------------------------------
repeat memchr_csv "$ROWS" "$(size_of "$CSV")" : -- "$DATA/bin/memchr_count" "$CSV"
repeat memchr_jsonl "$ROWS" "$(size_of "$JSONL")" : -- "$DATA/bin/memchr_count" "$JSONL"
check memchr_csv lines $((ROWS + 1)) "$(cut -d' ' -f1 "$DATA/logs/memchr_csv.1.out")"
check memchr_jsonl lines "$ROWS" "$(cut -d' ' -f1 "$DATA/logs/memchr_jsonl.1.out")"

# --- 2a. parse_bench: decoder + BatchAssembler in process ------------------------------------
log "parse_bench: warm-up + $REPS per format"
"$PARSE_BENCH" --csv="$CSV" --jsonl="$JSONL" --reps="$REPS" --warmup=1 \
  --benchmark_out="$DATA/parse_bench.json" --benchmark_out_format=json \
  >"$DATA/logs/parse_bench.out" 2>&1 || die "parse_bench failed; see $DATA/logs/parse_bench.out"
python3 - "$DATA/parse_bench.json" "$ROWS" "$(size_of "$CSV")" "$(size_of "$JSONL")" \
  "$(shown "$PARSE_BENCH" --csv="$CSV" --jsonl="$JSONL" --reps="$REPS" --warmup=1)" >>"$TSV" <<'EOF'
import json, sys
doc = json.load(open(sys.argv[1]))
rows, sizes, cmd = int(sys.argv[2]), {"BM_ParseCsv": sys.argv[3], "BM_ParseJsonl": sys.argv[4]}, sys.argv[5]
keys = {"BM_ParseCsv": "parse_csv", "BM_ParseJsonl": "parse_jsonl"}
for b in doc["benchmarks"]:
    if b.get("run_type") != "iteration":
        continue
    name = b["run_name"].split("/")[0]
    if int(b["rows"]) != rows or int(b["rejected"]) != 0:
        sys.exit(f"parse_bench {name}: {b['rows']} rows, {b['rejected']} rejected; expected {rows}, 0")
    scale = {"ms": 1e-3, "us": 1e-6, "ns": 1e-9, "s": 1.0}[b["time_unit"]]
    print("\t".join(map(str, [keys[name], b["repetition_index"] + 1, b["real_time"] * scale,
                              b["cpu_time"] * scale, "", rows, sizes[name], cmd])))
EOF

# --- 2b. sluice run → discard (end to end) ---------------------------------------------------
pipeline() {  # pipeline NAME INPUT SINK_YAML
  cat >"$DATA/pipelines/$1.yaml" <<EOF
# Generated by bench/run.sh.
name: $1
source: { type: file, path: "$2", stream: lineitem }
sink: $3
state: ../out/$1/state.db
EOF
}
pipeline csv_discard "../$(basename "$CSV")" "{ type: discard }"
pipeline jsonl_discard "../$(basename "$JSONL")" "{ type: discard }"
pipeline csv_sqlite "../$(basename "$CSV")" "{ type: sqlite, path: ../out/csv_sqlite/sluice.db, table: lineitem }"
pipeline csv2_sqlite "../$(basename "$CSV2")" "{ type: sqlite, path: ../out/csv2_sqlite/sluice.db, table: lineitem }"

fresh_csv_discard() { rm -rf "$DATA/out/csv_discard"; }
fresh_jsonl_discard() { rm -rf "$DATA/out/jsonl_discard"; }
fresh_csv_sqlite() { rm -rf "$DATA/out/csv_sqlite"; }
fresh_csv2_sqlite() { rm -rf "$DATA/out/csv2_sqlite"; }
fresh_peer_sqlite() { rm -f "$DATA/out/peer.db" "$DATA/out/peer.db-journal"; }

# check_run KEY REP [ROWS]: the run's --json summary says every row arrived and none was
# quarantined.
check_run() {
  python3 - "$DATA/logs/$1.$2.out" "${3:-$ROWS}" "$1" <<'EOF'
import json, sys
s = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
rows = int(sys.argv[2])
if s["status"] != "ok" or s["rows_out"] != rows or s["rows_quarantined"] != 0:
    sys.exit(f"{sys.argv[3]}: summary {s}, expected status ok and {rows} rows out")
EOF
}

repeat sluice_csv_discard "$ROWS" "$(size_of "$CSV")" fresh_csv_discard -- \
  "$SLUICE" run "$DATA/pipelines/csv_discard.yaml" --json
check_run sluice_csv_discard 1
repeat sluice_jsonl_discard "$ROWS" "$(size_of "$JSONL")" fresh_jsonl_discard -- \
  "$SLUICE" run "$DATA/pipelines/jsonl_discard.yaml" --json
check_run sluice_jsonl_discard 1

# --- 2c. DuckDB, one thread: read_csv / read_json into a table -------------------------------
duckdb_peer() {  # duckdb_peer csv|jsonl FILE: warm-up + reps inside one Node process
  local kind=$1 file=$2 key=duckdb_$1 tf=$DATA/logs/duckdb_$1.time
  log "$key: warm-up + $REPS"
  /usr/bin/time -f '%M' -o "$tf" node "$BENCH/duckdb_peer.mjs" "$kind" "$file" "$REPS" 1 \
    >"$DATA/logs/$key.out" 2>"$DATA/logs/$key.err" || die "$key failed; see $DATA/logs/$key.err"
  python3 - "$DATA/logs/$key.out" "$key" "$ROWS" "$(size_of "$file")" "$(tail -n1 "$tf")" \
    "$(shown node "$BENCH/duckdb_peer.mjs" "$kind" "$file" "$REPS" 1)" >>"$TSV" <<'EOF'
import json, sys
path, key, rows, size, rss, cmd = sys.argv[1:]
for line in open(path):
    r = json.loads(line)
    if r["rows"] != int(rows):
        sys.exit(f"{key}: {r['rows']} rows, expected {rows}")
    print("\t".join(map(str, [key, r["rep"], r["seconds"], r["cpu_seconds"], rss, rows, size, cmd])))
EOF
}
duckdb_peer csv "$CSV"
duckdb_peer jsonl "$JSONL"

# --- 3. SQLite load: sluice run → sqlite vs the sqlite3 shell's .import ----------------------
# The peer loads into the very table sluice created (same column types), so both databases hold
# the same values; --skip 1 drops the header. The two alternate, run by run, so that a burst of
# load from others on the machine hits both rather than one.
log "sluice_csv_sqlite and sqlite3_import, alternating: warm-up + $REPS each"
for ((r = 0; r <= REPS; r++)); do
  timed sluice_csv_sqlite "$r" "$ROWS" "$(size_of "$CSV")" fresh_csv_sqlite -- \
    "$SLUICE" run "$DATA/pipelines/csv_sqlite.yaml" --json
  check_run sluice_csv_sqlite "$r"
  if [ "$r" = 0 ]; then sqlite3 "$DATA/out/csv_sqlite/sluice.db" '.schema lineitem' >"$DATA/out/lineitem.sql"; fi
  timed sqlite3_import "$r" "$ROWS" "$(size_of "$CSV")" fresh_peer_sqlite -- \
    sqlite3 "$DATA/out/peer.db" -cmd ".read $DATA/out/lineitem.sql" ".import --csv --skip 1 $CSV lineitem"
done
check sqlite3_import rows "$ROWS" "$(sqlite3 "$DATA/out/peer.db" 'select count(*) from lineitem')"
check sluice_csv_sqlite rows "$ROWS" "$(sqlite3 "$DATA/out/csv_sqlite/sluice.db" 'select count(*) from lineitem')"
SAME=$(sqlite3 "$DATA/out/peer.db" "attach '$DATA/out/csv_sqlite/sluice.db' as s;
  select count(*) from (select * from main.lineitem except select * from s.lineitem)")
check sqlite_same_rows "rows of the peer's table missing from sluice's" 0 "$SAME"
DB_SLUICE=$(size_of "$DATA/out/csv_sqlite/sluice.db")
DB_PEER=$(size_of "$DATA/out/peer.db")

# --- 4. peak memory on a file twice as large -------------------------------------------------
if [ "$MEM" = 1 ]; then
  log "sluice_csv2_sqlite: one run on the 2× file"
  timed sluice_csv2_sqlite 1 $((2 * ROWS)) "$(size_of "$CSV2")" fresh_csv2_sqlite -- \
    "$SLUICE" run "$DATA/pipelines/csv2_sqlite.yaml" --json
  check_run sluice_csv2_sqlite 1 $((2 * ROWS))
fi

# --- report ----------------------------------------------------------------------------------
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
DUCKDB_VERSION=$(node -e "console.log(require('$BENCH/node_modules/@duckdb/node-api/package.json').version)")
# One "key=value" a line; report.py can be rerun on the same files to rewrite the report.
cat >"$DATA/meta-$ROWS.txt" <<EOF
rows=$ROWS
reps=$REPS
csv=$(basename "$CSV")
jsonl=$(basename "$JSONL")
csv2=$( [ "$MEM" = 1 ] && basename "$CSV2")
date=$DATE_START
load_start=$LOAD_START
load_end=$LOAD_END
sluice_version=$("$SLUICE" --version 2>&1 | head -n1 | sed 's/^sluice //')
git=$GIT_AT_START
duckdb=@duckdb/node-api $DUCKDB_VERSION
sqlite3=$(sqlite3 --version | cut -d' ' -f1)
node=$(node --version)
cxx=$(c++ --version | head -n1)
db_sluice=$DB_SLUICE
db_peer=$DB_PEER
EOF
python3 "$BENCH/report.py" --tsv "$TSV" --meta-file "$DATA/meta-$ROWS.txt" --out "$RESULTS"
log "wrote $RESULTS"
