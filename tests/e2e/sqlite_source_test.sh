#!/usr/bin/env bash
# The sqlite source under kill -9: sqlite -> sqlite pipelines killed a few times at random
# moments, then left to finish; the target then holds exactly the source rows, none doubled.
#
#   1. mode: full, sink replace: a killed run resumes its staged table after the last committed
#      primary key.
#   2. mode: incremental, sink upsert: the same, then new rows and a late row (cursor below the
#      checkpoint, within lookback) arrive and a rerun loads exactly those.
#
# usage: bash sqlite_source_test.sh PATH_TO_SLUICE
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" "$@" || exit 2

N=2000000
KILLS_WANTED=4

sql in.db "CREATE TABLE orders (id INTEGER PRIMARY KEY, name TEXT, amount DECIMAL(12,2), updated_at TIMESTAMP);
  WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < $N)
  INSERT INTO orders SELECT i, 'name ' || i, printf('%d.%02d', i % 100000, i % 100),
    printf('2026-01-01 %02d:%02d:%02d', (i / 3600) % 24, (i / 60) % 60, i % 60) FROM s;
  CREATE INDEX orders_cursor ON orders (updated_at, id);" >/dev/null
EXPECT=$(sql in.db "select count(*), count(distinct id), sum(id) from orders")

# kill_runs DIR [prefix]: kill -9 a few runs at random moments, then one run to the end.
kill_runs() {
  local dir=$1 k
  for k in $(seq 1 "$KILLS_WANTED"); do
    start_bg "$dir/run.out" "$dir/run.err" run "$dir/pipeline.yaml" --json
    rand_sleep 100 1500
    kill -9 "$BG" 2>/dev/null
    wait_bg "$BG"
    echo "  (kill $k: $(sql "$dir/out.db" "select count(*) from orders" 2>/dev/null | head -1) rows committed)"
    local n
    n=$(sql "$dir/out.db" "select count(*) || '|' || coalesce(max(id), 0) from orders" 2>/dev/null)
    # Full reads commit whole groups in key order: what is there is a prefix of the source.
    [ "${2:-}" = prefix ] && case "$n" in ''|*"no such table"*) ;; *)
      [ "${n%%|*}" = "${n##*|}" ] || nok "$(basename "$dir"): after kill $k the table is a prefix" "$n" ;;
    esac
  done
  run_sluice_timeout 600 run "$dir/pipeline.yaml" --json
  parse_summary "$OUT"
}

section "full mode, replace sink, kill -9 x$KILLS_WANTED"
mkdir -p full
cat >full/pipeline.yaml <<EOF
name: full
source: { type: sqlite, path: ../in.db, table: orders }
sink: { type: sqlite, path: out.db, table: orders, mode: replace }
commit_interval: { rows: 50000 }
EOF
kill_runs full prefix
check_eq "full: the last run ends ok" "0 ok" "$RC $J_status"
check_eq "full: every row exactly once" "$EXPECT" "$(sql full/out.db "select count(*), count(distinct id), sum(id) from orders")"

section "incremental mode, upsert sink, kill -9 x$KILLS_WANTED, then late rows"
mkdir -p inc
cat >inc/pipeline.yaml <<EOF
name: inc
source: { type: sqlite, path: ../in.db, table: orders, mode: incremental, cursor: updated_at, lookback: 1h, page_size: 20000 }
sink: { type: sqlite, path: out.db, table: orders, mode: upsert, key: [id] }
commit_interval: { rows: 50000 }
EOF
kill_runs inc
check_eq "inc: the last run ends ok" "0 ok" "$RC $J_status"
check_identity "inc: last run"
check_eq "inc: every row exactly once" "$EXPECT" "$(sql inc/out.db "select count(*), count(distinct id), sum(id) from orders")"
# A late row (its cursor an hour inside the window) and a new one.
sql in.db "INSERT INTO orders VALUES ($((N + 1)), 'late', '1.00', '2026-01-01 23:30:00'),
                                     ($((N + 2)), 'new', '2.00', '2026-01-02 00:00:00')" >/dev/null
run_json inc/pipeline.yaml
check_eq "inc: the rerun loads the late and the new row" "ok 2" "$J_status $J_rows_out"
check_identity "inc: rerun"
check_eq "inc: nothing doubled" "$((N + 2))|$((N + 2))" "$(sql inc/out.db "select count(*), count(distinct id) from orders")"
run_json inc/pipeline.yaml
check_eq "inc: a third run loads nothing" "ok 0" "$J_status $J_rows_out"

finish
