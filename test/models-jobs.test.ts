import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { topics } from '../src/bus/types.js';
import { createContext } from '../src/context.js';
import { createLogger } from '../src/logger.js';
import type { Job, JobContext } from '../src/jobs/types.js';
import { JobAborted } from '../src/jobs/errors.js';
import { modelTrainJob, type ModelTrainPayload } from '../src/models/jobs.js';
import type { Model, ModelVersion } from '../src/models/model.js';
import { ModelRepo } from '../src/models/repo.js';
import { newId } from '../src/ids.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import { apiKey, bearer, eventually, workspace } from './helpers/identity.js';
import { TestClient, wsUrl } from './helpers/realtime.js';
import { problemOf, uploadDataset } from './helpers/upload.js';

/**
 * Training as the server runs it (the job in the worker, the fit in a job thread): progress on the `model:<id>`
 * topic and who may watch it, a forecast with intervals, the artifact read back by a freshly started server over
 * the same data, and a cancelled training that leaves neither a version nor an artifact.
 */
let t: TestApp;
const json = { 'content-type': 'application/json' };

beforeAll(async () => {
  t = await startTestApp({ WEIR_RATE_LIMIT_USER: 'off' });
});
afterAll(async () => {
  await t?.close();
});

function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  return t.fetch(`${t.api}${path}`, {
    method,
    headers: body === undefined ? headers : { ...json, ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

async function ok<T>(res: Response, status = 200): Promise<T> {
  expect(res.status, await res.clone().text()).toBe(status);
  return (await res.json()) as T;
}

const finished = (jobId: string) =>
  eventually(
    async () => ok<Job>(await call('GET', `/jobs/${jobId}`)),
    (j) => ['succeeded', 'failed', 'cancelled'].includes(j.status),
    30_000,
  );

/** Hourly readings, one per row: a sawtooth 0..9 so repeat-last errs by a known amount. */
function hourlyCsv(rows: number): string {
  const lines = ['at,load'];
  const start = Date.UTC(2024, 0, 1);
  for (let i = 0; i < rows; i++) lines.push(`${new Date(start + i * 3_600_000).toISOString()},${i % 10}`);
  return lines.join('\n') + '\n';
}

describe('forecast training in the worker', () => {
  it('publishes progress on model:<id>, registers the version and forecasts with intervals', async () => {
    const data = await uploadDataset(t, hourlyCsv(200), { filename: 'load.csv' });
    const client = await TestClient.open(wsUrl(t.url), { headers: t.auth });
    try {
      const accepted = await ok<{ model: Model; job: Job }>(
        await call('POST', '/models', {
          name: 'load',
          datasetId: data.id,
          task: 'forecast',
          target: 'load',
          timeColumn: 'at',
          horizon: 3,
        }),
        202,
      );
      const job = await finished(accepted.job.id);
      expect(job.status, JSON.stringify(job.error)).toBe('succeeded');
      // Watching the model, a retrain shows its progress and its new version.
      const topic = topics.model(accepted.model.id);
      expect(await client.request({ type: 'subscribe', topic, id: 's1' })).toMatchObject({ type: 'subscribed', topic });
      const again = await ok<{ job: Job }>(await call('POST', `/models/${accepted.model.id}/versions`, {}), 202);
      expect(await client.next('event', (m) => m.topic === topic && m.event === 'model.progress')).toMatchObject({
        data: { modelId: accepted.model.id, jobId: again.job.id },
      });
      expect(await client.next('event', (m) => m.topic === topic && m.event === 'model.version')).toMatchObject({
        data: { modelId: accepted.model.id, number: 2, algorithm: expect.any(String) },
      });
      expect((await finished(again.job.id)).status).toBe('succeeded');

      const v = await ok<ModelVersion>(await call('GET', `/models/${accepted.model.id}/versions/1`));
      expect(v.report.data).toMatchObject({ rows: 200, train: 140, validation: 20, test: 40 });
      const f = await ok<{
        times: number[];
        series: { name: string; values: number[]; intervals: { level: number }[] }[];
      }>(await call('POST', `/models/${accepted.model.id}/forecast`, { horizon: 2, levels: [0.8] }));
      // The last reading (row 199) is at 2024-01-01 + 199 h; the sawtooth repeats every 10 steps, which the
      // model must follow far better than repeating the last value.
      const last = Date.UTC(2024, 0, 1) + 199 * 3_600_000;
      expect(f.times).toEqual([last + 3_600_000, last + 7_200_000]);
      expect(f.series).toHaveLength(1);
      expect(f.series[0]!.values).toHaveLength(2);
      f.series[0]!.values.forEach((value, h) => expect(value).toBeCloseTo(h, 0));
      expect(f.series[0]!.intervals.map((i) => i.level)).toEqual([0.8]);
      expect(v.report.metrics['repeat-last']).toBeDefined();
      expect(v.report.metrics[v.report.algorithm]!.original.mse!).toBeLessThan(
        v.report.metrics['repeat-last']!.original.mse!,
      );

      // Predict is for tabular models: a 400 that says so.
      const wrong = await call('POST', `/models/${accepted.model.id}/predict`, { rows: [{}] });
      expect(wrong.status).toBe(400);
      expect((await problemOf(wrong)).detail).toMatch(/forecast/);
    } finally {
      client.close();
    }
  });

  it('lets no other workspace (nor a key without models:read) watch a model topic', async () => {
    const data = await uploadDataset(
      t,
      'a,b\n1,2\n2,4\n3,6\n4,8\n5,10\n6,12\n7,14\n8,16\n9,18\n10,20\n11,22\n12,24\n',
      { filename: 'ab.csv' },
    );
    const accepted = await ok<{ model: Model; job: Job }>(
      await call('POST', '/models', { name: 'ab', datasetId: data.id, task: 'regression', target: 'b' }),
      202,
    );
    await finished(accepted.job.id);
    const topic = topics.model(accepted.model.id);
    const elsewhere = await workspace(t, 'Other place');
    const stranger = await apiKey(t, ['models:read'], { ...t.auth, 'x-weir-workspace': elsewhere });
    const datasetsOnly = await apiKey(t, ['datasets:read']);
    const a = await TestClient.open(wsUrl(t.url), { headers: bearer(stranger.token) });
    const b = await TestClient.open(wsUrl(t.url), { headers: bearer(datasetsOnly.token) });
    try {
      expect(await a.request({ type: 'subscribe', topic, id: 'x' })).toMatchObject({
        type: 'error',
        code: 'not_found',
      });
      expect(await b.request({ type: 'subscribe', topic, id: 'y' })).toMatchObject({
        type: 'error',
        code: 'forbidden',
      });
    } finally {
      a.close();
      b.close();
    }
  });
});

describe('artifact round trip', () => {
  it('a server started afresh over the same database and blobs predicts with the stored artifact', async () => {
    const rows = ['x,y', ...Array.from({ length: 30 }, (_, i) => `${i},${i % 2 === 0 ? 4 : 8}`)].join('\n');
    const data = await uploadDataset(t, `${rows}\n`, { filename: 'xy.csv' });
    const accepted = await ok<{ model: Model; job: Job }>(
      await call('POST', '/models', {
        name: 'xy',
        datasetId: data.id,
        task: 'regression',
        target: 'y',
        algorithm: 'mean',
      }),
      202,
    );
    expect((await finished(accepted.job.id)).status).toBe('succeeded');
    const before = await ok<{ predictions: unknown[] }>(
      await call('POST', `/models/${accepted.model.id}/predict`, { rows: [{ x: 3 }] }),
    );
    // Train rows 0..20 (21 rows): eleven 4s and ten 8s → mean 124/21.
    expect(before.predictions).toEqual([{ prediction: 124 / 21 }]);

    const context = await createContext(t.config, createLogger('silent'), { jobs: 'none', firstRunHint: false });
    const app = await buildApp(context);
    try {
      const res = await app.inject({
        method: 'POST',
        url: `/api/v1/models/${accepted.model.id}/predict`,
        headers: { ...t.auth, ...json },
        payload: { rows: [{ x: 3 }] },
      });
      expect(res.statusCode, res.body).toBe(200);
      expect((JSON.parse(res.body) as { predictions: unknown[] }).predictions).toEqual(before.predictions);
    } finally {
      await app.close();
    }
  });
});

describe('cancelling a training', () => {
  it('stops when the job is aborted: no version, no artifact', async () => {
    const data = await uploadDataset(t, 'p,q\n1,2\n2,3\n3,4\n4,5\n5,6\n6,7\n7,8\n8,9\n9,10\n10,11\n', {
      filename: 'pq.csv',
    });
    const accepted = await ok<{ model: Model; job: Job }>(
      await call('POST', '/models', { name: 'pq', datasetId: data.id, task: 'regression', target: 'q' }),
      202,
    );
    await finished(accepted.job.id);
    const repo = new ModelRepo(t.context.store.db);
    // A fit that runs until it is aborted, as a thread does until the pool terminates it.
    const handler = modelTrainJob({
      repo,
      datasets: t.context.datasets,
      engine: t.context.engine,
      blobs: t.context.blobs,
      scratch: t.context.scratch,
      bus: t.context.bus,
      grants: { of: () => Promise.resolve(new Set(['models:train'] as const)) },
      jobs: {
        runInThread: (_kind: string, _payload: unknown, ctx: JobContext) =>
          new Promise((_resolve, reject) =>
            ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason as Error)),
          ),
      },
      maxRows: 1000,
    });
    const model = await ok<Model>(await call('GET', `/models/${accepted.model.id}`));
    const payload: ModelTrainPayload = {
      v: 1,
      modelId: model.id,
      versionId: newId('mv'),
      datasetVersionId: data.versionId,
      spec: model.spec,
    };
    const controller = new AbortController();
    const progress: string[] = [];
    const jobId = newId('job');
    const running = handler.handler(payload, {
      jobId,
      kind: 'model.train',
      workspaceId: 'ws_default',
      createdBy: null,
      attempt: 1,
      maxAttempts: 1,
      signal: controller.signal,
      log: createLogger('silent'),
      progress: (_p, message) => progress.push(message ?? ''),
    });
    await eventually(
      () => Promise.resolve(progress),
      (p) => p.includes('fitting'),
    );
    const started = Date.now();
    controller.abort(new JobAborted('cancelled'));
    await expect(running).rejects.toBeInstanceOf(JobAborted);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(await repo.versionByJob(jobId)).toBeNull();
    expect(await t.context.blobs.stat(`models/ws_default/${model.id}/${payload.versionId}.json`)).toBeNull();
    expect((await repo.versions('ws_default', model.id)).map((v) => v.number)).toEqual([1]);
  });
});

describe('cancelling a training over HTTP', () => {
  it('POST /jobs/:id/cancel stops the fit thread mid-training: cancelled, no version, no artifact, and the next training runs', async () => {
    const lines = ['x1,x2,y'];
    for (let i = 0; i < 3000; i++) lines.push(`${i % 97},${(i * 7) % 31},${((i % 97) * 3 + ((i * 7) % 31)) % 50}`);
    const data = await uploadDataset(t, lines.join('\n') + '\n', { filename: 'long-fit.csv' });
    // 100,000 rounds with no early stopping: far longer than this test may wait, so only the cancel can end it.
    const accepted = await ok<{ model: Model; job: Job }>(
      await call('POST', '/models', {
        name: 'long-fit',
        datasetId: data.id,
        task: 'regression',
        target: 'y',
        algorithm: 'gbdt',
        params: { rounds: 100_000, earlyStoppingRounds: 0 },
      }),
      202,
    );
    const jobId = accepted.job.id;
    await eventually(
      async () => ok<Job>(await call('GET', `/jobs/${jobId}`)),
      (j) => j.status === 'running' && (j.progressMessage ?? '').startsWith('fitting'),
      30_000,
    );
    const requested = Date.now();
    expect((await call('POST', `/jobs/${jobId}/cancel`)).status).toBe(200);
    const ended = await finished(jobId);
    expect(ended.status).toBe('cancelled');
    // The thread was stopped, not waited for: 100,000 rounds take minutes.
    expect(Date.now() - requested).toBeLessThan(15_000);
    const versions = await ok<{ items: ModelVersion[] }>(await call('GET', `/models/${accepted.model.id}/versions`));
    expect(versions.items).toEqual([]);
    const stored: string[] = [];
    for await (const entry of t.context.blobs.list(`models/ws_default/${accepted.model.id}/`)) stored.push(entry.key);
    expect(stored).toEqual([]);

    // The job threads still serve: a short training of the same model registers version 1.
    const again = await ok<{ job: Job }>(
      await call('POST', `/models/${accepted.model.id}/versions`, { params: { rounds: 5 } }),
      202,
    );
    expect((await finished(again.job.id)).status).toBe('succeeded');
    const after = await ok<{ items: ModelVersion[] }>(await call('GET', `/models/${accepted.model.id}/versions`));
    expect(after.items.map((v) => v.number)).toEqual([1]);
  });
});

describe('a retried training', () => {
  it('registers once: an attempt that finds its version registered answers it, and the artifact is the same key', async () => {
    const data = await uploadDataset(t, 'u,w\n1,1\n2,2\n3,3\n4,4\n5,5\n6,6\n7,7\n8,8\n9,9\n10,10\n11,11\n', {
      filename: 'uw.csv',
    });
    const accepted = await ok<{ model: Model; job: Job }>(
      await call('POST', '/models', { name: 'uw', datasetId: data.id, task: 'regression', target: 'w' }),
      202,
    );
    await finished(accepted.job.id);
    const repo = new ModelRepo(t.context.store.db);
    const { modelFitThread } = await import('../src/models/fit.js');
    const handler = modelTrainJob({
      repo,
      datasets: t.context.datasets,
      engine: t.context.engine,
      blobs: t.context.blobs,
      scratch: t.context.scratch,
      bus: t.context.bus,
      grants: { of: () => Promise.resolve(new Set(['models:train'] as const)) },
      jobs: { runInThread: (_kind, payload, ctx) => modelFitThread.handler(payload as never, ctx) },
      maxRows: 1000,
    });
    const model = await ok<Model>(await call('GET', `/models/${accepted.model.id}`));
    const payload: ModelTrainPayload = {
      v: 1,
      modelId: model.id,
      versionId: newId('mv'),
      datasetVersionId: data.versionId,
      spec: model.spec,
    };
    const jobId = newId('job');
    const attempt = (n: number) =>
      handler.handler(payload, {
        jobId,
        kind: 'model.train',
        workspaceId: 'ws_default',
        createdBy: null,
        attempt: n,
        maxAttempts: 3,
        signal: new AbortController().signal,
        log: createLogger('silent'),
        progress: () => {},
      });
    const first = await attempt(1);
    const second = await attempt(2);
    expect(second).toEqual(first);
    expect(first.number).toBe(2);
    expect((await repo.versions('ws_default', model.id)).map((v) => v.number)).toEqual([2, 1]);
    expect(await t.context.blobs.stat(`models/ws_default/${model.id}/${payload.versionId}.json`)).not.toBeNull();
  });
});
