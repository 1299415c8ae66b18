import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Job } from '../src/jobs/types.js';
import type { Model, ModelVersion } from '../src/models/model.js';
import { blobsUnderTest, createTestDatabase, pgAdminUrl } from './helpers/app.js';
import { eventually } from './helpers/identity.js';
import { startServerProcess, type ServerProcess } from './helpers/process.js';
import { startS3Server } from './helpers/s3.js';
import { uploadDataset } from './helpers/upload.js';

/**
 * A training is a queued job like any other: `weir serve` and its job worker process are SIGKILLed together (a
 * power cut) while a model is being fitted; after a restart on the same data dir (and database, and bucket) the job runs again and
 * registers exactly one version, whose artifact the restarted server predicts with.
 */
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** SIGKILL to the server's process group: the server and its job worker process die together, as in a power cut. */
async function kill(server: ServerProcess): Promise<void> {
  try {
    process.kill(-server.child.pid!, 'SIGKILL');
  } catch {
    // The group is gone already.
  }
  await server.exited;
}

/** A regression problem with some structure to fit. */
function regressionCsv(rows: number): string {
  const lines = ['a,b,c,y'];
  for (let i = 0; i < rows; i++) {
    const a = (i * 37) % 101;
    const b = (i * 11) % 53;
    const c = (i * 7) % 29;
    lines.push(`${a},${b},${c},${((a * b) % 61) + c}`);
  }
  return lines.join('\n') + '\n';
}

describe(`SIGKILL mid-training (${blobsUnderTest} blobs)`, () => {
  it('runs the training again after a restart and registers exactly one version', { timeout: 180_000 }, async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'weir-modelkill-'));
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    const db = pgAdminUrl ? await createTestDatabase(pgAdminUrl) : null;
    if (db) cleanups.push(() => db.drop());
    const s3 = blobsUnderTest === 's3' ? await startS3Server() : null;
    if (s3) cleanups.push(() => s3.close());
    const env = {
      WEIR_DATA_DIR: dataDir,
      ...(db ? { WEIR_DATABASE_URL: db.url } : {}),
      ...s3?.env,
      // A killed attempt's lease runs out after a second, so the restarted server takes the job up at once.
      WEIR_JOB_LEASE: '1s',
      WEIR_JOB_POLL_INTERVAL: '100ms',
    };
    const first = await startServerProcess(env, { detached: true });
    cleanups.push(() => kill(first));
    const api = (s: ServerProcess) => `${s.url}/api/v1`;
    const call = (s: ServerProcess, method: string, route: string, body?: unknown) =>
      fetch(`${api(s)}${route}`, {
        method,
        headers: { ...s.auth, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });

    const data = await uploadDataset({ api: api(first), auth: first.auth }, regressionCsv(20_000), {
      filename: 'kill.csv',
    });
    const res = await call(first, 'POST', '/models', {
      name: 'survivor',
      datasetId: data.id,
      task: 'regression',
      target: 'y',
      algorithm: 'gbdt',
      // Rounds without end, stopped by the time budget: each attempt fits for about 3 s.
      params: { rounds: 100_000, earlyStoppingRounds: 0 },
      budgetSeconds: 3,
    });
    expect(res.status, await res.clone().text()).toBe(202);
    const { model, job } = (await res.json()) as { model: Model; job: Job };

    // Killed while the fit thread works: the job is running and says it is fitting.
    const fitting = await eventually(
      async () => (await (await call(first, 'GET', `/jobs/${job.id}`)).json()) as Job,
      (j) => j.status === 'running' && (j.progressMessage ?? '').startsWith('fitting'),
      60_000,
    );
    expect([fitting.status, fitting.progressMessage]).toEqual(['running', expect.stringMatching(/^fitting/)]);
    await kill(first);

    const second = await startServerProcess(env, { detached: true });
    cleanups.push(() => kill(second));
    const ended = await eventually(
      async () => (await (await call(second, 'GET', `/jobs/${job.id}`)).json()) as Job,
      (j) => ['succeeded', 'failed', 'cancelled'].includes(j.status),
      120_000,
    );
    expect(ended.status, JSON.stringify(ended.error)).toBe('succeeded');
    // The killed attempt counts (nothing handed it back): the restarted server ran a second one once its lease
    // ran out.
    expect(ended.attempts).toBe(2);

    const versions = (await (await call(second, 'GET', `/models/${model.id}/versions`)).json()) as {
      items: ModelVersion[];
    };
    expect(versions.items.map((v) => v.number)).toEqual([1]);
    const predicted = await call(second, 'POST', `/models/${model.id}/predict`, {
      rows: [{ a: 3, b: 4, c: 5 }],
    });
    expect(predicted.status, await predicted.clone().text()).toBe(200);
    const body = (await predicted.json()) as { predictions: unknown[] };
    expect(body.predictions).toHaveLength(1);
  });
});
