// Pipelines and analytics benchmark, on one generated 10M-row dataset (BENCH_PIPELINE_ROWS):
//   (a) a 5-step pipeline (filter → derive → resample → fill_nulls → aggregate) run by Weir as a job
//       (POST /api/v1/pipelines/run, compile + DuckDB + Parquet + profile + store, measured by the run's own
//       duration) against the same pipeline written by hand as one DuckDB statement, COPY'd to Parquet with the
//       same options, in a bare @duckdb/node-api process with Weir's engine settings. Rounds alternate the order;
//       the best time of each side is compared (target ≤ 1.2×).
//   (b) GET /datasets/:id/timeseries to ≤ 1,000 points, sequential requests after a warm-up, each with a different
//       point count so that none is answered from the answer cache: p50/p95 (target p95 < 500 ms), read from the
//       version's min/max summary once the first request has had it built (that first request is reported apart);
//       then the same request repeated (cached); beside the bare hand-written min/max-per-bucket query.
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  BENCH_DIR,
  WORK_DIR,
  commandLine,
  describeMachine,
  formatBytes,
  freshDir,
  log,
  min,
  performance,
  postMultipart,
  round,
  runChild,
  sleep,
  startWeir,
  writeResult,
} from './lib.mjs';

const GENERATOR_VERSION = 1;
const RATIO_TARGET = 1.2;
const P95_TARGET_MS = 500;

const ROWS = Number(process.env.BENCH_PIPELINE_ROWS || 10_000_000);
const ROUNDS = Number(process.env.BENCH_PIPELINE_ROUNDS || 3);
const TS_REQUESTS = Number(process.env.BENCH_TIMESERIES_REQUESTS || 40);
const TS_WARMUP = 5;
/** How long the first /timeseries request's background summary build may take before the benchmark gives up. */
const SUMMARY_WAIT_MS = 120_000;
const POINTS = 1000;

/** Sensor-like rows, one per second: TIMESTAMPTZ, three DOUBLE with ~2% nulls, an INTEGER, a category of 8. */
function generatorSql(rows, file) {
  const dbl = (k, scale, offset) =>
    `CASE WHEN hash(i, ${k * 10 + 1}) % 50 = 0 THEN NULL ELSE ${offset} + ${scale} * sin(i / ${3600 * (k + 1)}.0) + CAST(hash(i, ${k * 10}) % 1000 AS DOUBLE) / 1000 END`;
  return `COPY (
    SELECT TIMESTAMPTZ '2024-01-01 00:00:00+00' + to_seconds(i) AS ts,
           ${dbl(1, 10, 15)} AS temperature, ${dbl(2, 20, 1000)} AS pressure, ${dbl(3, 30, 50)} AS humidity,
           CAST(hash(i, 40) % 10000 AS INTEGER) AS count,
           (['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta', 'theta'])[1 + CAST(hash(i, 50) % 8 AS INTEGER)] AS category
    FROM range(${rows}) t(i)
  ) TO '${file.replaceAll("'", "''")}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880)`;
}

async function ensureParquet(rows) {
  const file = path.join(WORK_DIR, `pipelines-${rows}.parquet`);
  const metaFile = `${file}.meta.json`;
  if (existsSync(file) && existsSync(metaFile)) {
    const meta = JSON.parse(readFileSync(metaFile, 'utf8'));
    if (meta.rows === rows && meta.generator === GENERATOR_VERSION && statSync(file).size === meta.bytes)
      return { file, bytes: meta.bytes };
  }
  log(`generating ${rows} rows with DuckDB into ${path.relative(process.cwd(), file)} ...`);
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const instance = await DuckDBInstance.create(':memory:', {
    threads: String(os.availableParallelism()),
    memory_limit: '2GB',
  });
  const c = await instance.connect();
  try {
    await c.run("SET TimeZone = 'UTC'");
    await c.run(generatorSql(rows, `${file}.tmp`));
  } finally {
    c.closeSync();
    instance.closeSync();
  }
  renameSync(`${file}.tmp`, file);
  const bytes = statSync(file).size;
  writeFileSync(metaFile, JSON.stringify({ rows, bytes, generator: GENERATOR_VERSION }));
  return { file, bytes };
}

/** The pipeline as a Weir definition… */
const definition = (datasetId) => ({
  input: { datasetId },
  steps: [
    { type: 'filter', expression: "temperature is not null and category <> 'zeta'" },
    { type: 'derive', column: 'temp_f', expression: 'temperature * 9 / 5 + 32' },
    {
      type: 'resample',
      time: 'ts',
      every: '1h',
      groupBy: ['category'],
      aggregations: { temp_f: 'mean', pressure: 'mean', humidity: 'max' },
    },
    {
      type: 'fill_nulls',
      columns: ['pressure', 'humidity'],
      method: 'forward',
      orderBy: 'ts',
      partitionBy: ['category'],
    },
    {
      type: 'aggregate',
      groupBy: ['category'],
      aggregations: [
        { function: 'count', as: 'hours' },
        { function: 'mean', column: 'temp_f', as: 'mean_temp_f' },
        { function: 'max', column: 'pressure', as: 'max_pressure' },
        { function: 'p95', column: 'humidity', as: 'p95_humidity' },
      ],
    },
  ],
  output: { name: 'bench-pipeline-output' },
});

/** …and as the SQL a DuckDB user would write by hand. */
const HAND_SQL = `
WITH f AS (SELECT * FROM $SOURCE WHERE temperature IS NOT NULL AND category <> 'zeta'),
d AS (SELECT *, temperature * 9 / 5 + 32 AS temp_f FROM f),
r AS (SELECT time_bucket(INTERVAL '1 hour', ts) AS ts, category, avg(temp_f) AS temp_f, avg(pressure) AS pressure, max(humidity) AS humidity FROM d GROUP BY ALL),
fl AS (
  SELECT ts, category, temp_f,
         coalesce(pressure, last_value(pressure IGNORE NULLS) OVER w) AS pressure,
         coalesce(humidity, last_value(humidity IGNORE NULLS) OVER w) AS humidity
  FROM r WINDOW w AS (PARTITION BY category ORDER BY ts ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
)
SELECT category, count(*) AS hours, avg(temp_f) AS mean_temp_f, max(pressure) AS max_pressure, quantile_cont(humidity, 0.95) AS p95_humidity
FROM fl GROUP BY category ORDER BY category`;

/** Min and max value (with their times) per bucket of 2 × range / points: what minmax downsampling needs. */
const timeseriesSql = (rows) => `
SELECT time_bucket(INTERVAL '${Math.ceil((rows * 2) / POINTS)} seconds', ts, TIMESTAMPTZ '2024-01-01 00:00:00+00') AS bucket,
       arg_min(ts, temperature) AS t_min, min(temperature) AS v_min, arg_max(ts, temperature) AS t_max, max(temperature) AS v_max
FROM $SOURCE WHERE temperature IS NOT NULL GROUP BY 1 ORDER BY 1`;

async function api(server, method, url, body) {
  const res = await fetch(`${server.url}${url}`, {
    method,
    headers: { ...server.auth, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${url} answered ${res.status}: ${text.slice(0, 2000)}`);
  return JSON.parse(text);
}

async function runWeirPipeline(server, datasetId) {
  const started = performance.now();
  const accepted = await api(server, 'POST', '/api/v1/pipelines/run', { definition: definition(datasetId) });
  for (;;) {
    const run = await api(server, 'GET', `/api/v1/pipelines/runs/${accepted.runId}`);
    if (run.status === 'succeeded')
      return {
        runMs: run.durationMs,
        wallMs: round(performance.now() - started, 0),
        rows: run.rowCount,
        outputDatasetId: run.output.datasetId,
        outputVersionId: run.output.versionId,
      };
    if (run.status === 'failed' || run.status === 'cancelled')
      throw new Error(`pipeline run ${run.status}: ${JSON.stringify(run.error)}`);
    await sleep(20);
  }
}

async function runBare(parquet, threads, memoryLimit, timeseriesRuns) {
  const outDir = freshDir(path.join(WORK_DIR, 'pipelines-duckdb'));
  const r = await runChild(process.execPath, [
    path.join(BENCH_DIR, 'pipeline-baseline.mjs'),
    JSON.stringify({
      parquet,
      outDir,
      threads,
      memoryLimit,
      pipelineSql: HAND_SQL,
      timeseriesSql: timeseriesSql(ROWS),
      timeseriesRuns,
    }),
  ]);
  if (r.code !== 0) throw new Error(`pipeline-baseline failed (${r.code ?? r.signal}):\n${r.stderr.slice(-4000)}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

const percentile = (xs, p) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
};

export async function runPipelines() {
  const startedAt = new Date().toISOString();
  const t0 = performance.now();
  const machine = await describeMachine();
  const threads = Number(process.env.BENCH_DUCKDB_THREADS || os.availableParallelism());
  const memoryLimit = process.env.BENCH_DUCKDB_MEMORY_LIMIT || '512MB';
  const { file, bytes } = await ensureParquet(ROWS);
  log(`dataset: ${ROWS} rows, ${formatBytes(bytes)} Parquet`);

  const dataDir = path.join(WORK_DIR, 'pipelines-weir-data');
  const server = await startWeir({
    dataDir,
    env: { WEIR_DUCKDB_THREADS: String(threads), WEIR_DUCKDB_MEMORY_LIMIT: memoryLimit },
  });
  const weir = [];
  const bare = [];
  let timeseries;
  let check;
  try {
    const up = await postMultipart(`${server.url}/api/v1/datasets?wait=true`, {
      filePath: file,
      fields: { name: 'bench-pipelines' },
      contentType: 'application/vnd.apache.parquet',
      headers: server.auth,
    });
    if (up.status !== 201) throw new Error(`upload answered ${up.status}: ${up.body.slice(0, 1000)}`);
    const datasetId = up.json.id;
    log(`uploaded as ${datasetId} in ${round(up.totalMs / 1000, 1)} s`);

    for (let r = 0; r < ROUNDS; r++) {
      const order = r % 2 === 0 ? ['weir', 'bare'] : ['bare', 'weir'];
      for (const side of order) {
        if (side === 'weir') weir.push(await runWeirPipeline(server, datasetId));
        else bare.push(await runBare(file, threads, memoryLimit, 0));
        log(`round ${r + 1} ${side}: ${side === 'weir' ? weir.at(-1).runMs : bare.at(-1).pipelineMs} ms`);
      }
    }
    // Same answer both ways: the rows Weir stored against the bare statement's row count.
    const last = weir.at(-1);
    if (last.rows !== bare.at(-1).rows)
      throw new Error(`Weir wrote ${last.rows} rows, the hand-written SQL ${bare.at(-1).rows}`);
    check = await api(server, 'GET', `/api/v1/datasets/${last.outputDatasetId}/preview?limit=10`);

    // Answers are kept by version (src/analytics/cache.ts), so each measured request asks for a different point
    // count (1000, 999, …): every one is computed afresh, as the first view of a chart is. The repeated request
    // (the cached answer) is measured apart.
    const url = (points) => `/api/v1/datasets/${datasetId}/timeseries?time=ts&value=temperature&points=${points}`;
    // The first request of a version this large answers from the rows and starts building its min/max summary in the
    // background (src/analytics/summaries.ts); the measured requests read the summary once it is stored, as every
    // view of the chart after the first does. Both are reported.
    const firstStarted = performance.now();
    await api(server, 'GET', url(POINTS + 1));
    const firstMs = performance.now() - firstStarted;
    const summaryReadyMs = await waitForSummary(dataDir, firstStarted);
    const times = [];
    let answer;
    for (let i = 0; i < TS_WARMUP + TS_REQUESTS; i++) {
      const points = i < TS_WARMUP ? POINTS - TS_REQUESTS - 1 - i : POINTS - (i - TS_WARMUP);
      const s = performance.now();
      answer = await api(server, 'GET', url(points));
      if (i >= TS_WARMUP) times.push(performance.now() - s);
      if (answer.points.length > points)
        throw new Error(`/timeseries answered ${answer.points.length} points for points=${points}`);
    }
    const repeated = [];
    for (let i = 0; i < TS_REQUESTS; i++) {
      const s = performance.now();
      await api(server, 'GET', url(POINTS));
      repeated.push(performance.now() - s);
    }
    const bareTs = await runBare(file, threads, memoryLimit, TS_REQUESTS);
    timeseries = {
      firstMs: round(firstMs, 1),
      summaryReadyMs: round(summaryReadyMs, 1),
      requests: TS_REQUESTS,
      points: answer.points.length,
      mode: answer.mode,
      p50Ms: round(percentile(times, 50), 1),
      p95Ms: round(percentile(times, 95), 1),
      maxMs: round(Math.max(...times), 1),
      repeatedP50Ms: round(percentile(repeated, 50), 1),
      repeatedP95Ms: round(percentile(repeated, 95), 1),
      bareQueryP50Ms: round(percentile(bareTs.timeseriesMs, 50), 1),
      bareQueryP95Ms: round(percentile(bareTs.timeseriesMs, 95), 1),
    };
  } finally {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }

  const bestWeir = min(weir.map((w) => w.runMs));
  const bestBare = min(bare.map((b) => b.pipelineMs));
  const ratio = round(bestWeir / bestBare, 2);
  const result = {
    name: 'pipelines',
    title: `Pipelines and /timeseries on ${ROWS.toLocaleString('en-US')} rows`,
    startedAt,
    durationS: round((performance.now() - t0) / 1000, 0),
    machine,
    command: commandLine(),
    targets: [
      {
        what: '5-step pipeline, Weir run ÷ hand-written DuckDB SQL (best of each)',
        value: ratio,
        unit: '×',
        target: `≤ ${RATIO_TARGET}×`,
        pass: ratio <= RATIO_TARGET,
      },
      {
        what: `/timeseries ${ROWS.toLocaleString('en-US')} rows → ≤ ${POINTS} points, p95`,
        value: timeseries.p95Ms,
        unit: 'ms',
        target: `< ${P95_TARGET_MS} ms`,
        pass: timeseries.p95Ms < P95_TARGET_MS,
      },
    ],
    figures: [
      ['input', `${ROWS} rows, ${formatBytes(bytes)} Parquet`],
      ['Weir pipeline runs (job duration)', weir.map((w) => `${w.runMs} ms`).join(', ')],
      ['Weir pipeline runs (request → run finished, polled every 20 ms)', weir.map((w) => `${w.wallMs} ms`).join(', ')],
      ['bare DuckDB hand-written SQL → Parquet', bare.map((b) => `${b.pipelineMs} ms`).join(', ')],
      ['output rows (both)', String(weir.at(-1).rows)],
      [
        '/timeseries first request (answered from the rows; starts the summary build)',
        `${timeseries.firstMs} ms; the summary was stored ${timeseries.summaryReadyMs} ms after that request began`,
      ],
      [
        '/timeseries computed afresh: p50 / p95 / max',
        `${timeseries.p50Ms} / ${timeseries.p95Ms} / ${timeseries.maxMs} ms (${timeseries.requests} sequential requests, points=1000…${POINTS - TS_REQUESTS + 1} so none is answered from the cache, after ${TS_WARMUP} warm-up, mode ${timeseries.mode})`,
      ],
      [
        '/timeseries repeated (answer kept by version): p50 / p95',
        `${timeseries.repeatedP50Ms} / ${timeseries.repeatedP95Ms} ms`,
      ],
      ['bare min/max-per-bucket query p50 / p95', `${timeseries.bareQueryP50Ms} / ${timeseries.bareQueryP95Ms} ms`],
      ['threads / memory_limit', `${threads} / ${memoryLimit}`],
    ],
    notes: [
      "Weir's figure is the run's own duration: compiling the steps (DuckDB DESCRIBE per step), the statement, writing Parquet, profiling the output, storing the blob and the version row with lineage. The bare side runs only the statement and writes Parquet.",
    ],
    data: { weir, bare, timeseries, outputPreview: check },
  };
  const written = writeResult(result);
  log(
    `pipeline ratio ${ratio}× (Weir ${bestWeir} ms, bare ${bestBare} ms); /timeseries p95 ${timeseries.p95Ms} ms → ${written}`,
  );
  return result;
}

/** Milliseconds from `since` until a time series summary is stored under the data dir's blobs (local driver). */
async function waitForSummary(dataDir, since) {
  const found = () => {
    const stack = [dataDir];
    while (stack.length > 0) {
      const dir = stack.pop();
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) stack.push(full);
        else if (dir.endsWith('.summaries') && entry.name.endsWith('.parquet')) return true;
      }
    }
    return false;
  };
  while (!found()) {
    if (performance.now() - since > SUMMARY_WAIT_MS)
      throw new Error(`no time series summary was stored within ${SUMMARY_WAIT_MS / 1000} s of the first request`);
    await sleep(50);
  }
  return performance.now() - since;
}
