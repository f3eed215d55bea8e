#!/usr/bin/env bash
# Contract evaluation: sluice's ContractChecker (bench/contract_bench.cc) against the same 11
# checks as one DuckDB query with one thread (bench/contract_peer.mjs), on the same 10M rows, in
# one run. Writes the "Contract evaluation" section of bench/RESULTS.md (after the notes marker,
# between its own markers; the rest of the file is left alone). Environment:
#   CONTRACT_ROWS=10000000  rows (smaller runs write $BENCH_DATA/RESULTS-contract-quick.md instead)
#   BENCH_REPS=3            timed repetitions after one warm-up, inside each process
#   BENCH_BUILD=1           build contract_bench first (0: use build/release/contract_bench as is)
#   CONTRACT_BENCH=path     with BENCH_BUILD=0, the contract_bench binary to run (default
#                           build/release/contract_bench), e.g. one from your own build directory
#   BENCH_DATA=bench/data   logs and raw outputs (not in git)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH=$ROOT/bench
DEFAULT_ROWS=10000000
ROWS=${CONTRACT_ROWS:-$DEFAULT_ROWS}
REPS=${BENCH_REPS:-3}
DATA=${BENCH_DATA:-$BENCH/data}
mkdir -p "$DATA/logs" "$DATA/bin"
if [ "$ROWS" -ge "$DEFAULT_ROWS" ]; then RESULTS=$BENCH/RESULTS.md; else RESULTS=$DATA/RESULTS-contract-quick.md; fi

log() { printf '[contract %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }
for tool in node npm python3 cmake; do command -v "$tool" >/dev/null || die "$tool is missing"; done

if [ "${BENCH_BUILD:-1}" = 1 ]; then
  log "building contract_bench (release)"
  (cd "$ROOT" && cmake --preset release >/dev/null &&
    cmake --build --preset release -j "$(nproc)" --target contract_bench >"$DATA/logs/contract_build.log" 2>&1) ||
    die "build failed; see $DATA/logs/contract_build.log"
fi
BIN=${CONTRACT_BENCH:-$ROOT/build/release/contract_bench}
[ "${BENCH_BUILD:-1}" = 1 ] && BIN=$ROOT/build/release/contract_bench
[ -x "$BIN" ] || die "no $BIN (is libbenchmark-dev installed?)"
# A snapshot, so that a rebuild by someone else during the run cannot swap the binary.
cp "$BIN" "$DATA/bin/contract_bench"
GIT_AT_START="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null)$(git -C "$ROOT" diff --quiet HEAD -- src 2>/dev/null || echo ' + uncommitted changes in src/')"

if [ ! -d "$BENCH/node_modules/@duckdb/node-api" ] || [ "$BENCH/package.json" -nt "$BENCH/node_modules" ]; then
  log "npm install (DuckDB peer)"
  (cd "$BENCH" && npm install --no-audit --no-fund --loglevel=error >"$DATA/logs/npm.log" 2>&1) ||
    die "npm install failed; see $DATA/logs/npm.log"
  touch "$BENCH/node_modules"
fi

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
DATE_START=$(date -u '+%Y-%m-%d %H:%M UTC')
SLUICE_OUT=$DATA/logs/contract_bench.out
PEER_OUT=$DATA/logs/contract_peer.out
log "contract_bench: $ROWS rows, warm-up + $REPS, then the per-check breakdown"
"$DATA/bin/contract_bench" --rows="$ROWS" --reps="$REPS" --warmup=1 >"$SLUICE_OUT" 2>"$DATA/logs/contract_bench.err" ||
  die "contract_bench failed; see $DATA/logs/contract_bench.err"
log "contract_peer (DuckDB, 1 thread): $ROWS rows, warm-up + $REPS per query"
node "$BENCH/contract_peer.mjs" "$ROWS" "$REPS" 1 >"$PEER_OUT" 2>"$DATA/logs/contract_peer.err" ||
  die "contract_peer failed; see $DATA/logs/contract_peer.err"
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

BIN_DESC=${BIN#"$ROOT"/} DATE_START=$DATE_START LOAD_START=$LOAD_START LOAD_END=$LOAD_END GIT_AT_START=$GIT_AT_START \
NPROC=$(nproc) NODE_VERSION=$(node --version) BENCH=$BENCH \
python3 - "$SLUICE_OUT" "$PEER_OUT" "$RESULTS" "$ROWS" "$REPS" <<'EOF'
import json, os, platform, subprocess, sys
E = os.environ
sluice_out, peer_out, results, rows, reps = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
S = [json.loads(l) for l in open(sluice_out) if l.strip()]
P = [json.loads(l) for l in open(peer_out) if l.strip()]
runs = [s for s in S if "rep" in s]
parts = [s for s in S if "check" in s]
peer = {q: [p for p in P if p["query"] == q and "rep" in p] for q in ("filter", "per_check")}
counts = next(p["counts"] for p in P if p["query"] == "per_check_counts")
checks = runs[0]["checks"]

# The two sides must have found the same failing rows, check by check.
for r in runs + peer["filter"] + peer["per_check"]:
    if r["rejected"] != runs[0]["rejected"]:
        sys.exit(f"rejected rows differ: {r} vs sluice {runs[0]['rejected']}")
singles = [p for p in parts if p["check"] != "all checks (warn)"]
if [p["rejected"] for p in singles] != list(counts.values()):
    sys.exit(f"per-check counts differ: sluice {[p['rejected'] for p in singles]}, duckdb {list(counts.values())}")

def best(rs, key): return min(r[key] for r in rs)
def med(rs, key): return sorted(r[key] for r in rs)[len(rs) // 2]
vps = lambda s: rows * checks / s
sw, sc = best(runs, "seconds"), best(runs, "cpu_seconds")
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
mem = next(int(l.split()[1]) for l in open("/proc/meminfo") if l.startswith("MemTotal")) / 2**20
duck = json.load(open(os.path.join(E["BENCH"], "node_modules/@duckdb/node-api/package.json")))["version"]
cxx = subprocess.run(["c++", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
M = lambda x: f"{x / 1e6:,.0f} M" if x >= 1e8 else f"{x / 1e6:,.1f} M"

o = []
o.append("<!-- contract-bench:begin (written by bench/contract.sh) -->")
o.append("## Contract evaluation\n")
o.append("Written by `bash bench/contract.sh`; every number below comes from one run. `contract_bench` "
         "runs `ContractChecker::Check` (one thread) over in-memory RecordBatches of 64K rows; the peer "
         "evaluates the same checks as a DuckDB query with `SET threads = 1` over the same rows, built in "
         "DuckDB from `range()` with the same expressions. Both count the same failing rows, check by check "
         "(the script stops otherwise). See `bench/README.md`, \"Contract evaluation\".\n")
o.append(f"- **Date:** " + E["DATE_START"] + " (start of the run)")
o.append(f"- **Machine:** {E['NPROC']} cores (`nproc`), {cpu}, {mem:.1f} GiB RAM, Linux {platform.release()}; "
         "shared with others' builds and tests, so wall times carry tens of percent of noise")
o.append(f"- **Load average** (1, 5, 15 min) at the start: {E['LOAD_START']}; at the end: {E['LOAD_END']}")
cmd = "bash bench/contract.sh" if E["BIN_DESC"] == "build/release/contract_bench" else f"BENCH_BUILD=0 CONTRACT_BENCH={E['BIN_DESC']} bash bench/contract.sh"
o.append(f"- **Command:** `{cmd}` (`{E['BIN_DESC']} --rows={rows} --reps={reps} --warmup=1`, "
         f"`node bench/contract_peer.mjs {rows} {reps} 1`)")
o.append(f"- **Input:** {rows:,} rows (id int64, amount decimal(12,2), qty int64, status string, email string, "
         f"created_at timestamp_tz, discount float64), {runs[0]['rejected']:,} rows ({100 * runs[0]['rejected'] / rows:.1f}%) "
         "break exactly one check each")
o.append(f"- **Checks ({checks}):** id required; amount, qty, discount min/max; status enum; email required and "
         "pattern `^[^@\\s]+@[^@\\s]+$`; created_at not_future; rules `qty BETWEEN 1 AND 50`, "
         "`discount >= 0 AND discount <= 0.1`, `status <> 'paid' OR amount > 0`")
o.append(f"- **Versions:** sluice git {E['GIT_AT_START']}, @duckdb/node-api {duck}, Node {E['NODE_VERSION']}, {cxx}")
o.append(f"- **Method:** one warm-up, then {reps} timed passes in each process; best (lowest) time. "
         "Values checked/s = rows x checks / seconds. The sluice pass includes the quarantine split "
         "(a RejectedRow per failing row, the passing rows copied into a new batch); the DuckDB queries "
         "only count.\n")
o.append("| measurement | best s | median s | rows/s | values checked/s | sluice/peer (wall) | sluice/peer (CPU) | goal ≥ 200 M/s |")
o.append("|---|---:|---:|---:|---:|---:|---:|---|")
o.append(f"| sluice `ContractChecker::Check`, quarantine | {sw:.3f} | {med(runs, 'seconds'):.3f} | {M(rows / sw)} | "
         f"**{M(vps(sw))}** | – | – | {'met' if vps(sw) >= 200e6 else 'not met'} |")
o.append(f"| same, per CPU second ({sc:.3f} CPU s) | | | {M(rows / sc)} | {M(vps(sc))} | – | – | "
         f"{'met' if vps(sc) >= 200e6 else 'not met'} |")
for q, label in (("filter", "`count(*) FILTER (WHERE NOT (c1 AND … c11))`"),
                 ("per_check", "one `count(*) FILTER` per check + any")):
    pw, pc = best(peer[q], "seconds"), best(peer[q], "cpu_seconds")
    o.append(f"| DuckDB 1 thread: {label} | {pw:.3f} | {med(peer[q], 'seconds'):.3f} | {M(rows / pw)} | "
             f"{M(vps(pw))} | **{pw / sw:.2f}×** | {pc / sc:.2f}× | |")
o.append("")
o.append("Per check, one pass each with a contract holding only that check, under `on_violation: warn` "
         "(evaluation and violation bookkeeping, no quarantine split):\n")
o.append("| check | s | CPU s | ns/row (CPU) | values checked/s (CPU) | failing rows |")
o.append("|---|---:|---:|---:|---:|---:|")
cpu_of = lambda p: p.get("cpu_seconds", p["seconds"])
for p in parts:
    n = checks if p["check"] == "all checks (warn)" else 1
    o.append(f"| {p['check']} | {p['seconds']:.3f} | {cpu_of(p):.3f} | {cpu_of(p) / rows * 1e9:.1f} | {M(rows * n / cpu_of(p))} | {p['rejected']:,} |")
o.append("")
allwarn = next(p["seconds"] for p in parts if p["check"] == "all checks (warn)")
allwarn_cpu = next(cpu_of(p) for p in parts if p["check"] == "all checks (warn)")
o.append(f"The quarantine split (RejectedRows plus copying the passing rows) is {sw - allwarn:.2f} s of the "
         f"{sw:.2f} s pass ({100 * (sw - allwarn) / sw:.0f}%) in wall time and {sc - allwarn_cpu:.2f} s of {sc:.2f} s "
         f"({100 * (sc - allwarn_cpu) / sc:.0f}%) in CPU time, measured as the full pass minus \"all checks (warn)\" "
         "(different passes: approximate).")
simple = [p for p in singles if p["check"] != "email pattern"]
o.append(f"The {len(simple)} checks other than the pattern, each timed alone and summed: "
         f"{M(rows * len(simple) / sum(p['seconds'] for p in simple))} values checked/s "
         f"({M(rows * len(simple) / sum(cpu_of(p) for p in simple))} per CPU second).")
o.append("<!-- contract-bench:end -->")
section = "\n".join(o) + "\n"

begin, end = "<!-- contract-bench:begin", "<!-- contract-bench:end -->"
old = open(results).read() if os.path.exists(results) else ""
if begin in old and end in old:
    head, rest = old.split(begin, 1)
    new = head + section + rest.split(end, 1)[1].lstrip("\n")
else:
    new = old.rstrip("\n") + ("\n\n" if old else "") + section
open(results, "w").write(new)
print(section)
print(f"sluice {M(vps(sw))} values checked/s; DuckDB filter {M(vps(best(peer['filter'], 'seconds')))}/s; "
      f"ratio sluice/DuckDB (wall) {best(peer['filter'], 'seconds') / sw:.2f}x", file=sys.stderr)
EOF
log "wrote $RESULTS"
