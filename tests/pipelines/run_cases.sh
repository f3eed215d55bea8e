#!/usr/bin/env bash
# Data-driven end-to-end cases: each folder tests/pipelines/<case>/ holds
#
#   pipeline.yaml            paths relative to it; output goes under out/
#   input/                   the input files (small, plain text)
#   prepare.sh               optional: run (bash, in the case's copy) before the run, e.g. to
#                            compress inputs, so no binary file is checked in
#   expected/summary.json    keys of the `run --json` summary that must match (status, rows_in, ...)
#   expected/out/...         optional: files compared byte for byte with the produced out/...;
#                            out/ must hold no other file
#   expected/quarantine.txt  optional: `origin<TAB>rule<TAB>column` per rejected row, sorted,
#                            origins relative to the case folder (input/a.csv:3)
#
# Each case is copied to a fresh temporary directory (input files dated an hour back: finished
# files, not growing ones), run with `sluice run --json`, and compared. The exit code must match
# the status (0 for ok, 1 for partial or failed) and rows_in = rows_out + rows_quarantined +
# rows_skipped must hold. A case that ends ok is run a second time: the rerun must read nothing
# and change no output.
#
# usage: bash run_cases.sh PATH_TO_SLUICE [CASE...]      (SLUICE_KEEP=1 keeps failing copies)
set -u -o pipefail

if [ $# -lt 1 ] || [ ! -x "$1" ]; then
  echo "usage: bash $0 PATH_TO_SLUICE [CASE...]" >&2
  exit 2
fi
SLUICE=$(realpath "$1")
shift
CASES_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/sluice-cases.XXXXXX") && WORK=$(cd "$WORK" && pwd) || { echo "cannot create a temporary directory" >&2; exit 2; }
case "$WORK" in */sluice-cases.??????) ;; *) echo "unexpected temporary directory '$WORK'" >&2; exit 2 ;; esac
trap 'rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM

if [ $# -gt 0 ]; then
  cases=("$@")
else
  cases=()
  for d in "$CASES_DIR"/*/; do
    [ -f "$d/pipeline.yaml" ] && cases+=("$(basename "$d")")
  done
fi

# Prints the differences between the summary and expected/summary.json; nothing when they agree.
compare_summary() {
  python3 - "$1" "$2" <<'PY'
import json, sys
expected = json.load(open(sys.argv[1]))
text = open(sys.argv[2]).read()
lines = [l for l in text.splitlines() if l.strip()]
if len(lines) != 1:
    print("stdout is not exactly one line: %r" % text[:500]); sys.exit()
try:
    actual = json.loads(lines[0])
except ValueError as e:
    print("stdout is not JSON (%s): %r" % (e, lines[0][:500])); sys.exit()
for k, v in expected.items():
    if k not in actual:
        print("summary: no key %r (expected %r)" % (k, v))
    elif actual[k] != v:
        print("summary: %s = %r, expected %r" % (k, actual[k], v))
try:
    if actual["rows_in"] != actual["rows_out"] + actual["rows_quarantined"] + actual["rows_skipped"]:
        print("summary: rows_in != rows_out + rows_quarantined + rows_skipped: %s" % lines[0])
except (KeyError, TypeError):
    print("summary: a counter is missing: %s" % lines[0])
PY
}

# quarantine_lines DIR: the case's quarantine as sorted origin<TAB>rule<TAB>column lines.
quarantine_lines() {
  local dir=$1
  "$SLUICE" quarantine show "$dir/pipeline.yaml" --json --limit 1000000 2>"$dir/.q.err" |
    python3 -c '
import json, sys
prefixes = [p.rstrip("/") + "/" for p in sys.argv[1:]]
for line in sys.stdin:
    if not line.strip():
        continue
    j = json.loads(line)
    origin = j["origin"]
    for p in prefixes:
        if origin.startswith(p):
            origin = origin[len(p):]
            break
    print("%s\t%s\t%s" % (origin, j["rule"], j["column"]))' "$dir" "$(realpath "$dir")" | LC_ALL=C sort
}

# status_of FILE: the status in a one-line JSON summary
status_of() { python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).read()).get("status",""))' "$1" 2>/dev/null; }

passed=0
failed=0
for name in "${cases[@]}"; do
  src="$CASES_DIR/$name"
  problems=()
  start=$(date +%s.%N)
  dir="$WORK/$name"
  if [ ! -f "$src/pipeline.yaml" ] || [ ! -f "$src/expected/summary.json" ]; then
    problems+=("no pipeline.yaml or expected/summary.json in $src")
  else
    mkdir -p "$dir"
    cp -a "$src/." "$dir/"
    rm -rf "$dir/expected" "$dir/out" "$dir/.sluice"
    if [ -f "$dir/prepare.sh" ]; then
      (cd "$dir" && bash prepare.sh) >"$dir/.prepare.log" 2>&1 || problems+=("prepare.sh failed: $(tail -3 "$dir/.prepare.log")")
    fi
    [ -d "$dir/input" ] && find "$dir/input" -type f -exec touch -d '-1 hour' {} +

    timeout -s KILL 120 "$SLUICE" run "$dir/pipeline.yaml" --json >"$dir/.summary" 2>"$dir/.stderr" </dev/null
    rc=$?
    status=$(status_of "$dir/.summary")
    case "$status" in
      ok | stopped) want_rc=0 ;;
      *) want_rc=1 ;;
    esac
    [ "$rc" -eq "$want_rc" ] || problems+=("exit code $rc, expected $want_rc for status '$status'; stderr: $(tail -3 "$dir/.stderr")")
    while IFS= read -r p; do [ -n "$p" ] && problems+=("$p"); done < <(compare_summary "$src/expected/summary.json" "$dir/.summary")

    if [ -d "$src/expected/out" ]; then
      while IFS= read -r rel; do
        if [ ! -f "$dir/out/$rel" ]; then
          problems+=("out/$rel was not written")
        elif ! cmp -s "$src/expected/out/$rel" "$dir/out/$rel"; then
          problems+=("out/$rel differs from expected/out/$rel:"$'\n'"$(diff -u "$src/expected/out/$rel" "$dir/out/$rel" | head -40)")
        fi
      done < <(cd "$src/expected/out" && find . -type f | sed 's|^\./||' | sort)
      if [ -d "$dir/out" ]; then
        while IFS= read -r rel; do
          [ -f "$src/expected/out/$rel" ] || problems+=("unexpected output file out/$rel")
        done < <(cd "$dir/out" && find . -type f | sed 's|^\./||' | sort)
      fi
    fi

    if [ -f "$src/expected/quarantine.txt" ]; then
      got_q=$(quarantine_lines "$dir")
      want_q=$(LC_ALL=C sort "$src/expected/quarantine.txt")
      if [ "$got_q" != "$want_q" ]; then
        problems+=("quarantine differs from expected/quarantine.txt:"$'\n'"$(diff -u <(printf '%s\n' "$want_q") <(printf '%s\n' "$got_q") | tail -n +3 | head -40)")
      fi
    fi

    # A finished case run again reads nothing and changes nothing.
    if [ "$status" = ok ] && [ ${#problems[@]} -eq 0 ]; then
      q_before=$(quarantine_lines "$dir")
      out_before=$( [ -d "$dir/out" ] && cd "$dir/out" && find . -type f -exec md5sum {} + | sort)
      timeout -s KILL 120 "$SLUICE" run "$dir/pipeline.yaml" --json >"$dir/.summary2" 2>"$dir/.stderr2" </dev/null
      rc2=$?
      again=$(python3 -c 'import json,sys; j=json.loads(open(sys.argv[1]).read()); print(j["status"], j["rows_in"])' "$dir/.summary2" 2>/dev/null)
      [ "$rc2 $again" = "0 ok 0" ] || problems+=("rerun: expected exit 0, status ok, rows_in 0; got exit $rc2: $(cat "$dir/.summary2")")
      out_after=$( [ -d "$dir/out" ] && cd "$dir/out" && find . -type f -exec md5sum {} + | sort)
      [ "$out_before" = "$out_after" ] || problems+=("rerun: the output files changed")
      [ "$q_before" = "$(quarantine_lines "$dir")" ] || problems+=("rerun: the quarantine changed")
    fi
  fi

  secs=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  if [ ${#problems[@]} -eq 0 ]; then
    passed=$((passed + 1))
    echo "ok    $name (${secs}s)"
    rm -rf "$dir"
  else
    failed=$((failed + 1))
    echo "FAIL  $name (${secs}s)"
    for p in "${problems[@]}"; do printf '%s\n' "$p" | sed 's/^/      /'; done
    if [ "${SLUICE_KEEP:-0}" = 1 ]; then
      keep=$(mktemp -d "${TMPDIR:-/tmp}/sluice-case-$name.XXXXXX")
      cp -a "$dir/." "$keep/"
      echo "      kept in $keep"
    fi
  fi
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
