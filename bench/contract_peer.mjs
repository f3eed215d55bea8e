// The DuckDB peer of bench/contract.sh: the 11 checks of contract_bench.cc's contract written as
// one SQL query over the same rows, with one thread (SET threads=1).
//
//   node contract_peer.mjs [ROWS=10000000] [REPS=3] [WARMUP=1]
//
// The table is built in memory from range(ROWS) with the expressions of contract_bench.cc's
// generator (not timed). Two queries are timed, each REPS times after WARMUP:
//   filter:    SELECT count(*) FILTER (WHERE NOT (c1 AND ... AND c11)): the rows that break
//              any check, the least work that finds them;
//   per_check: one count per check, so every check is evaluated on every row (as sluice does,
//              naming every rule a row breaks); also the cross-check of contract_bench's counts.
// A check passes when it is TRUE or NULL (SQL CHECK semantics, as in sluice), hence coalesce.
// Prints one JSON object per timed repetition: {"query", "rep", "seconds", "cpu_seconds", "rows",
// "checks", "rejected"}, then {"query": "per_check_counts", "counts": {...}}.
import { DuckDBInstance } from '@duckdb/node-api';

const [rowsArg, repsArg, warmupArg] = process.argv.slice(2);
const rows = Number(rowsArg ?? 10000000);
const reps = Number(repsArg ?? 3);
const warmup = Number(warmupArg ?? 1);

const instance = await DuckDBInstance.create(':memory:', { threads: '1' });
const conn = await instance.connect();
await conn.run('SET threads = 1');
await conn.run("SET TimeZone = 'UTC'");
const threads = (await conn.runAndReadAll("SELECT current_setting('threads')")).getRows()[0][0];
if (Number(threads) !== 1) throw new Error(`DuckDB runs with ${threads} threads, not 1`);

// Row i, as in contract_bench.cc's Generate(): r = i % 1000 selects the one broken check.
const t0 = process.hrtime.bigint();
await conn.run(`
  CREATE TABLE orders AS
  SELECT
    CASE WHEN r = 11 THEN NULL ELSE i END::BIGINT AS id,
    (CASE WHEN r = 2 THEN -500 WHEN r = 5 THEN 0 ELSE (i * 7919) % 100000 END
       / 100.0::DOUBLE)::DECIMAL(12,2) AS amount,
    CASE WHEN r = 3 THEN 75 WHEN r = 9 THEN 5000 ELSE 1 + (i * 31) % 50 END::BIGINT AS qty,
    CASE WHEN r = 4 THEN 'lost' WHEN r = 5 THEN 'paid'
         ELSE CASE i % 4 WHEN 0 THEN 'new' WHEN 1 THEN 'paid' WHEN 2 THEN 'shipped' ELSE 'cancelled' END
    END AS status,
    CASE WHEN r = 1 THEN NULL
         ELSE 'u' || i::VARCHAR || CASE WHEN r = 6 THEN '.example.com' ELSE '@example.com' END
    END AS email,
    to_timestamp(CASE WHEN r = 7 THEN 4102444800 ELSE 1704067200 + i END) AS created_at,
    CASE WHEN r = 8 THEN 0.5 WHEN r = 10 THEN -0.01 ELSE ((i * 17) % 11) / 100.0::DOUBLE END::DOUBLE AS discount
  FROM (SELECT range AS i, range % 1000 AS r FROM range(${rows}))
  ORDER BY i`);
console.error(`contract_peer: ${rows} rows generated in ${(Number(process.hrtime.bigint() - t0) / 1e9).toFixed(2)} s`);

// The checks, named and ordered as in contract_bench.cc.
const checks = [
  ['id_required', 'id IS NOT NULL'],
  ['amount_min_max', 'amount >= 0 AND amount <= 100000'],
  ['qty_min_max', 'qty >= 1 AND qty <= 1000'],
  ['discount_min_max', 'discount >= 0 AND discount <= 1'],
  ['status_enum', "status IN ('new', 'paid', 'shipped', 'cancelled')"],
  ['email_required', 'email IS NOT NULL'],
  ['email_pattern', "regexp_matches(email, '^[^@\\s]+@[^@\\s]+$')"],
  ['created_at_not_future', 'created_at <= now()'],
  ['qty_range', 'qty BETWEEN 1 AND 50'],
  ['discount_range', 'discount >= 0 AND discount <= 0.1'],
  ['paid_has_amount', "status <> 'paid' OR amount > 0"],
];
const ok = (c) => `coalesce(${c}, true)`;
const queries = {
  filter: `SELECT count(*) FILTER (WHERE NOT (${checks.map(([, c]) => ok(c)).join('\n AND ')})) FROM orders`,
  per_check: `SELECT count(*) FILTER (WHERE NOT (${checks.map(([, c]) => ok(c)).join(' AND ')})),
    ${checks.map(([n, c]) => `count(*) FILTER (WHERE NOT ${ok(c)}) AS ${n}`).join(',\n    ')} FROM orders`,
};

let counts;
for (const [name, sql] of Object.entries(queries)) {
  for (let i = 0; i < warmup + reps; i++) {
    const cpu0 = process.cpuUsage();
    const q0 = process.hrtime.bigint();
    const result = (await conn.runAndReadAll(sql)).getRows()[0];
    const seconds = Number(process.hrtime.bigint() - q0) / 1e9;
    const cpu = process.cpuUsage(cpu0);
    if (name === 'per_check') counts = Object.fromEntries(checks.map(([n], k) => [n, Number(result[k + 1])]));
    if (i >= warmup) {
      console.log(JSON.stringify({ query: name, rep: i - warmup + 1, seconds, cpu_seconds: (cpu.user + cpu.system) / 1e6,
                                   rows, checks: checks.length, rejected: Number(result[0]) }));
    }
  }
}
console.log(JSON.stringify({ query: 'per_check_counts', counts }));
conn.closeSync?.();
