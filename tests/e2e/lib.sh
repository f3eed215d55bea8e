# Shared helpers for the end-to-end scripts in tests/e2e/. Source it from a *_test.sh:
#
#   source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" "$@" || exit 2   # $1 is the sluice binary
#
# It gives the script a fresh temporary directory ($T, also the current directory), removed on
# exit together with any background process started through start_bg; a pass/fail counter with
# check helpers; data generators; and `finish`, which prints "N passed, N failed" and exits 1
# when something failed. A check that fails because of a bug in src/ is reported with `bug`, so
# it stands out as "FAIL [BUG]".
#
# Environment: SLUICE_LONG=1 selects the long variants; SLUICE_SEED fixes the random seed (the
# seed in use is printed, so a failing random run can be repeated); SLUICE_KEEP=1 keeps $T.

set -u -o pipefail

if [ $# -lt 1 ] || [ ! -x "$1" ]; then
  echo "usage: bash $0 PATH_TO_SLUICE" >&2
  exit 2
fi
SLUICE=$(realpath "$1")
shift
LONG=${SLUICE_LONG:-0}
[ "$LONG" = "1" ] || LONG=0

T=$(mktemp -d "${TMPDIR:-/tmp}/sluice-e2e.XXXXXX") && T=$(cd "$T" && pwd) || { echo "cannot create a temporary directory" >&2; exit 2; }
case "$T" in */sluice-e2e.??????) ;; *) echo "unexpected temporary directory '$T'" >&2; exit 2 ;; esac
BG_PIDS=()

_cleanup() {
  local p
  for p in "${BG_PIDS[@]+"${BG_PIDS[@]}"}"; do
    kill -9 "$p" 2>/dev/null
    wait "$p" 2>/dev/null
  done
  if [ "${SLUICE_KEEP:-0}" = "1" ]; then
    echo "kept $T" >&2
  else
    rm -rf "$T"
  fi
}
trap _cleanup EXIT
trap 'echo "interrupted" >&2; exit 130' INT TERM
cd "$T" || exit 2

SEED=${SLUICE_SEED:-$(( $(date +%s%N) % 1000000 ))}
RANDOM=$SEED

PASSED=0
FAILED=0
BUGS=0
_T0=$(date +%s.%N)

_elapsed() { awk -v a="$_T0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1fs", b - a }'; }

section() { echo "== $* ($(_elapsed))"; }
ok() { PASSED=$((PASSED + 1)); [ "${QUIET_OK:-0}" = 1 ] || echo "  ok    $1"; }
nok() {
  FAILED=$((FAILED + 1))
  echo "  FAIL  $1"
  [ $# -ge 2 ] && [ -n "$2" ] && printf '%s\n' "$2" | head -c 3000 | sed 's/^/        | /'
  return 0
}
# A failing check that shows a bug in src/ (reported, not fixed, by the test author).
bug() {
  FAILED=$((FAILED + 1)) BUGS=$((BUGS + 1))
  echo "  FAIL [BUG]  $1"
  [ $# -ge 2 ] && [ -n "$2" ] && printf '%s\n' "$2" | head -c 3000 | sed 's/^/        | /'
  return 0
}

# check_eq DESC EXPECTED ACTUAL [bug]
check_eq() {
  if [ "$2" == "$3" ]; then ok "$1"
  elif [ "${4:-}" = bug ]; then bug "$1" "expected: $2"$'\n'"actual:   $3"
  else nok "$1" "expected: $2"$'\n'"actual:   $3"; fi
}
# check_contains DESC HAYSTACK NEEDLE [bug]  (fixed string)
check_contains() {
  if grep -qF -- "$3" <<<"$2"; then ok "$1"
  elif [ "${4:-}" = bug ]; then bug "$1" "missing: $3"$'\n'"in: $2"
  else nok "$1" "missing: $3"$'\n'"in: $2"; fi
}
check_not_contains() {
  if ! grep -qF -- "$3" <<<"$2"; then ok "$1"
  elif [ "${4:-}" = bug ]; then bug "$1" "unexpected: $3"$'\n'"in: $2"
  else nok "$1" "unexpected: $3"$'\n'"in: $2"; fi
}
# check DESC COMMAND...  passes when the command exits 0
check() {
  local desc=$1
  shift
  if "$@" >/dev/null 2>&1; then ok "$desc"; else nok "$desc" "command failed: $*"; fi
}

# Runs sluice; sets RC, OUT (stdout) and ERR (stderr). Never aborts the script.
run_sluice() {
  "$SLUICE" "$@" >"$T/.stdout" 2>"$T/.stderr" </dev/null
  RC=$?
  OUT=$(cat "$T/.stdout")
  ERR=$(cat "$T/.stderr")
}
# Runs sluice with a deadline (a hung binary fails the test instead of the whole suite).
run_sluice_timeout() {
  local secs=$1
  shift
  timeout -s KILL "$secs" "$SLUICE" "$@" >"$T/.stdout" 2>"$T/.stderr" </dev/null
  RC=$?
  OUT=$(cat "$T/.stdout")
  ERR=$(cat "$T/.stderr")
}
# `sluice run FILE --json`, then the summary's fields as shell variables J_status, J_rows_in, ...
run_json() {
  run_sluice run "$@" --json
  parse_summary "$OUT"
}
parse_summary() {
  unset J_status J_rows_in J_rows_out J_rows_quarantined J_rows_skipped J_error J_failures
  eval "$(python3 - "$1" <<'PY'
import json, shlex, sys
text = sys.argv[1].strip()
try:
    j = json.loads(text.splitlines()[-1]) if text else {}
except Exception:
    j = {}
for k in ("status", "rows_in", "rows_out", "rows_quarantined", "rows_skipped", "error"):
    print("J_%s=%s" % (k, shlex.quote(str(j.get(k, "")))))
print("J_failures=%s" % shlex.quote("\n".join(j.get("failures", []))))
PY
)"
}
# One field of a JSON object (python expression on j), e.g. json_get "$OUT" 'j["status"]'
json_get() {
  python3 -c 'import json,sys; j=json.loads(sys.argv[1]); v=eval(sys.argv[2]); print(v if not isinstance(v,(dict,list)) else json.dumps(v))' "$1" "$2" 2>/dev/null
}
# The identity every summary must satisfy.
check_identity() {
  if [ -n "${J_rows_in:-}" ] && [ "$J_rows_in" -eq $((J_rows_out + J_rows_quarantined + J_rows_skipped)) ] 2>/dev/null; then
    ok "$1: rows_in ($J_rows_in) = rows_out ($J_rows_out) + rows_quarantined ($J_rows_quarantined) + rows_skipped ($J_rows_skipped)"
  else
    nok "$1: rows_in = rows_out + rows_quarantined + rows_skipped" "summary: $OUT"
  fi
}

sql() { sqlite3 -batch -noheader "$@" 2>&1; }

# gen_csv FILE FIRST LAST [header]: rows id,name,amount,ts with ids FIRST..LAST; amount has two
# decimals; the sums are exact in integer cents (see expect_sums).
gen_csv() {
  awk -v first="$2" -v last="$3" -v header="${4:-1}" 'BEGIN {
    if (header) print "id,name,amount,ts"
    for (i = first; i <= last; i++)
      printf "%d,name %d,%d.%02d,2026-%02d-%02dT%02d:%02d:%02dZ\n", i, i, i % 100000, i % 100,
             1 + i % 12, 1 + i % 28, i % 24, i % 60, (i * 7) % 60
  }' >"$1"
}
# gen_jsonl FILE FIRST LAST: the same rows as JSON objects.
gen_jsonl() {
  awk -v first="$2" -v last="$3" 'BEGIN {
    for (i = first; i <= last; i++)
      printf "{\"id\":%d,\"name\":\"name %d\",\"amount\":%d.%02d,\"ts\":\"2026-%02d-%02dT%02d:%02d:%02dZ\"}\n",
             i, i, i % 100000, i % 100, 1 + i % 12, 1 + i % 28, i % 24, i % 60, (i * 7) % 60
  }' >"$1"
}
# expect_sums FIRST LAST -> "count|distinct|sum(id)|sum(cents)" of gen_csv's rows
expect_sums() {
  awk -v first="$1" -v last="$2" 'BEGIN {
    n = 0; s = 0; c = 0
    for (i = first; i <= last; i++) { n++; s += i; c += (i % 100000) * 100 + i % 100 }
    printf "%d|%d|%.0f|%.0f\n", n, n, s, c
  }'
}
# table_sums DB TABLE -> the same four numbers, from the table
table_sums() {
  sql "$1" "select count(*), count(distinct id), coalesce(sum(id),0),
            coalesce(sum(cast(round(amount * 100) as integer)),0) from \"$2\""
}

# start_bg OUTFILE ERRFILE ARGS...: starts sluice in the background; sets BG (its pid).
start_bg() {
  local out=$1 err=$2
  shift 2
  "$SLUICE" "$@" >"$out" 2>"$err" </dev/null &
  BG=$!
  BG_PIDS+=("$BG")
}
# wait_bg PID: waits for it, sets BG_RC, and forgets the pid.
wait_bg() {
  wait "$1" 2>/dev/null   # (no "Killed" job message)
  BG_RC=$?
  local keep=() p
  for p in "${BG_PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
  BG_PIDS=("${keep[@]+"${keep[@]}"}")
}
# rand_sleep MIN_MS MAX_MS: sleeps a random time in [MIN, MAX] ms (from the seeded $RANDOM)
rand_sleep() {
  local ms=$(( $1 + (RANDOM * 32768 + RANDOM) % ($2 - $1 + 1) ))
  sleep "$(awk -v ms="$ms" 'BEGIN { printf "%.3f", ms / 1000 }')"
}
# kill9_runs N MIN_MS MAX_MS ARGS...: starts `sluice ARGS` (stdout run.out, stderr run.err) and
# kills it -9 after MIN..MAX ms, until N runs were killed; a run that ends by itself first counts
# in KILL_ENDS, one that fails in KILL_FAILS (printed; the loop gives up at 3). Sets KILL_DONE.
kill9_runs() {
  local n=$1 min=$2 max=$3
  shift 3
  KILL_DONE=0 KILL_ENDS=0 KILL_FAILS=0
  while [ "$KILL_DONE" -lt "$n" ]; do
    start_bg run.out run.err "$@"
    rand_sleep "$min" "$max"
    kill -9 "$BG" 2>/dev/null
    wait_bg "$BG"
    if [ "$BG_RC" -eq 137 ]; then
      KILL_DONE=$((KILL_DONE + 1))
    elif [ "$BG_RC" -eq 0 ]; then
      KILL_ENDS=$((KILL_ENDS + 1))
    else
      KILL_FAILS=$((KILL_FAILS + 1))
      echo "  a run failed (exit $BG_RC): $(tail -3 run.err)"
      [ "$KILL_FAILS" -ge 3 ] && break
    fi
  done
}
# wait_for SECONDS COMMAND...: polls every 50 ms until the command succeeds; 1 on timeout
wait_for() {
  local deadline=$(( $(date +%s) + $1 ))
  shift
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -ge "$deadline" ] && return 1
    sleep 0.05
  done
}

finish() {
  echo "seed $SEED; $(_elapsed)"
  if [ "$BUGS" -gt 0 ]; then echo "$BUGS of the failures are marked [BUG]: bugs in src/, see above"; fi
  echo "$PASSED passed, $FAILED failed"
  [ "$FAILED" -eq 0 ]
  exit $?
}
