// The bare-DuckDB side of the pipelines benchmark, in its own Node process with Weir's engine settings (threads,
// memory_limit, temp_directory, TimeZone UTC): the hand-written SQL of the benchmark's 5-step pipeline, written to
// Parquet with the options Weir writes versions with; and the hand-written min/max-per-bucket query of /timeseries.
//
// Usage: node bench/pipeline-baseline.mjs '<json: {parquet, outDir, threads, memoryLimit, pipelineSql, timeseriesSql, timeseriesRuns}>'
//   → one JSON line on stdout.
import { mkdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { DuckDBInstance } from '@duckdb/node-api';

const opts = JSON.parse(process.argv[2] ?? '{}');
const { parquet, outDir, threads, memoryLimit, pipelineSql, timeseriesSql, timeseriesRuns = 0 } = opts;
if (!parquet || !outDir || !pipelineSql)
  throw new Error('usage: pipeline-baseline.mjs {"parquet","outDir","threads","memoryLimit","pipelineSql"}');
const quote = (s) => `'${s.replaceAll("'", "''")}'`;

await rm(outDir, { recursive: true, force: true });
await mkdir(outDir, { recursive: true });
const out = path.join(outDir, 'pipeline.parquet');
const instance = await DuckDBInstance.create(':memory:', {
  memory_limit: memoryLimit,
  threads: String(threads),
  temp_directory: path.join(outDir, 'duckdb-tmp'),
  autoinstall_known_extensions: 'false',
  autoload_known_extensions: 'true',
});
const c = await instance.connect();
await c.run("SET GLOBAL TimeZone = 'UTC'");

const source = `read_parquet(${quote(parquet)})`;
let t = performance.now();
await c.run(
  `COPY (${pipelineSql.replaceAll('$SOURCE', source)}) TO ${quote(out)} (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880)`,
);
const pipelineMs = performance.now() - t;
const rows = Number(
  (await c.runAndReadAll(`SELECT count(*) AS n FROM read_parquet(${quote(out)})`)).getRowObjectsJS()[0].n,
);
const outputBytes = (await stat(out)).size;

const timeseriesMs = [];
for (let i = 0; i < timeseriesRuns; i++) {
  t = performance.now();
  await c.runAndReadAll(timeseriesSql.replaceAll('$SOURCE', source));
  timeseriesMs.push(performance.now() - t);
}
c.closeSync();
instance.closeSync();
await rm(outDir, { recursive: true, force: true });
console.log(
  JSON.stringify({ pipelineMs: Math.round(pipelineMs), rows, outputBytes, timeseriesMs: timeseriesMs.map(Math.round) }),
);
