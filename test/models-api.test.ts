import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Job } from '../src/jobs/types.js';
import type { Model, ModelVersion } from '../src/models/model.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import { actor, eventually, workspace } from './helpers/identity.js';
import { problemOf, uploadDataset } from './helpers/upload.js';

/**
 * Models through the real HTTP API: train regression and classification as jobs and read the metrics beside the
 * baselines, predict good and bad rows, refuse bad training requests with pointers, keep other workspaces and
 * viewers out, promote / compare / delete (the artifact goes), lineage, determinism by seed.
 */
let t: TestApp;
const json = { 'content-type': 'application/json' };

beforeAll(async () => {
  t = await startTestApp({ WEIR_RATE_LIMIT_USER: 'off' }, { jobs: 'inline' });
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

async function finished(jobId: string): Promise<Job> {
  const job = await eventually(
    async () => ok<Job>(await call('GET', `/jobs/${jobId}`)),
    (j) => ['succeeded', 'failed', 'cancelled'].includes(j.status),
    20_000,
  );
  return job;
}

/** 100 rows: y = 3·x − 10·(colour = red) exactly; rows in order, so the split is by row. */
function regressionCsv(): string {
  const lines = ['x,colour,flag,y'];
  for (let i = 0; i < 100; i++) {
    const colour = i % 2 === 0 ? 'red' : 'blue';
    lines.push(`${i},${colour},${i % 3 === 0},${3 * i - (colour === 'red' ? 10 : 0)}`);
  }
  return lines.join('\n') + '\n';
}

/** 60 rows: label 'hot' in 3 of 4 rows. */
function classificationCsv(): string {
  const lines = ['temperature,label'];
  for (let i = 0; i < 60; i++) lines.push(`${i},${i % 4 === 0 ? 'cold' : 'hot'}`);
  return lines.join('\n') + '\n';
}

async function train(body: Record<string, unknown>): Promise<{ model: Model; job: Job }> {
  return ok(await call('POST', '/models', body), 202);
}

describe('training and predicting', () => {
  let regression: { id: string; versionId: string };
  let model: Model;

  beforeAll(async () => {
    regression = await uploadDataset(t, regressionCsv(), { filename: 'lines.csv' });
    // The mean baseline as the model: its every figure can be computed by hand below.
    const accepted = await train({
      name: 'lines',
      datasetId: regression.id,
      task: 'regression',
      target: 'y',
      algorithm: 'mean',
      seed: 7,
    });
    model = accepted.model;
    expect(accepted.job.kind).toBe('model.train');
    const job = await finished(accepted.job.id);
    expect(job.status, JSON.stringify(job.error)).toBe('succeeded');
  });

  it('registers version 1 with the baseline measured on the test part', async () => {
    const m = await ok<Model>(await call('GET', `/models/${model.id}`));
    expect(m).toMatchObject({ name: 'lines', task: 'regression', target: 'y', currentVersion: 1, versionCount: 1 });
    expect(m.training?.status).toBe('succeeded');
    const v = await ok<ModelVersion>(await call('GET', `/models/${model.id}/versions/1`));
    expect(v.datasetVersionId).toBe(regression.versionId);
    expect(v.features).toEqual([
      { name: 'x', kind: 'numeric' },
      { name: 'colour', kind: 'categorical' },
      { name: 'flag', kind: 'boolean' },
    ]);
    expect(v.report.data).toMatchObject({ rows: 100, train: 70, validation: 10, test: 20 });
    // The mean baseline predicts the train mean: mean(3i) − 5 over i < 70 = 103.5 − 5 = 98.5.
    const ys = Array.from({ length: 20 }, (_, k) => 3 * (80 + k) - ((80 + k) % 2 === 0 ? 10 : 0));
    const mae = ys.reduce((a, y) => a + Math.abs(y - 98.5), 0) / 20;
    expect(v.report.metrics.mean!.original.mae).toBeCloseTo(mae, 9);
    expect(v.report.leaderboard.map((l) => [l.algorithm, l.status])).toEqual([['mean', 'ok']]);
  });

  it('predicts good rows and refuses bad ones with a pointer per field', async () => {
    const answer = await ok<{ predictions: { prediction: number }[]; number: number }>(
      await call('POST', `/models/${model.id}/predict`, { rows: [{ x: 1, colour: 'red', flag: true }, { x: null }] }),
    );
    expect(answer.number).toBe(1);
    expect(answer.predictions).toEqual([{ prediction: 98.5 }, { prediction: 98.5 }]);

    const bad = await call('POST', `/models/${model.id}/predict`, {
      rows: [{ x: 1 }, { x: 'warm', colour: 'red' }, { flag: 'yes' }],
    });
    expect(bad.status).toBe(400);
    const problem = await problemOf(bad);
    expect(problem.errors).toEqual([
      { pointer: '/rows/1/x', message: 'expected a number' },
      { pointer: '/rows/2/flag', message: 'expected true or false' },
    ]);
  });

  it('retrains, compares, promotes, lists, shows lineage, deletes a version and its artifact', async () => {
    const again = await ok<{ job: Job }>(await call('POST', `/models/${model.id}/versions`, { seed: 7 }), 202);
    expect((await finished(again.job.id)).status).toBe('succeeded');
    const versions = await ok<{ items: ModelVersion[] }>(await call('GET', `/models/${model.id}/versions`));
    expect(versions.items.map((v) => [v.number, v.current])).toEqual([
      [2, false],
      [1, true],
    ]);
    // Same seed, same data: identical metrics.
    expect(versions.items[0]!.report.metrics).toEqual(versions.items[1]!.report.metrics);

    const compared = await ok<{ differences: { algorithm: string; metric: string; delta: number | null }[] }>(
      await call('GET', `/models/${model.id}/compare?a=1&b=2`),
    );
    expect(compared.differences.find((d) => d.metric === 'mae')).toMatchObject({ algorithm: 'mean', delta: 0 });

    const promoted = await ok<Model>(await call('POST', `/models/${model.id}/versions/2/promote`));
    expect(promoted.currentVersion).toBe(2);

    const list = await ok<{ items: Model[]; total: number }>(await call('GET', `/models?task=regression&q=LIN`));
    expect(list.items.map((m) => m.id)).toContain(model.id);
    expect((await ok<{ total: number }>(await call('GET', '/models?task=forecast&q=lines'))).total).toBe(0);

    const lineage = await ok<{ models: { modelId: string; number: number }[] }>(
      await call('GET', `/datasets/${regression.id}/lineage`),
    );
    expect(lineage.models.filter((m) => m.modelId === model.id).map((m) => m.number)).toEqual([1, 2]);

    const key = `models/ws_default/${model.id}/${versions.items[1]!.id}.json`;
    expect(await t.context.blobs.stat(key)).not.toBeNull();
    expect((await call('DELETE', `/models/${model.id}/versions/1`)).status).toBe(204);
    expect(await t.context.blobs.stat(key)).toBeNull();
    expect((await call('GET', `/models/${model.id}/versions/1`)).status).toBe(404);
  });

  it('deletes a model with every artifact', async () => {
    const other = await train({ name: 'short-lived', datasetId: regression.id, task: 'regression', target: 'y' });
    expect((await finished(other.job.id)).status).toBe('succeeded');
    const v = await ok<ModelVersion>(await call('GET', `/models/${other.model.id}/versions/1`));
    const key = `models/ws_default/${other.model.id}/${v.id}.json`;
    expect(await t.context.blobs.stat(key)).not.toBeNull();
    expect((await call('DELETE', `/models/${other.model.id}`)).status).toBe(204);
    expect(await t.context.blobs.stat(key)).toBeNull();
    expect((await call('GET', `/models/${other.model.id}`)).status).toBe(404);
  });

  it('keeps other workspaces and viewers out', async () => {
    const viewer = await actor(t, 'viewer');
    const denied = await call(
      'POST',
      '/models',
      { name: 'nope', datasetId: regression.id, task: 'regression', target: 'y' },
      viewer.headers,
    );
    expect(denied.status).toBe(403);
    // A viewer still reads and predicts (models:read).
    expect((await call('GET', `/models/${model.id}`, undefined, viewer.headers)).status).toBe(200);

    const elsewhere = await workspace(t, 'Elsewhere');
    const foreign = { 'x-weir-workspace': elsewhere };
    expect((await call('GET', `/models/${model.id}`, undefined, foreign)).status).toBe(404);
    expect((await call('POST', `/models/${model.id}/predict`, { rows: [{ x: 1 }] }, foreign)).status).toBe(404);
    expect((await ok<{ total: number }>(await call('GET', '/models', undefined, foreign))).total).toBe(0);
    const topics = t.context.realtime.topics.resolvers;
    expect(topics).toBeDefined();
  });
});

describe('regression with auto', () => {
  it('auto picks linear when it beats the baseline, and predicts with it over HTTP', async () => {
    // One row more than the other regression dataset (an identical upload would be answered as a duplicate).
    const data = await uploadDataset(t, `${regressionCsv()}100,red,false,290\n`, { filename: 'lines-auto.csv' });
    const accepted = await train({ name: 'lines-auto', datasetId: data.id, task: 'regression', target: 'y', seed: 7 });
    expect((await finished(accepted.job.id)).status).toBe('succeeded');
    const v = await ok<ModelVersion>(await call('GET', `/models/${accepted.model.id}/versions/1`));
    expect(v.report.algorithm).toBe('linear');
    expect(v.report.leaderboard.map((l) => [l.algorithm, l.status])).toEqual([
      ['mean', 'ok'],
      ['linear', 'ok'],
      ['gbdt', 'ok'],
      ['mlp', 'ok'],
    ]);
    // y = 3·x − 10·(colour = red) exactly: the test part (x = 80..100, beyond the training range) is fitted exactly.
    expect(v.report.metrics.linear!.original.mae).toBeLessThan(1e-6);
    const answer = await ok<{ predictions: { prediction: number }[] }>(
      await call('POST', `/models/${accepted.model.id}/predict`, {
        rows: [
          { x: 200, colour: 'red', flag: false },
          { x: 200, colour: 'blue', flag: true },
        ],
      }),
    );
    expect(answer.predictions[0]!.prediction).toBeCloseTo(590, 6);
    expect(answer.predictions[1]!.prediction).toBeCloseTo(600, 6);
  });
});

describe('classification', () => {
  it('trains the majority baseline and answers class probabilities', async () => {
    const data = await uploadDataset(t, classificationCsv(), { filename: 'weather.csv' });
    const accepted = await train({
      name: 'weather',
      datasetId: data.id,
      task: 'classification',
      target: 'label',
      algorithm: 'majority',
    });
    expect((await finished(accepted.job.id)).status).toBe('succeeded');
    const v = await ok<ModelVersion>(await call('GET', `/models/${accepted.model.id}/versions/1`));
    // Test rows 48..59: cold at 48, 52, 56 → majority 'hot' is right 9 of 12.
    expect(v.report.metrics.majority!.original.accuracy).toBe(0.75);
    expect(v.report.metrics.majority!.confusion).toEqual([
      [0, 3],
      [0, 9],
    ]);
    const answer = await ok<{ predictions: unknown[] }>(
      await call('POST', `/models/${accepted.model.id}/predict`, { rows: [{ temperature: 3 }] }),
    );
    // Train rows 0..41: cold at 0, 4, …, 40 = 11 of 42.
    expect(answer.predictions).toEqual([{ prediction: 'hot', probabilities: { cold: 11 / 42, hot: 31 / 42 } }]);
  });
});

describe('auto', () => {
  it('trains the learned algorithms beside the baselines and keeps one that beats them on the test part', async () => {
    // x visits 0..99 in a scrambled order, so the test part lies inside the range the training part covers.
    const lines = ['x,colour,y'];
    for (let i = 0; i < 400; i++) {
      const x = (i * 37) % 100;
      const colour = i % 2 === 0 ? 'red' : 'blue';
      lines.push(`${x},${colour},${3 * x + (colour === 'red' ? 20 : 0)}`);
    }
    const data = await uploadDataset(t, lines.join('\n') + '\n', { filename: 'scrambled.csv' });
    const accepted = await train({ name: 'auto-lines', datasetId: data.id, task: 'regression', target: 'y', seed: 3 });
    const job = await finished(accepted.job.id);
    expect(job.status, JSON.stringify(job.error)).toBe('succeeded');
    const v = await ok<ModelVersion>(await call('GET', `/models/${accepted.model.id}/versions/1`));
    expect(v.report.leaderboard.map((l) => [l.algorithm, l.status])).toEqual([
      ['mean', 'ok'],
      ['linear', 'ok'],
      ['gbdt', 'ok'],
      ['mlp', 'ok'],
    ]);
    expect(['linear', 'gbdt', 'mlp']).toContain(v.report.algorithm);
    const chosen = v.report.metrics[v.report.algorithm]!.original.mse!;
    expect(chosen).toBeLessThan(v.report.metrics.mean!.original.mse! / 20);
    expect(v.report.losses.length).toBeGreaterThan(0);
    expect(v.report.importance.map((i) => i.feature).sort()).toEqual(['colour', 'x']);

    const answer = await ok<{ predictions: { prediction: number }[] }>(
      await call('POST', `/models/${accepted.model.id}/predict`, { rows: [{ x: 50, colour: 'red' }] }),
    );
    expect(Math.abs(answer.predictions[0]!.prediction - 170)).toBeLessThan(15);
  });
});

describe('forecast with a covariate', () => {
  it('learns from a feature column that leads the target, forecasts from both histories, and refuses what cannot be a covariate', async () => {
    // driver is a deterministic irregular signal; load repeats it 6 hours late, so the last 6 hours of driver hold
    // the next 6 hours of load: a horizon of 3 is predictable from the covariate only.
    const start = Date.UTC(2024, 0, 1);
    const driver = (i: number) => Math.round(100 * Math.sin(i * 0.7) + 40 * Math.cos(i * 1.9) + 15 * Math.sin(i * 4.3));
    const lines = ['at,driver,kind,load'];
    for (let i = 0; i < 600; i++)
      lines.push(`${new Date(start + i * 3_600_000).toISOString()},${driver(i)},${i % 2 ? 'a' : 'b'},${driver(i - 6)}`);
    const data = await uploadDataset(t, lines.join('\n') + '\n', { filename: 'led.csv' });
    const base = { datasetId: data.id, task: 'forecast', target: 'load', timeColumn: 'at', horizon: 3, seed: 1 };
    const accepted = await train({ ...base, name: 'led', features: ['driver'], algorithm: 'nlinear' });
    const job = await finished(accepted.job.id);
    expect(job.status, JSON.stringify(job.error)).toBe('succeeded');
    const v = await ok<ModelVersion>(await call('GET', `/models/${accepted.model.id}/versions/1`));
    expect(v.report.algorithm).toBe('nlinear');
    expect(v.report.metrics.nlinear!.normalized.mse!).toBeLessThan(1e-3);
    expect(v.report.metrics['repeat-last']!.normalized.mse!).toBeGreaterThan(0.1);

    const f = await ok<{ series: { values: number[] }[] }>(
      await call('POST', `/models/${accepted.model.id}/forecast`, { horizon: 3 }),
    );
    // The next three hours of load are driver(594..596).
    f.series[0]!.values.forEach((value, k) => expect(Math.abs(value - driver(594 + k))).toBeLessThan(1));

    const refused = await call('POST', '/models', { ...base, name: 'led-text', features: ['driver', 'kind'] });
    expect(refused.status).toBe(400);
    expect((await problemOf(refused)).errors.map((e) => e.pointer)).toEqual(['/features/1']);
  });
});

describe('bad training requests', () => {
  it('answers 400 with pointers, never 500', async () => {
    const data = await uploadDataset(
      t,
      'when,amount,city,empty\n2024-01-01,1,Berlin,\n2024-01-02,2,Paris,\n2024-01-03,3,Rome,\n',
      {
        filename: 'few.csv',
      },
    );
    const cases: [Record<string, unknown>, string[]][] = [
      [{ task: 'regression', target: 'missing' }, ['/target']],
      [{ task: 'regression', target: 'city' }, ['/target']],
      [{ task: 'regression', target: 'amount', features: ['amount', 'nope'] }, ['/features/0', '/features/1']],
      [{ task: 'regression', target: 'empty' }, ['/target']],
      [{ task: 'forecast', target: 'amount', timeColumn: 'when' }, ['/horizon']],
      [{ task: 'forecast', target: 'amount', timeColumn: 'when', horizon: 5 }, ['/horizon']],
      [{ task: 'regression', target: 'amount', algorithm: 'magic' }, ['/algorithm']],
    ];
    for (const [body, pointers] of cases) {
      const res = await call('POST', '/models', { name: `bad-${pointers.join()}`, datasetId: data.id, ...body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      const problem = await problemOf(res);
      expect(
        problem.errors.map((e) => e.pointer),
        JSON.stringify(body),
      ).toEqual(pointers);
    }
    const unknown = await call('POST', '/models', {
      name: 'x',
      datasetId: 'ds_01J00000000000000000000000',
      task: 'regression',
      target: 'y',
    });
    expect(unknown.status).toBe(400);
    expect((await problemOf(unknown)).errors[0]!.pointer).toBe('/datasetId');
    expect((await ok<{ total: number }>(await call('GET', '/models?q=bad-'))).total).toBe(0);
  });
});

describe('batch scoring', () => {
  it('writes the rows with the prediction appended as a new dataset, with lineage to the scored version', async () => {
    const data = await uploadDataset(
      t,
      'temperature,label\n' + Array.from({ length: 20 }, (_, i) => `${i},${i < 5 ? 'cold' : 'hot'}`).join('\n') + '\n',
      {
        filename: 'labelled.csv',
      },
    );
    const accepted = await train({
      name: 'to-score',
      datasetId: data.id,
      task: 'classification',
      target: 'label',
      algorithm: 'majority',
    });
    expect((await finished(accepted.job.id)).status).toBe('succeeded');
    const fresh = await uploadDataset(t, 'temperature,site\n1,a\n30,b\n', { filename: 'fresh.csv' });
    const scored = await ok<{ job: Job; outputDatasetId: string; outputVersionId: string }>(
      await call('POST', `/models/${accepted.model.id}/score`, { datasetId: fresh.id, outputName: 'fresh scored' }),
      202,
    );
    const job = await finished(scored.job.id);
    expect(job.status, JSON.stringify(job.error)).toBe('succeeded');
    const preview = await ok<{ columns: { name: string }[]; rows: unknown[][] }>(
      await call('GET', `/datasets/${scored.outputDatasetId}/preview?limit=10`),
    );
    expect(preview.columns.map((c) => c.name)).toEqual(['temperature', 'site', 'prediction']);
    expect(preview.rows).toEqual([
      [1, 'a', 'hot'],
      [30, 'b', 'hot'],
    ]);
    const lineage = await ok<{ lineage: { inputs: { versionId: string }[] } }>(
      await call('GET', `/datasets/${scored.outputDatasetId}/lineage`),
    );
    expect(lineage.lineage.inputs.map((i) => i.versionId)).toEqual([fresh.versionId]);

    const clash = await call('POST', `/models/${accepted.model.id}/score`, {
      datasetId: data.id,
      outputName: 'x',
      column: 'label',
    });
    expect(clash.status).toBe(400);
    expect((await problemOf(clash)).errors.map((e) => e.pointer)).toEqual(['/column']);
  });
});
