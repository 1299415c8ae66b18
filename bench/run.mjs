// Entry point of the Weir benchmarks (after `npm run build`):
//   node bench/run.mjs                 all three: ingest, startup, api
//   node bench/run.mjs ingest|startup|api|jobs|auth|ws-fanout|uploads|pipelines|dashboard|models|models-ett|models-trees|models-latency|connectors [...]
//   (models = models-ett + models-trees + models-latency: forecasting accuracy on ETT, trees against XGBoost and
//   scikit-learn, single-row predict latency against bare Fastify)
// Environment: BENCH_ROWS (ingest rows, default 12000000), BENCH_INGEST_REPEATS (default 2),
// BENCH_DUCKDB_THREADS / BENCH_DUCKDB_MEMORY_LIMIT (default: cores / 512MB), BENCH_STARTUP_RUNS (default 5),
// BENCH_API_DURATION / BENCH_API_WARMUP / BENCH_API_CONNECTIONS / BENCH_API_DATASETS (10 / 2 / 10 / 1000),
// BENCH_WS_CLIENTS / BENCH_WS_ROUNDS / BENCH_WS_CLIENT_PROCS / BENCH_WS_PAYLOAD_BYTES / BENCH_REDIS_URL (ws-fanout: 10000 / 20 / 2 / 200 /
// redis://127.0.0.1:6379; needs Redis and `ulimit -n` above the client count + 1024),
// BENCH_WEIR_ENTRY (server entry spawned as `node <entry> serve`, default dist/weir.mjs, the shipped bin; e.g. dist/main.js for the unbundled build),
// BENCH_UPLOAD_BYTES / BENCH_UPLOAD_CHUNK / BENCH_UPLOAD_REPEATS (uploads: 2e9 / 8 MiB / 2),
// BENCH_PIPELINE_ROWS / BENCH_PIPELINE_ROUNDS / BENCH_TIMESERIES_REQUESTS (pipelines: 10000000 / 3 / 40),
// BENCH_ETT_DIR / BENCH_ETT_FILES / BENCH_ETT_HORIZONS / BENCH_ETT_ALGORITHM (models: ../shared/data/ett / ETTh2,ETTm2 / 96,192,336,720 / auto),
// BENCH_TREES_ROWS / BENCH_TREES_CLASS_ROWS / BENCH_TREES_TEST_ROWS (models-trees: 1000000 / 200000 / 100000),
// BENCH_MODELS_REQUESTS / BENCH_MODELS_WARMUP / BENCH_MODELS_ROWS (models-latency: 3000 / 300 / 5000),
// BENCH_MQTT_URL / BENCH_MQTT_MESSAGES / BENCH_FLUSH_MS / BENCH_POLL_CHANNELS / BENCH_POLL_MINUTES (connectors: mqtt://127.0.0.1:1883 /
// 200000 / 5000 / 1000 / 3),
// BENCH_RESULTS_DIR (default bench/results; point it elsewhere for smoke runs).
// Results: bench/results/<name>-<YYYY-MM-DD>.json and a section in bench/results/README.md.
// Generated data: bench/.work/ (gitignored).
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { RESULTS_DIR, ROOT, WORK_DIR, log } from './lib.mjs';

const BENCHES = {
  ingest: async () => (await import('./ingest.mjs')).runIngest(),
  startup: async () => (await import('./startup.mjs')).runStartup(),
  api: async () => (await import('./api.mjs')).runApi(),
  jobs: async () => (await import('./jobs.mjs')).runJobs(),
  auth: async () => (await import('./auth.mjs')).runAuth(),
  'ws-fanout': async () => (await import('./ws-fanout.mjs')).runWsFanout(),
  uploads: async () => (await import('./uploads.mjs')).runUploads(),
  pipelines: async () => (await import('./pipelines.mjs')).runPipelines(),
  dashboard: async () => (await import('./dashboard.mjs')).runDashboard(),
  'models-ett': async () => (await import('./models-ett.mjs')).runModelsEtt(),
  'models-trees': async () => (await import('./models-trees.mjs')).runModelsTrees(),
  'models-latency': async () => (await import('./models-latency.mjs')).runModelsLatency(),
  connectors: async () => (await import('./connectors.mjs')).runConnectors(),
};

/** Names that stand for several benchmarks, run in this order. */
const GROUPS = { models: ['models-ett', 'models-trees', 'models-latency'] };

const wanted = process.argv.slice(2).flatMap((w) => GROUPS[w] ?? [w]);
const unknown = wanted.filter((w) => !(w in BENCHES));
if (unknown.length > 0) {
  console.error(
    `unknown benchmark(s): ${unknown.join(', ')}; expected one or more of ${Object.keys(BENCHES).join(', ')}`,
  );
  process.exit(2);
}
const selected = wanted.length > 0 ? wanted : Object.keys(BENCHES);
mkdirSync(WORK_DIR, { recursive: true });

const summary = [];
const missed = [];
let failed = false;
for (const name of selected) {
  log(`=== ${name} ===`);
  try {
    const result = await BENCHES[name]();
    for (const t of result.targets) {
      const verdict = t.value === null ? 'NOT MEASURED' : t.pass ? 'PASS' : 'MISS';
      const line = `${name}: ${t.what}: ${t.value ?? 'n/a'}${t.unit ? ` ${t.unit}` : ''} (target ${t.target}) ${verdict}`;
      summary.push(line);
      if (verdict !== 'PASS') missed.push(line);
    }
  } catch (e) {
    failed = true;
    console.error(`[bench] ${name} failed: ${e instanceof Error ? e.stack : String(e)}`);
    summary.push(`${name}: FAILED (${e instanceof Error ? e.message.split('\n')[0] : String(e)})`);
  }
}
console.log('\nSummary:');
for (const line of summary) console.log(`  ${line}`);
console.log(`Results: ${path.relative(ROOT, path.join(RESULTS_DIR, 'README.md'))}`);
// A missed budget is not a footnote: it is repeated last, where a reader (or a script) sees it, and the exit status
// says so: 1 when a benchmark could not run, 3 when every benchmark ran and a budget was missed.
if (missed.length > 0) {
  console.log(`\n*** ${missed.length} BUDGET${missed.length === 1 ? '' : 'S'} MISSED ***`);
  for (const line of missed) console.log(`  ${line}`);
}
// Child processes are killed by lib.mjs's exit handler if any is left.
process.exit(failed ? 1 : missed.length > 0 ? 3 : 0);
