import { readdir } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../src/ids.js';
import type { Job } from '../src/jobs/types.js';
import type { PipelineRun } from '../src/pipelines/model.js';
import { PipelineRepo } from '../src/pipelines/repo.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import { eventually } from './helpers/identity.js';
import { problemOf, uploadDataset } from './helpers/upload.js';

/**
 * Bounded DuckDB work through the HTTP API (issue 13). Work whose size is known before it runs (a resample's filled
 * grid, histogram bins, time series points) is counted and refused over WEIR_MAX_OUTPUT_ROWS; a run's output is
 * bounded while it is written (rows, bytes) and leaves nothing behind; a preview's time limit interrupts DuckDB;
 * DuckDB's memory and spill limits stop work with a problem; numeric query parameters are bounded.
 */
let t: TestApp;
let small: TestApp;
let tight: TestApp;
const json = { 'content-type': 'application/json' };

beforeAll(async () => {
  // Runs are polled until they finish: far more requests than a person makes.
  [t, small, tight] = await Promise.all([
    startTestApp({ WEIR_RATE_LIMIT_USER: 'off', WEIR_MAX_OUTPUT_BYTES: '1MiB', WEIR_PIPELINE_PREVIEW_TIMEOUT: '1s' }),
    startTestApp({ WEIR_RATE_LIMIT_USER: 'off', WEIR_MAX_OUTPUT_ROWS: '100' }),
    startTestApp({
      WEIR_RATE_LIMIT_USER: 'off',
      WEIR_DUCKDB_MEMORY_LIMIT: '64MB',
      WEIR_DUCKDB_TEMP_LIMIT: '4MB',
      WEIR_PIPELINE_PREVIEW_TIMEOUT: '60s',
      WEIR_MAX_OUTPUT_BYTES: '2KB',
    }),
  ]);
});
afterAll(async () => {
  await Promise.all([t?.close(), small?.close(), tight?.close()]);
});

const post = (app: TestApp, path: string, body: unknown) =>
  app.fetch(`${app.api}${path}`, { method: 'POST', headers: json, body: JSON.stringify(body) });
const get = async <T>(app: TestApp, path: string): Promise<T> =>
  (await (await app.fetch(`${app.api}${path}`)).json()) as T;
/** Output files of runs in the process's scratch directory (DuckDB's spill directory is beside them). */
const scratchOutputs = async (app: TestApp) =>
  (await readdir(app.context.scratch.dir)).filter((f) => f.endsWith('.parquet'));

/** The peak growth of this process's resident memory (the server runs in it) while `fn` runs. */
async function rssGrowth<T>(fn: () => Promise<T>): Promise<{ value: T; grownBytes: number }> {
  const before = process.memoryUsage().rss;
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 10);
  try {
    const value = await fn();
    return { value, grownBytes: Math.max(peak, process.memoryUsage().rss) - before };
  } finally {
    clearInterval(sampler);
  }
}

/** Runs `definition` ad hoc and answers the finished run (200: it failed). */
async function failedRun(app: TestApp, definition: unknown): Promise<PipelineRun> {
  const res = await post(app, '/pipelines/run?wait=true', { definition });
  expect(res.status, await res.clone().text()).toBe(200);
  const run = (await res.json()) as PipelineRun;
  expect(run.status).toBe('failed');
  return run;
}

/** The run's job, once it has ended: a limit fails the run for good, on its first attempt. */
async function jobOf(app: TestApp, run: PipelineRun): Promise<Job<{ outputDatasetId: string }>> {
  return eventually(
    () => get<Job<{ outputDatasetId: string }>>(app, `/jobs/${run.jobId}`),
    (j) => j.status !== 'running' && j.status !== 'queued',
  );
}

describe('a resample whose filled grid passes WEIR_MAX_OUTPUT_ROWS', () => {
  // A century of seconds, both ends included: 36,525 days of 86,400 s, plus one. (`n` keeps uploads from being duplicates.)
  const century = (n: number) => `ts,v\n1925-01-01T00:00:00Z,${n}\n2025-01-01T00:00:00Z,2\n`;
  const steps = [{ type: 'resample', time: 'ts', every: '1s', fill: 'zero', aggregations: { v: 'sum' } }];
  const message =
    "The resample step would make 3,155,760,001 rows (buckets from the first to the last, every '1s'), more than the limit of " +
    "100,000,000 (WEIR_MAX_OUTPUT_ROWS); use a wider 'every', filter the rows to a shorter time range first, or fill 'none'";
  const refused = {
    status: 422,
    code: 'output_too_large',
    detail: `${message} (at /definition/steps/0/every)`,
    rows: 3_155_760_001,
    limit: 100_000_000,
    errors: [{ pointer: '/definition/steps/0/every', message }],
  };

  it('is refused in a preview with 422 naming the count and the limit, at once and without memory growth', async () => {
    const data = await uploadDataset(t, century(1), { filename: 'century.csv' });
    const started = Date.now();
    const { value: res, grownBytes } = await rssGrowth(() =>
      post(t, '/pipelines/preview', { definition: { input: { datasetId: data.id }, steps } }),
    );
    expect(await problemOf(res)).toMatchObject(refused);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(grownBytes).toBeLessThan(256 * 1024 ** 2);
  });

  it('is refused when it is run ad hoc, saved, or run after its data grew; a run queued past the check fails pipeline_output_too_large', async () => {
    const data = await uploadDataset(t, century(2), { filename: 'century-run.csv' });
    const definition = { input: { datasetId: data.id }, steps, output: { name: 'Century of seconds' } };
    expect(await problemOf(await post(t, '/pipelines/run', { definition }))).toMatchObject(refused);
    expect(await problemOf(await post(t, '/pipelines', { name: 'Century', definition }))).toMatchObject(refused);

    // Saved while its data spanned five seconds; the data has grown since.
    const grows = await uploadDataset(t, 'ts,v\n2025-01-01T00:00:00Z,1\n2025-01-01T00:00:05Z,2\n', {
      filename: 'grows.csv',
    });
    const saved = await post(t, '/pipelines', {
      name: 'Seconds',
      definition: { input: { datasetId: grows.id }, steps },
    });
    expect(saved.status, await saved.clone().text()).toBe(201);
    const pipelineId = ((await saved.json()) as { id: string }).id;
    await uploadDataset(t, century(3), { filename: 'grown.csv', path: `/datasets/${grows.id}/versions` });
    const { value: res, grownBytes } = await rssGrowth(() => post(t, `/pipelines/${pipelineId}/run?wait=true`, {}));
    expect(await problemOf(res)).toMatchObject(refused);
    expect(grownBytes).toBeLessThan(256 * 1024 ** 2);
    expect((await get<{ total: number }>(t, `/pipelines/${pipelineId}/runs`)).total).toBe(0);

    // Queued without the request's check (one that could not finish within the preview limit is left to the run).
    const runId = newId('run');
    await new PipelineRepo(t.context.store.db).insertRun({
      id: runId,
      pipelineId: null,
      pipelineVersion: null,
      pipelineName: 'Century',
      workspaceId: 'ws_default',
      definition,
      inputDatasetId: data.id,
      inputVersionId: null,
      outputDatasetId: null,
      params: {},
      createdBy: null,
    });
    const payload = {
      v: 1,
      runId,
      outputDatasetId: newId('ds'),
      outputVersionId: newId('dv'),
      createDataset: { name: 'Century output', description: '' },
    };
    const job = await t.context.jobs.enqueue('pipeline.run', payload, { workspaceId: 'ws_default' });
    await t.context.store.db.updateTable('pipeline_runs').set({ job_id: job.id }).where('id', '=', runId).execute();
    const run = await eventually(
      () => get<PipelineRun>(t, `/pipelines/runs/${runId}`),
      (r) => r.status === 'failed' || r.status === 'succeeded',
      20_000,
    );
    expect(run).toMatchObject({
      status: 'failed',
      output: { versionId: null },
      error: { code: 'pipeline_output_too_large', message: refused.detail, details: refused.errors },
    });
    expect(await jobOf(t, run)).toMatchObject({
      status: 'failed',
      attempts: 1,
      error: { code: 'pipeline_output_too_large' },
    });
    expect((await t.fetch(`${t.api}/datasets/${payload.outputDatasetId}`)).status).toBe(404);
    expect(await scratchOutputs(t)).toEqual([]);
  });
});

describe('with a small WEIR_MAX_OUTPUT_ROWS (100)', () => {
  const rows = (n: number, line: (i: number) => string) => Array.from({ length: n }, (_, i) => line(i)).join('\n');
  /** 300 readings a minute apart from 2024-01-01 00:00Z. */
  const READINGS = `ts,x\n${rows(300, (i) => `${new Date(Date.UTC(2024, 0, 1) + i * 60_000).toISOString()},${i % 17}`)}\n`;

  it('refuses a resample of two rows whose grid would pass it, and previews the same without fill or with wider buckets', async () => {
    const two = await uploadDataset(small, 'ts,v\n2024-01-01T00:00:00Z,1\n2024-01-01T02:00:00Z,2\n', {
      filename: 'two.csv',
    });
    const preview = (step: Record<string, unknown>) =>
      post(small, '/pipelines/preview', {
        definition: {
          input: { datasetId: two.id },
          steps: [{ type: 'resample', time: 'ts', aggregations: { v: 'sum' }, ...step }],
        },
      });
    const p = await problemOf(await preview({ every: '1m', fill: 'null' }));
    expect(p).toMatchObject({ status: 422, code: 'output_too_large', rows: 121, limit: 100 });
    expect(p.detail).toBe(
      "The resample step would make 121 rows (buckets from the first to the last, every '1m'), more than the limit of 100 (WEIR_MAX_OUTPUT_ROWS); " +
        "use a wider 'every', filter the rows to a shorter time range first, or fill 'none' (at /definition/steps/0/every)",
    );
    const unfilled = await preview({ every: '1m' });
    expect(unfilled.status, await unfilled.clone().text()).toBe(200);
    expect(((await unfilled.json()) as { steps: { rows: unknown[] }[] }).steps[0]!.rows).toHaveLength(2);
    expect((await preview({ every: '2m', fill: 'zero' })).status).toBe(200);
  });

  it('refuses histogram bins and time series points past it, and answers within it', async () => {
    const readings = await uploadDataset(small, READINGS, { filename: 'readings.csv' });
    const bins = await problemOf(await small.fetch(`${small.api}/datasets/${readings.id}/histogram?column=x&bins=150`));
    expect(bins).toMatchObject({
      status: 422,
      code: 'output_too_large',
      rows: 150,
      limit: 100,
      errors: [{ pointer: '/query/bins' }],
      detail:
        'The histogram would make 150 bins, more than the limit of 100 (WEIR_MAX_OUTPUT_ROWS); ask for fewer bins (at /query/bins)',
    });
    expect((await small.fetch(`${small.api}/datasets/${readings.id}/histogram?column=x&bins=100`)).status).toBe(200);
    // At most 300 points: one per row.
    const points = await problemOf(
      await small.fetch(`${small.api}/datasets/${readings.id}/timeseries?time=ts&value=x&points=500`),
    );
    expect(points).toMatchObject({
      status: 422,
      code: 'output_too_large',
      rows: 300,
      limit: 100,
      errors: [{ pointer: '/query/points' }],
    });
    const hourly = await small.fetch(
      `${small.api}/datasets/${readings.id}/timeseries?time=ts&value=x&points=500&bucket=1h`,
    );
    expect(hourly.status, await hourly.clone().text()).toBe(200);
    expect(((await hourly.json()) as { points: unknown[] }).points).toHaveLength(5);
  });

  it('fails a run whose output passes it with pipeline_output_too_large, storing nothing and leaving no scratch file', async () => {
    const readings = await uploadDataset(small, `${READINGS}2024-01-02T00:00:00Z,1\n`, { filename: 'copied.csv' });
    const cap =
      "The pipeline's output passed the limit of 100 rows (WEIR_MAX_OUTPUT_ROWS) and was not stored; filter or aggregate the rows further, " +
      'or check that join keys do not repeat on both sides';
    // 20 rows of one key joined to themselves: 400 rows.
    const pairs = await uploadDataset(small, `k,v\n${rows(20, (i) => `1,${i}`)}\n`, { filename: 'pairs.csv' });
    for (const definition of [
      { input: { datasetId: readings.id }, steps: [], output: { name: 'Copied' } },
      {
        input: { datasetId: pairs.id },
        steps: [{ type: 'join', dataset: { datasetId: pairs.id }, on: ['k'], how: 'inner' }],
        output: { name: 'Paired' },
      },
    ]) {
      const run = await failedRun(small, definition);
      // 301 rows copied, 400 joined: the run stopped at the 101st.
      expect(run).toMatchObject({
        output: { versionId: null },
        rowCount: null,
        error: { code: 'pipeline_output_too_large', message: cap },
      });
      const job = await jobOf(small, run);
      expect(job).toMatchObject({
        status: 'failed',
        attempts: 1,
        error: { code: 'pipeline_output_too_large', message: cap },
      });
      expect((await small.fetch(`${small.api}/datasets/${job.payload.outputDatasetId}`)).status).toBe(404);
      expect(await scratchOutputs(small)).toEqual([]);
    }
  });

  it('stores a run that may multiply rows but stays within it, in the order its steps gave', async () => {
    const ids = await uploadDataset(small, `id,v\n${rows(30, (i) => `${i},${(i * 7) % 30}`)}\n`, {
      filename: 'ids.csv',
    });
    const definition = {
      input: { datasetId: ids.id },
      steps: [
        { type: 'join', dataset: { datasetId: ids.id }, on: ['id'], how: 'inner' },
        { type: 'sort', by: [{ column: 'v', descending: true }] },
      ],
      output: { name: 'Joined within the cap' },
    };
    const res = await post(small, '/pipelines/run?wait=true', { definition });
    expect(res.status, await res.clone().text()).toBe(201);
    const run = (await res.json()) as PipelineRun;
    expect(run.rowCount).toBe(30);
    const stored = await get<{ rows: number[][] }>(
      small,
      `/datasets/${run.output.datasetId}/preview?limit=100&columns=v`,
    );
    expect(stored.rows.map((r) => r[0])).toEqual(Array.from({ length: 30 }, (_, i) => 29 - i));
  });
});

describe('work whose size is not known beforehand', () => {
  // 20,000 rows of one key: joined to itself, 400 million rows, far more than anything is let write or wait for.
  const pairs = (app: TestApp, name: string) =>
    uploadDataset(app, `k,v,${name}\n${Array.from({ length: 20_000 }, (_, i) => `1,${i},0`).join('\n')}\n`, {
      filename: `${name}.csv`,
    });
  const selfJoin = (id: string, ...more: unknown[]) => ({
    input: { datasetId: id },
    steps: [{ type: 'join', dataset: { datasetId: id }, on: ['k'], how: 'inner' }, ...more],
  });

  it('stops a run whose output file passes WEIR_MAX_OUTPUT_BYTES, and removes the file', async () => {
    const input = await pairs(t, 'bytes');
    const started = Date.now();
    const run = await failedRun(t, { ...selfJoin(input.id), output: { name: 'Too many bytes' } });
    expect(run.error).toEqual({
      code: 'pipeline_output_too_large',
      message:
        "The pipeline's output passed the limit of 1,048,576 bytes (WEIR_MAX_OUTPUT_BYTES) and was not stored; filter or aggregate the rows further, " +
        'or check that join keys do not repeat on both sides',
    });
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(await jobOf(t, run)).toMatchObject({ status: 'failed', attempts: 1 });
    expect(await scratchOutputs(t)).toEqual([]);
  });

  it('fails a run whose output file ends up past WEIR_MAX_OUTPUT_BYTES though it was written faster than it is measured', async () => {
    const input = await uploadDataset(
      tight,
      `id,label\n${Array.from({ length: 2000 }, (_, i) => `${i},label-${i * 7919}`).join('\n')}\n`,
      { filename: 'labels.csv' },
    );
    const run = await failedRun(tight, { input: { datasetId: input.id }, steps: [], output: { name: 'Over 2 kB' } });
    expect(run.error).toEqual({
      code: 'pipeline_output_too_large',
      message:
        "The pipeline's output passed the limit of 2,000 bytes (WEIR_MAX_OUTPUT_BYTES) and was not stored; filter or aggregate the rows further, " +
        'or check that join keys do not repeat on both sides',
    });
    expect(await scratchOutputs(tight)).toEqual([]);
  });

  it('stops a preview at WEIR_PIPELINE_PREVIEW_TIMEOUT with 422 query_timeout, its DuckDB query interrupted', async () => {
    const input = await pairs(t, 'slow');
    const definition = selfJoin(input.id, {
      type: 'aggregate',
      groupBy: ['k'],
      aggregations: [{ column: 'v', function: 'sum', as: 'total' }],
    });
    const started = Date.now();
    const p = await problemOf(await post(t, '/pipelines/preview', { definition }));
    expect(p).toMatchObject({
      status: 422,
      code: 'query_timeout',
      detail: 'The preview took longer than 1 s and was stopped; preview fewer rows or fewer steps',
    });
    expect(Date.now() - started).toBeLessThan(10_000);
    // The answer comes once DuckDB has stopped: nothing is left running.
    expect(t.context.engine.busyConnections).toBe(0);
  });

  it("answers work past DuckDB's memory and spill limits with 422 query_out_of_memory in a preview, pipeline_out_of_memory in a run", async () => {
    const input = await pairs(tight, 'grouped');
    // 400 million groups need far more than 64 MB of memory and 4 MB of spill space.
    const definition = selfJoin(input.id, {
      type: 'aggregate',
      groupBy: ['v', 'v_right'],
      aggregations: [{ column: 'k', function: 'count', as: 'n' }],
    });
    const p = await problemOf(await post(tight, '/pipelines/preview', { definition }));
    expect(p).toMatchObject({ status: 422, code: 'query_out_of_memory' });
    expect(p.detail).toMatch(
      /^The preview needed more memory and temporary disk than this server allows \(WEIR_DUCKDB_MEMORY_LIMIT, WEIR_DUCKDB_TEMP_LIMIT\)/,
    );
    const run = await failedRun(tight, { ...definition, output: { name: 'Never sorted' } });
    expect(run.error?.code).toBe('pipeline_out_of_memory');
    expect(await jobOf(tight, run)).toMatchObject({
      status: 'failed',
      attempts: 1,
      error: { code: 'pipeline_out_of_memory' },
    });
    expect(await scratchOutputs(tight)).toEqual([]);
  });
});

describe('numeric query parameters of previews, analytics and listings', () => {
  it('are bounded: a huge offset is a 400 naming it, an offset past the end an empty page', async () => {
    const d = await uploadDataset(t, 'a,b\n1,2\n3,4\n', { filename: 'offsets.csv' });
    const huge = await problemOf(await t.fetch(`${t.api}/datasets/${d.id}/preview?offset=99999999999999999999`));
    expect(huge).toMatchObject({ status: 400, code: 'validation_failed' });
    expect(huge.errors.map((e) => e.pointer)).toEqual(['/query/offset']);
    for (const offset of [2, 1000, Number.MAX_SAFE_INTEGER]) {
      const page = await t.fetch(`${t.api}/datasets/${d.id}/preview?offset=${offset}`);
      expect(page.status, await page.clone().text()).toBe(200);
      expect(await page.json()).toMatchObject({ rows: [], total: 2 });
    }
    for (const path of [
      '/pipelines?offset=99999999999999999999',
      `/pipelines/pl_01J00000000000000000000000/runs?offset=1e20`,
    ]) {
      const p = await problemOf(await t.fetch(`${t.api}${path}`));
      expect([p.status, p.errors.map((e) => e.pointer)]).toEqual([400, ['/query/offset']]);
    }
    expect((await get<{ items: unknown[] }>(t, `/pipelines?offset=${Number.MAX_SAFE_INTEGER}`)).items).toEqual([]);
    const limit = await problemOf(
      await post(t, `/datasets/${d.id}/query`, { aggregations: [{ function: 'count', as: 'n' }], limit: 1e20 }),
    );
    expect([limit.status, limit.errors.map((e) => e.pointer)]).toEqual([400, ['/body/limit']]);
  });
});
