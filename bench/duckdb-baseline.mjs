// The bare-DuckDB baseline of the ingest benchmark, run as its own Node process (so its memory is measured like
// the Weir server's): the same engine settings as Weir (threads, memory_limit, temp_directory, TimeZone UTC),
// read_csv → COPY to Parquet with Weir's options, then DESCRIBE and exactly the profile SQL Weir runs
// (footerRangesSql, then summarySql with the numeric columns' histograms, topValuesSql per text/boolean column,
// exactDistinctSql per column whose distinct count is cheap to make exact).
//
// Usage: node bench/duckdb-baseline.mjs '<json: {csv, outDir, threads, memoryLimit}>'  → one JSON line on stdout.
import { readFileSync } from 'node:fs';
import { mkdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { DuckDBInstance } from '@duckdb/node-api';
import {
  EXACT_DISTINCT_BATCH,
  EXACT_DISTINCT_VALUES,
  countedExactly,
  exactDistinctSql,
  footerRanges,
  parquetRowsSql,
  parquetSource,
  summarySql,
  topValuesSql,
} from '../dist/engine/profile.js';
import { literal, typeFamily } from '../dist/engine/sql.js';

const opts = JSON.parse(process.argv[2] ?? '{}');
const { csv, outDir, threads, memoryLimit } = opts;
if (!csv || !outDir) throw new Error('usage: duckdb-baseline.mjs {"csv","outDir","threads","memoryLimit"}');

const hwmKB = () => Number(/^VmHWM:\s+(\d+)/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? NaN);
const num = (v) =>
  typeof v === 'bigint' ? Number(v) : typeof v === 'number' ? v : typeof v === 'string' && v !== '' ? Number(v) : null;

await rm(outDir, { recursive: true, force: true });
await mkdir(outDir, { recursive: true });
const parquet = path.join(outDir, 'baseline.parquet');

const instance = await DuckDBInstance.create(':memory:', {
  memory_limit: memoryLimit,
  threads: String(threads),
  temp_directory: path.join(outDir, 'duckdb-tmp'),
  autoinstall_known_extensions: 'false',
  autoload_known_extensions: 'true',
});
const c = await instance.connect();
await c.run("SET GLOBAL TimeZone = 'UTC'");
const all = async (sql) => (await c.runAndReadAll(sql)).getRowObjectsJS();

const ms = {};
const t0 = performance.now();
let t = t0;
const lap = (name) => {
  const now = performance.now();
  ms[name] = Math.round(now - t);
  t = now;
};

// Weir reads with its sniffed dialect in strict mode; here the dialect is given the same way.
const copy = await c.run(
  `COPY (SELECT * FROM read_csv(${literal(csv)}, delim = ',', quote = '"', escape = '"', header = true, strict_mode = true, null_padding = false, encoding = 'utf-8')) ` +
    `TO ${literal(parquet)} (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880)`,
);
const rowsCopied = Number(copy.rowsChanged);
lap('copyToParquet');

const columns = (await all(`DESCRIBE SELECT * FROM ${parquetSource(parquet)}`)).map((r) => ({
  name: String(r.column_name),
  type: String(r.column_type),
  nullable: r.null !== 'NO',
}));
lap('describe');

const source = parquetSource(parquet);
// The same two steps as Weir's profileParquet: numeric ranges from the footer, then one pass of summary + histograms.
// Weir's own footerRanges, over this bare connection (it only needs an `all(sql)`).
const ranges = await footerRanges({ all }, parquet, columns);
const [footer] = await all(parquetRowsSql(parquet));
const apart = countedExactly(columns, num(footer.n), ranges);
lap('footerRanges');
const [summary] = await all(summarySql(source, columns, ranges, 0, apart));
lap('summaryAndHistograms');

const topColumns = columns.filter((col) => ['text', 'boolean'].includes(typeFamily(col.type)));
for (const col of topColumns) await all(topValuesSql(source, col));
lap('topValues');

const exact = [...columns.keys()].filter((i) => {
  const estimate = num(summary[`c${i}_distinct`]);
  return apart.has(i) || (estimate !== null && estimate <= EXACT_DISTINCT_VALUES);
});
for (let first = 0; first < exact.length; first += EXACT_DISTINCT_BATCH) {
  await all(exactDistinctSql(source, columns, exact.slice(first, first + EXACT_DISTINCT_BATCH)));
}
lap('exactDistinct');

const totalMs = Math.round(performance.now() - t0);
const parquetBytes = (await stat(parquet)).size;
c.closeSync();
instance.closeSync();
await rm(outDir, { recursive: true, force: true });

process.stdout.write(
  `${JSON.stringify({
    totalMs,
    ms,
    rows: num(summary.__rows),
    rowsCopied,
    columns: columns.map((col) => `${col.name} ${col.type}`),
    numericColumns: ranges.length,
    topValueColumns: topColumns.length,
    parquetBytes,
    hwmKB: hwmKB(),
  })}\n`,
);
