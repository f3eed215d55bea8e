// The DuckDB peer of bench/run.sh: reads a CSV or JSON-lines file into an in-memory table of
// typed columns with one thread (SET threads=1), the closest DuckDB equivalent of sluice's
// file → typed batches path. Types are sniffed, as sluice infers them.
//
//   node duckdb_peer.mjs csv|jsonl FILE [REPS=3] [WARMUP=1]
//
// Prints one JSON object per timed repetition: {"rep", "seconds", "cpu_seconds", "rows"}.
// `seconds` is the wall time of the query alone (not Node's start-up); `cpu_seconds` is the
// process's user+system CPU time over the same span.
import { DuckDBInstance } from '@duckdb/node-api';

const [kind, file, repsArg, warmupArg] = process.argv.slice(2);
if (!['csv', 'jsonl'].includes(kind) || !file) {
  console.error('usage: node duckdb_peer.mjs csv|jsonl FILE [REPS] [WARMUP]');
  process.exit(2);
}
const reps = Number(repsArg ?? 3);
const warmup = Number(warmupArg ?? 1);
const quoted = "'" + file.replaceAll("'", "''") + "'";
const reader = kind === 'csv'
  ? `read_csv(${quoted}, header = true)`
  : `read_json(${quoted}, format = 'newline_delimited')`;

const instance = await DuckDBInstance.create(':memory:', { threads: '1' });
const conn = await instance.connect();
await conn.run('SET threads = 1');
const threads = (await conn.runAndReadAll("SELECT current_setting('threads')")).getRows()[0][0];
if (Number(threads) !== 1) throw new Error(`DuckDB runs with ${threads} threads, not 1`);

for (let i = 0; i < warmup + reps; i++) {
  await conn.run('DROP TABLE IF EXISTS t');
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await conn.run(`CREATE TABLE t AS SELECT * FROM ${reader}`);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  const rows = Number((await conn.runAndReadAll('SELECT count(*) FROM t')).getRows()[0][0]);
  if (i >= warmup) {
    console.log(JSON.stringify({ rep: i - warmup + 1, seconds, cpu_seconds: (cpu.user + cpu.system) / 1e6, rows }));
  }
}
const types = (await conn.runAndReadAll('DESCRIBE t')).getRows().map((r) => `${r[0]} ${r[1]}`);
console.error(`duckdb ${kind}: ${types.join(', ')}`);
conn.closeSync?.();
