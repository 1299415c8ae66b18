// API benchmark: autocannon (10 connections, 2 s warm-up + 10 s) against
//   (a) a bare Fastify hello-world GET /health/live, (b) Weir GET /health/live — alternately, twice, best of each —
//   and (c) Weir GET /api/v1/datasets (default page of 50) with 1,000 datasets stored (uploaded through the API).
// The servers are pinned to one core and the load generator to the other, so that neither starves the other.
import { rmSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import {
  BENCH_DIR,
  HIGH_RATE_LIMITS,
  WORK_DIR,
  commandLine,
  describeMachine,
  freePort,
  httpGet,
  log,
  performance,
  postMultipart,
  round,
  runChild,
  startChild,
  startWeir,
  waitFor200,
  writeResult,
} from './lib.mjs';

const HEALTH_RATIO_TARGET = 0.7;
const LIST_P99_TARGET_MS = 20;
const SERVER_CPU = '1';
const LOAD_CPU = '0';

export async function load(url, { connections, duration, warmup, headers = {} }) {
  const r = await runChild(
    process.execPath,
    [path.join(BENCH_DIR, 'load.mjs'), JSON.stringify({ url, connections, duration, warmup, headers })],
    { cpus: LOAD_CPU },
  );
  if (r.code !== 0)
    throw new Error(`autocannon run against ${url} failed (${r.code ?? r.signal}):\n${r.stderr.slice(-3000)}`);
  const out = JSON.parse(r.stdout.trim().split('\n').pop());
  if (out.non2xx > 0 || out.errors > 0)
    throw new Error(`autocannon against ${url}: ${out.non2xx} non-2xx answers, ${out.errors} errors`);
  return {
    reqPerSec: round(out.reqPerSec, 0),
    reqPerSecStddev: round(out.reqPerSecStddev, 0),
    p50Ms: out.latencyMs.p50,
    p99Ms: out.latencyMs.p99,
    maxMs: out.latencyMs.max,
    meanMs: round(out.latencyMs.mean, 2),
    requests: out.requestsTotal,
    throughputMBps: round(out.throughputBytesPerSec / 1e6, 2),
  };
}

export async function populate(url, count, concurrency, headers = {}) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  let next = 0;
  let created = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const res = await postMultipart(`${url}/api/v1/datasets?wait=true`, {
        content: Buffer.from(`a,b\n${i},x\n`),
        filename: `tiny-${i}.csv`,
        fields: { name: `bench-dataset-${String(i).padStart(4, '0')}` },
        agent,
        headers,
      });
      if (res.status !== 201) throw new Error(`upload ${i} answered ${res.status}: ${res.body.slice(0, 1000)}`);
      created++;
    }
  };
  try {
    await Promise.all(Array.from({ length: concurrency }, worker));
  } finally {
    agent.destroy();
  }
  const seconds = (performance.now() - started) / 1000;
  return { created, seconds: round(seconds, 1), uploadsPerSec: round(created / seconds, 1) };
}

export async function runApi() {
  const startedAt = new Date().toISOString();
  const t0 = performance.now();
  const connections = Number(process.env.BENCH_API_CONNECTIONS ?? 10);
  const duration = Number(process.env.BENCH_API_DURATION ?? 10);
  const warmup = Number(process.env.BENCH_API_WARMUP ?? 2);
  const datasetCount = Number(process.env.BENCH_API_DATASETS ?? 1000);
  const machine = await describeMachine();
  const opts = { connections, duration, warmup };

  const barePort = await freePort();
  const bare = startChild(process.execPath, [path.join(BENCH_DIR, 'bare-fastify.mjs')], {
    env: { PORT: String(barePort) },
    cpus: SERVER_CPU,
    label: 'bare fastify',
  });
  const dataDir = path.join(WORK_DIR, 'api-weir-data');
  let weir;
  try {
    const bareUrl = `http://127.0.0.1:${barePort}`;
    await waitFor200(`${bareUrl}/health/live`, bare);
    weir = await startWeir({ dataDir, cpus: SERVER_CPU, env: HIGH_RATE_LIMITS });
    const pinned = bare.pinned !== null && weir.pinned !== null;

    const bareRuns = [];
    const weirRuns = [];
    for (let r = 0; r < 2; r++) {
      log(`api round ${r + 1}/2: bare Fastify /health/live ...`);
      bareRuns.push(await load(`${bareUrl}/health/live`, opts));
      log(`  bare ${bareRuns.at(-1).reqPerSec} req/s, p99 ${bareRuns.at(-1).p99Ms} ms`);
      log(`api round ${r + 1}/2: Weir /health/live ...`);
      weirRuns.push(await load(`${weir.url}/health/live`, opts));
      log(`  Weir ${weirRuns.at(-1).reqPerSec} req/s, p99 ${weirRuns.at(-1).p99Ms} ms`);
    }
    const best = (runs) => runs.reduce((a, b) => (b.reqPerSec > a.reqPerSec ? b : a));
    const bareBest = best(bareRuns);
    const weirBest = best(weirRuns);
    const healthRatio = round(weirBest.reqPerSec / bareBest.reqPerSec, 2);

    log(`uploading ${datasetCount} tiny datasets (concurrency 4) ...`);
    const pop = await populate(weir.url, datasetCount, 4, weir.auth);
    log(`  ${pop.created} datasets in ${pop.seconds} s (${pop.uploadsPerSec}/s)`);
    const page = await httpGet(`${weir.url}/api/v1/datasets`, 5000, weir.auth);
    const pageJson = JSON.parse(page.body);
    if (page.status !== 200 || pageJson.total !== datasetCount)
      throw new Error(`list answered ${page.status} with total ${pageJson.total}, expected ${datasetCount}`);
    log('Weir GET /api/v1/datasets ...');
    const list = await load(`${weir.url}/api/v1/datasets`, { ...opts, headers: weir.auth });
    log(`  list ${list.reqPerSec} req/s, p99 ${list.p99Ms} ms`);

    const result = {
      name: 'api',
      title: 'API throughput and latency (autocannon)',
      startedAt,
      durationS: round((performance.now() - t0) / 1000, 1),
      command: commandLine(),
      machine,
      targets: [
        {
          what: 'Weir /health/live req/s ÷ bare Fastify (best of 2 each)',
          value: healthRatio,
          unit: '×',
          target: `≥ ${HEALTH_RATIO_TARGET}×`,
          pass: healthRatio >= HEALTH_RATIO_TARGET,
        },
        {
          what: `Weir GET /api/v1/datasets p99 (${datasetCount} datasets, page of ${pageJson.limit})`,
          value: list.p99Ms,
          unit: 'ms',
          target: `< ${LIST_P99_TARGET_MS} ms`,
          pass: list.p99Ms < LIST_P99_TARGET_MS,
        },
      ],
      figures: [
        [
          'Bare Fastify /health/live (each run)',
          bareRuns.map((x) => `${x.reqPerSec} req/s, p99 ${x.p99Ms} ms`).join('; '),
        ],
        ['Weir /health/live (each run)', weirRuns.map((x) => `${x.reqPerSec} req/s, p99 ${x.p99Ms} ms`).join('; ')],
        [
          'Best: bare / Weir',
          `${bareBest.reqPerSec} / ${weirBest.reqPerSec} req/s (p99 ${bareBest.p99Ms} / ${weirBest.p99Ms} ms)`,
        ],
        [
          `Weir GET /api/v1/datasets (${datasetCount} datasets)`,
          `${list.reqPerSec} req/s, p50 ${list.p50Ms} ms, p99 ${list.p99Ms} ms, max ${list.maxMs} ms, ${round(page.body.length / 1024, 1)} KiB per response`,
        ],
        [
          `Creating ${datasetCount} datasets via POST (concurrency 4)`,
          `${pop.seconds} s (${pop.uploadsPerSec} uploads/s)`,
        ],
      ],
      notes: [
        `autocannon ${connections} connections, ${warmup} s warm-up (discarded) + ${duration} s measured per run, run from its own process (bench/load.mjs).`,
        pinned
          ? `CPU placement: the servers under test run pinned to core ${SERVER_CPU} and autocannon to core ${LOAD_CPU} (taskset), so they share the 2 cores without starving each other; the figures are one Node event loop's worth of server CPU. The two /health/live servers ran alternately (bare, Weir, bare, Weir) and the better run of each is compared.`
          : 'CPU placement: taskset unavailable, servers and autocannon share the cores unpinned (figures noisier).',
        'Weir runs with WEIR_LOG_LEVEL=warn (the per-request log line is not written) and its default metrics hooks on. Its /health/live is the full app (CORS, request-id, metrics, response schema); the bare server is Fastify with one route and no plugins.',
        `Datasets were created by uploading ${datasetCount} distinct tiny CSVs (a,b\\n<i>,x\\n) through POST /api/v1/datasets?wait=true; the list request is the default page (limit 50, sort -createdAt).`,
      ],
      data: {
        connections,
        duration,
        warmup,
        pinned,
        bareRuns,
        weirRuns,
        list,
        populate: pop,
        listResponseBytes: page.body.length,
      },
    };
    writeResult(result);
    log(
      `api: health ratio ${healthRatio}× (target ≥ ${HEALTH_RATIO_TARGET}×); list p99 ${list.p99Ms} ms (target < ${LIST_P99_TARGET_MS} ms)`,
    );
    return result;
  } finally {
    await bare.stop();
    if (weir) await weir.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
