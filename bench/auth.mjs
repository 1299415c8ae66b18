// Authentication overhead: autocannon GET /api/v1/datasets (default page of 50, N datasets) against
//   (a) a Weir server with authentication switched off (WEIR_INSECURE_DISABLE_AUTH, loopback only),
//   (b) a Weir server with authentication on, called with a JWT access token, and
//   (c) the same server called with an API key,
// both servers over the same data directory, pinned to the same core and run alternately (a, b, c, a, b, c);
// the best run of each is compared. Target: authenticated throughput at most 10% below unauthenticated.
import { rmSync } from 'node:fs';
import path from 'node:path';
import { load, populate } from './api.mjs';
import {
  HIGH_RATE_LIMITS,
  WORK_DIR,
  commandLine,
  describeMachine,
  log,
  performance,
  round,
  startWeir,
  writeResult,
} from './lib.mjs';

const SLOWDOWN_TARGET = 0.1;
const SERVER_CPU = '1';

export async function runAuth() {
  const startedAt = new Date().toISOString();
  const t0 = performance.now();
  const connections = Number(process.env.BENCH_API_CONNECTIONS ?? 10);
  const duration = Number(process.env.BENCH_API_DURATION ?? 10);
  const warmup = Number(process.env.BENCH_API_WARMUP ?? 2);
  const datasetCount = Number(process.env.BENCH_AUTH_DATASETS ?? 300);
  const machine = await describeMachine();
  const dataDir = path.join(WORK_DIR, 'auth-weir-data');
  let secured;
  let open;
  try {
    secured = await startWeir({ dataDir, cpus: SERVER_CPU, env: HIGH_RATE_LIMITS });
    log(`uploading ${datasetCount} tiny datasets ...`);
    await populate(secured.url, datasetCount, 4, secured.auth);
    const keyRes = await fetch(`${secured.url}/api/v1/keys`, {
      method: 'POST',
      headers: { ...secured.auth, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'bench', scopes: ['datasets:read'] }),
    });
    if (keyRes.status !== 201) throw new Error(`creating an API key answered ${keyRes.status}`);
    const apiKey = { authorization: `Bearer ${(await keyRes.json()).token}` };
    open = await startWeir({ dataDir, cpus: SERVER_CPU, fresh: false, env: { WEIR_INSECURE_DISABLE_AUTH: 'true' } });

    const opts = { connections, duration, warmup };
    const runs = { open: [], jwt: [], apiKey: [] };
    for (let r = 0; r < 2; r++) {
      for (const [name, url, headers] of [
        ['open', open.url, {}],
        ['jwt', secured.url, secured.auth],
        ['apiKey', secured.url, apiKey],
      ]) {
        log(`auth round ${r + 1}/2: ${name} ...`);
        runs[name].push(await load(`${url}/api/v1/datasets`, { ...opts, headers }));
        log(`  ${runs[name].at(-1).reqPerSec} req/s, p99 ${runs[name].at(-1).p99Ms} ms`);
      }
    }
    const best = (list) => list.reduce((a, b) => (b.reqPerSec > a.reqPerSec ? b : a));
    const bOpen = best(runs.open);
    const bJwt = best(runs.jwt);
    const bKey = best(runs.apiKey);
    const slowdown = (x) => round(1 - x.reqPerSec / bOpen.reqPerSec, 3);
    const result = {
      name: 'auth',
      title: 'Authentication overhead on GET /api/v1/datasets (autocannon)',
      startedAt,
      durationS: round((performance.now() - t0) / 1000, 1),
      command: commandLine(),
      machine,
      targets: [
        {
          what: 'JWT: throughput lost vs auth off (best of 2 each)',
          value: round(slowdown(bJwt) * 100, 1),
          unit: '%',
          target: `≤ ${SLOWDOWN_TARGET * 100}%`,
          pass: slowdown(bJwt) <= SLOWDOWN_TARGET,
        },
        {
          what: 'API key: throughput lost vs auth off (best of 2 each)',
          value: round(slowdown(bKey) * 100, 1),
          unit: '%',
          target: `≤ ${SLOWDOWN_TARGET * 100}%`,
          pass: slowdown(bKey) <= SLOWDOWN_TARGET,
        },
      ],
      figures: [
        ['Auth off (each run)', runs.open.map((x) => `${x.reqPerSec} req/s, p99 ${x.p99Ms} ms`).join('; ')],
        ['JWT (each run)', runs.jwt.map((x) => `${x.reqPerSec} req/s, p99 ${x.p99Ms} ms`).join('; ')],
        ['API key (each run)', runs.apiKey.map((x) => `${x.reqPerSec} req/s, p99 ${x.p99Ms} ms`).join('; ')],
      ],
      notes: [
        `autocannon ${connections} connections, ${warmup} s warm-up + ${duration} s per run; servers pinned to core ${SERVER_CPU}, autocannon to the other; runs alternate (off, JWT, key) twice.`,
        `Both servers read the same SQLite data directory (${datasetCount} datasets). The authenticated one checks the bearer on every request: a JWT's signature (HS256; a token already verified is remembered by its text until it expires) or an API key's secret (SHA-256), the session or key row with the caller's role and the workspace's IP rules (cached in-process up to 2 s, dropped on every identity write; without the cache this was one query per request), session/key expiry, the per-user or per-key rate limit (in-process) with its headers; it writes no audit row (GET).`,
      ],
      data: { connections, duration, warmup, datasetCount, runs },
    };
    writeResult(result);
    log(
      `auth: JWT -${result.targets[0].value}%, API key -${result.targets[1].value}% (target ≤ ${SLOWDOWN_TARGET * 100}%)`,
    );
    return result;
  } finally {
    if (open) await open.stop();
    if (secured) await secured.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
