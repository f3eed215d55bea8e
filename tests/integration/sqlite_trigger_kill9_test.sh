#!/usr/bin/env bash
# Trigger CDC from SQLite under kill -9: a replica in PostgreSQL matches the source exactly.
#
# A writer runs random transactions (inserts, updates, deletes, and updates that change the
# primary key) on an SQLite table while `sluice run` (sqlite source in mode: trigger, polling)
# replicates it into PostgreSQL (mode: replicate). sluice is killed with -9 at random moments,
# again and again, and restarted. Once the writer stops, one more run catches up, and the replica
# must equal the source row for row (a checksum of every row, sorted by key). The table starts
# with rows that predate the triggers: they reach the replica through the snapshot that the
# install writes into the change log.
#
# usage: bash sqlite_trigger_kill9_test.sh PATH_TO_SLUICE   (env SLUICE_PG_DSN; SLUICE_LONG=1:
#        more transactions and kills)
source "$(dirname "${BASH_SOURCE[0]}")/../e2e/lib.sh" "$@" || exit 2

if [ -z "${SLUICE_PG_DSN:-}" ]; then
  echo "skipped: SLUICE_PG_DSN is not set (scripts/services/up.sh starts the server)"
  exit 0
fi
command -v psql >/dev/null || { echo "skipped: psql is not installed"; exit 0; }

if [ "$LONG" = 1 ]; then TXNS=20000 KILLS=12; else TXNS=4000 KILLS=5; fi
TAG="trg_$$"
pg() { psql "$SLUICE_PG_DSN" -XAtq -F'|' -v ON_ERROR_STOP=1 -c "$1" 2>&1; }
pg "CREATE SCHEMA IF NOT EXISTS $TAG" >/dev/null
cleanup_pg() {
  pg "DROP SCHEMA IF EXISTS $TAG CASCADE" >/dev/null
  pg "DELETE FROM _sluice_state WHERE pipeline = '$TAG'" >/dev/null
}
trap 'cleanup_pg; _cleanup' EXIT

sql app.db "PRAGMA journal_mode = WAL;
  CREATE TABLE orders (id INTEGER PRIMARY KEY, name TEXT NOT NULL, amount DECIMAL(12,2), note BLOB);
  WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000)
  INSERT INTO orders SELECT i, 'row ' || i, (i % 1000) / 4.0, CASE WHEN i % 7 = 0 THEN randomblob(8) END FROM n;" >/dev/null

for poll in yes no; do
  {
    echo "name: $TAG"
    echo "source: { type: sqlite, path: app.db, mode: trigger, table: orders$([ $poll = yes ] && echo ', poll_interval: 200ms') }"
    echo "sink: { type: postgres, dsn: \"\${SLUICE_PG_DSN}\", table: \"$TAG.orders\", mode: replicate, key: [id] }"
    echo "commit_interval: { rows: 2000 }"
  } >"p_$poll.yaml"
done

# The writer: random small transactions, each committed whole.
cat >writer.py <<'PY'
import random, sqlite3, sys, time
db = sqlite3.connect("app.db", timeout=60, isolation_level=None)
r = random.Random(int(sys.argv[2]))
next_id = 100000
def some_id():
    row = db.execute("SELECT id FROM orders WHERE id >= ? ORDER BY id LIMIT 1", (r.randint(1, next_id),)).fetchone()
    return row[0] if row else None
for t in range(int(sys.argv[1])):
    db.execute("BEGIN IMMEDIATE")
    for _ in range(r.randint(1, 4)):
        op = r.random()
        if op < 0.35:
            next_id += 1
            db.execute("INSERT INTO orders VALUES (?, ?, ?, ?)", (next_id, "new %d" % next_id, r.randint(0, 99999) / 100.0, None))
        else:
            i = some_id()
            if i is None:
                continue
            if op < 0.75:
                db.execute("UPDATE orders SET name = name || '+', amount = ? WHERE id = ?", (r.randint(0, 99999) / 100.0, i))
            elif op < 0.9:
                db.execute("DELETE FROM orders WHERE id = ?", (i,))
            else:
                next_id += 1
                db.execute("UPDATE orders SET id = ? WHERE id = ?", (next_id, i))
    db.execute("COMMIT")
    if t % 50 == 0:
        time.sleep(0.01)
PY

section "a replica under kill -9 while the source changes ($TXNS transactions, $KILLS kills)"
python3 writer.py "$TXNS" "$SEED" 2>writer.err &
WRITER=$!
BG_PIDS+=("$WRITER")
kills=0
while [ "$kills" -lt "$KILLS" ]; do
  start_bg run.out run.err run p_yes.yaml
  rand_sleep 300 1500
  kill -9 "$BG" 2>/dev/null && kills=$((kills + 1))
  wait_bg "$BG"
done
wait_bg "$WRITER"
check_eq "the writer finished" 0 "$BG_RC"
run_sluice_timeout 300 run p_no.yaml --json
parse_summary "$OUT"
check_eq "the catch-up run ends ok" "0 ok" "$RC $J_status"
check_identity "catch-up run"

src=$(sql app.db "SELECT id || '|' || name || '|' || printf('%.2f', amount) || '|' || coalesce(lower(hex(note)), '') FROM orders ORDER BY id" | md5sum)
dst=$(pg "SELECT id || '|' || name || '|' || amount::text || '|' || coalesce(encode(note, 'hex'), '') FROM $TAG.orders ORDER BY id" | md5sum)
check_eq "the replica equals the source, row for row ($(sql app.db 'SELECT count(*) FROM orders') rows)" "$src" "$dst"
run_sluice_timeout 120 run p_no.yaml --json
parse_summary "$OUT"
check_eq "a run with nothing new reads nothing" "0 ok 0" "$RC $J_status $J_rows_in"
check_eq "and trims the change log down to nothing" "0" "$(sql app.db "SELECT count(*) FROM _sluice_log_orders")"

section "uninstall"
run_sluice cdc uninstall p_no.yaml
check_eq "cdc uninstall exits 0" 0 "$RC"
check_eq "no trigger and no log are left" "0" "$(sql app.db "SELECT count(*) FROM sqlite_master WHERE name LIKE '_sluice_%orders%'")"
sql app.db "INSERT INTO orders SELECT max(id) + 1, 'after uninstall', 1, NULL FROM orders" >/dev/null
check_eq "the table takes writes" "after uninstall" "$(sql app.db "SELECT name FROM orders ORDER BY id DESC LIMIT 1")"

finish
