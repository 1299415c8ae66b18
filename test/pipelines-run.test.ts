import { readdir } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Job } from '../src/jobs/types.js';
import { newId } from '../src/ids.js';
import type { PipelineRun } from '../src/pipelines/model.js';
import { PipelineRepo } from '../src/pipelines/repo.js';
import { PipelineExecutor } from '../src/pipelines/run.js';
import { PipelineService } from '../src/pipelines/service.js';
import { AppError } from '../src/errors.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import { actor, apiKey, bearer, eventually } from './helpers/identity.js';
import { problemOf, uploadDataset } from './helpers/upload.js';

/**
 * Pipeline runs as jobs through the HTTP API of a real server: the output version's exact content, appending on
 * later runs, re-running over another input version, ad-hoc runs, template parameters, a run whose input no longer
 * fits, who may run, where a run may store (checked when it is asked for and again when it runs), and a cancelled
 * run that leaves nothing behind.
 */
let t: TestApp;
const json = { 'content-type': 'application/json' };

beforeAll(async () => {
  // Runs are polled until they finish: far more requests than a person makes.
  t = await startTestApp({ WEIR_RATE_LIMIT_USER: 'off' });
});
afterAll(async () => {
  await t?.close();
});

const dataset = (content: string, filename: string, path?: string) => uploadDataset(t, content, { filename, path });

function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  return t.fetch(`${t.api}${path}`, { method: 'POST', headers: { ...json, ...headers }, body: JSON.stringify(body) });
}

async function save(name: string, definition: unknown): Promise<string> {
  const res = await post('/pipelines', { name, definition });
  expect(res.status, await res.clone().text()).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

async function runAndWait(path: string, body: unknown = {}): Promise<PipelineRun> {
  const res = await post(`${path}?wait=true`, body);
  expect(res.status, await res.clone().text()).toBe(201);
  const run = (await res.json()) as PipelineRun;
  expect(run.status).toBe('succeeded');
  return run;
}

/** Every row of a dataset version, as the dataset preview answers them. */
async function rowsOf(datasetId: string, versionId?: string): Promise<{ columns: string[]; rows: unknown[][] }> {
  const res = await t.fetch(
    `${t.api}/datasets/${datasetId}/preview?limit=100${versionId ? `&version=${versionId}` : ''}`,
  );
  expect(res.status, await res.clone().text()).toBe(200);
  const body = (await res.json()) as { columns: { name: string }[]; rows: unknown[][] };
  return { columns: body.columns.map((c) => c.name), rows: body.rows };
}

const SALES_V1 = 'city,amount\nBerlin,10\nParis,25\nBerlin,5\nRome,\n';
const SALES_V2 = 'city,amount\nOslo,40\nLima,3\n';

describe('running a saved pipeline', () => {
  it('stores the result as a new dataset, then appends to it; inputVersionId re-runs over another version', async () => {
    const sales = await dataset(SALES_V1, 'sales.csv');
    const id = await save('Doubled', {
      input: { datasetId: sales.id },
      steps: [
        { type: 'filter', expression: 'amount >= 10' },
        { type: 'derive', column: 'doubled', expression: 'amount * 2' },
        { type: 'sort', by: [{ column: 'amount' }] },
      ],
    });

    const queued = await post(`/pipelines/${id}/run`, {});
    expect(queued.status, await queued.clone().text()).toBe(202);
    const accepted = (await queued.json()) as { runId: string; jobId: string; status: string };
    expect(accepted).toEqual({
      runId: expect.stringMatching(/^run_/),
      jobId: expect.stringMatching(/^job_/),
      status: 'queued',
    });
    expect(queued.headers.get('location')).toBe(`/api/v1/pipelines/runs/${accepted.runId}`);
    const first = await eventually(
      async () => (await (await t.fetch(`${t.api}/pipelines/runs/${accepted.runId}`)).json()) as PipelineRun,
      (r) => r.status === 'succeeded' || r.status === 'failed',
      20_000,
    );
    expect(first).toMatchObject({
      id: accepted.runId,
      pipelineId: id,
      pipelineVersion: 1,
      pipelineName: 'Doubled',
      jobId: accepted.jobId,
      status: 'succeeded',
      input: { datasetId: sales.id, versionId: sales.versionId },
      rowCount: 2,
      error: null,
      params: {},
    });
    expect(first.durationMs).toBeGreaterThanOrEqual(0);
    expect(first.output.versionId).toMatch(/^dv_/);
    const outputId = first.output.datasetId!;
    expect(await rowsOf(outputId)).toEqual({
      columns: ['city', 'amount', 'doubled'],
      rows: [
        ['Berlin', 10, 20],
        ['Paris', 25, 50],
      ],
    });
    const output = (await (await t.fetch(`${t.api}/datasets/${outputId}`)).json()) as {
      name: string;
      versionCount: number;
      latestVersion: { sourceFormat: string; rowCount: number };
    };
    expect(output).toMatchObject({
      name: 'Doubled output',
      versionCount: 1,
      latestVersion: { sourceFormat: 'parquet', rowCount: 2 },
    });
    expect((await (await t.fetch(`${t.api}/pipelines/${id}`)).json()) as { outputDatasetId: string }).toMatchObject({
      outputDatasetId: outputId,
    });
    const job = await eventually(
      async () => (await (await t.fetch(`${t.api}/jobs/${accepted.jobId}`)).json()) as Job,
      (j) => j.status !== 'running',
    );
    expect(job).toMatchObject({
      kind: 'pipeline.run',
      status: 'succeeded',
      progress: 100,
      result: { runId: accepted.runId, datasetId: outputId, versionId: first.output.versionId, rowCount: 2 },
    });

    // New data: the next run reads the latest version and appends a version to the same output.
    const v2 = await dataset(SALES_V2, 'sales2.csv', `/datasets/${sales.id}/versions`);
    const second = await runAndWait(`/pipelines/${id}/run`);
    expect(second).toMatchObject({
      input: { datasetId: sales.id, versionId: v2.versionId },
      output: { datasetId: outputId },
      rowCount: 1,
    });
    expect(await rowsOf(outputId)).toEqual({ columns: ['city', 'amount', 'doubled'], rows: [['Oslo', 40, 80]] });

    // Re-running over the first version on request.
    const third = await runAndWait(`/pipelines/${id}/run`, { inputVersionId: sales.versionId });
    expect(third).toMatchObject({
      input: { versionId: sales.versionId },
      output: { datasetId: outputId },
      rowCount: 2,
    });
    expect(await rowsOf(outputId, third.output.versionId!)).toEqual({
      columns: ['city', 'amount', 'doubled'],
      rows: [
        ['Berlin', 10, 20],
        ['Paris', 25, 50],
      ],
    });
    const versions = (await (await t.fetch(`${t.api}/datasets/${outputId}/versions`)).json()) as {
      items: { id: string; number: number }[];
    };
    expect(versions.items.map((v) => [v.number, v.id])).toEqual([
      [3, third.output.versionId],
      [2, second.output.versionId],
      [1, first.output.versionId],
    ]);

    const history = (await (await t.fetch(`${t.api}/pipelines/${id}/runs`)).json()) as {
      items: PipelineRun[];
      total: number;
    };
    expect(history.total).toBe(3);
    expect(history.items.map((r) => r.id)).toEqual([third.id, second.id, first.id]);

    const missing = await post(`/pipelines/${id}/run`, { inputVersionId: 'dv_01J00000000000000000000000' });
    expect(missing.status).toBe(404);
    expect((await problemOf(missing)).errors).toEqual([
      {
        pointer: '/inputVersionId',
        message: `Version 'dv_01J00000000000000000000000' of dataset '${sales.id}' does not exist`,
      },
    ]);
  });

  it('runs a template with parameters, recording them', async () => {
    const sales = await dataset('city,amount\nBerlin,1\nParis,2\nRome,3\n', 'tmpl.csv');
    const id = await save('Above', {
      input: { datasetId: sales.id },
      parameters: [
        { name: 'min', type: 'integer' },
        { name: 'keep', type: 'column', default: 'city' },
      ],
      steps: [
        { type: 'filter', expression: 'amount > $min' },
        { type: 'select', columns: [{ $param: 'keep' }] },
      ],
    });
    const refused = await post(`/pipelines/${id}/run`, {});
    expect(refused.status).toBe(400);
    expect((await problemOf(refused)).errors).toEqual([
      { pointer: '/params/min', message: "parameter 'min' is required (it has no default)" },
    ]);
    expect(((await (await t.fetch(`${t.api}/pipelines/${id}/runs`)).json()) as { total: number }).total).toBe(0);

    const run = await runAndWait(`/pipelines/${id}/run`, { params: { min: 1 } });
    expect(run.params).toEqual({ min: 1, keep: 'city' });
    expect(await rowsOf(run.output.datasetId!)).toEqual({ columns: ['city'], rows: [['Paris'], ['Rome']] });
  });

  it('fails a run for good when the input no longer fits the definition', async () => {
    const sales = await dataset('city,amount\nBerlin,1\n', 'fits.csv');
    const id = await save('Needs amount', {
      input: { datasetId: sales.id },
      steps: [{ type: 'select', columns: ['amount'] }],
    });
    await dataset('city,total\nBerlin,1\n', 'renamed.csv', `/datasets/${sales.id}/versions`);
    // Saved against the old version; queuing it against the new one is refused at once.
    const refused = await post(`/pipelines/${id}/run`, {});
    expect(refused.status).toBe(400);
    expect((await problemOf(refused)).errors[0]).toMatchObject({ pointer: '/definition/steps/0/columns/0' });

    // The input changed after the run was queued (queued here without the check a request gets): the job fails,
    // not retried, with the validation error.
    const sales2 = await dataset('city,total\nParis,2\n', 'fits2.csv');
    const runId = newId('run');
    await new PipelineRepo(t.context.store.db).insertRun({
      id: runId,
      pipelineId: null,
      pipelineVersion: null,
      pipelineName: 'Stale',
      workspaceId: 'ws_default',
      definition: { input: { datasetId: sales2.id }, steps: [{ type: 'select', columns: ['amount'] }] },
      inputDatasetId: sales2.id,
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
      createDataset: { name: 'Stale output', description: '' },
    };
    const job = await t.context.jobs.enqueue('pipeline.run', payload, { workspaceId: 'ws_default' });
    await t.context.store.db.updateTable('pipeline_runs').set({ job_id: job.id }).where('id', '=', runId).execute();
    const run = await eventually(
      async () => (await (await t.fetch(`${t.api}/pipelines/runs/${runId}`)).json()) as PipelineRun,
      (r) => r.status === 'failed' || r.status === 'succeeded',
      20_000,
    );
    expect(run).toMatchObject({
      status: 'failed',
      output: { versionId: null },
      error: {
        code: 'validation_failed',
        details: [{ pointer: '/definition/steps/0/columns/0', message: "no column named 'amount'" }],
      },
    });
    // The run records its end just before the job does.
    const failed = await eventually(
      async () => (await (await t.fetch(`${t.api}/jobs/${job.id}`)).json()) as Job,
      (j) => j.status !== 'running',
    );
    expect(failed).toMatchObject({ status: 'failed', attempts: 1, error: { code: 'validation_failed' } });
    expect((await t.fetch(`${t.api}/datasets/${payload.outputDatasetId}`)).status).toBe(404);
  });
  it('fails a run for good, naming the value, when its data cannot be converted', async () => {
    const readings = await dataset('sensor,value\na,1\nb,2\nc,n/a\n', 'unconvertible.csv');
    const res = await post('/pipelines/run?wait=true', {
      definition: {
        input: { datasetId: readings.id },
        steps: [{ type: 'cast', columns: { sensor: 'integer' } }],
        output: { name: 'never stored' },
      },
    });
    expect(res.status, await res.clone().text()).toBe(200);
    const run = (await res.json()) as PipelineRun;
    expect(run).toMatchObject({
      status: 'failed',
      output: { versionId: null },
      error: { code: 'pipeline_data_error' },
    });
    expect(run.error?.message).toMatch(/^Conversion Error while running the pipeline: .*'a'/);
    expect(run.error?.message).not.toMatch(/read_parquet|\/tmp|\.parquet/);
    const job = (await (await t.fetch(`${t.api}/jobs/${run.jobId}`)).json()) as Job;
    // Not retried: the same data fails the same way on every attempt.
    expect(job).toMatchObject({ status: 'failed', attempts: 1, error: { code: 'pipeline_data_error' } });
  });
});

describe('ad-hoc runs', () => {
  it('runs a definition that is not saved, into a dataset named by the definition or appended to one it names', async () => {
    const sales = await dataset('city,amount\nBerlin,7\nParis,8\n', 'adhoc.csv');
    const definition = {
      input: { datasetId: sales.id },
      steps: [{ type: 'derive', column: 'plus', expression: 'amount + 1' }],
      output: { name: 'Plus one', description: 'made ad hoc' },
    };
    const run = await runAndWait('/pipelines/run', { definition });
    expect(run).toMatchObject({ pipelineId: null, pipelineVersion: null, pipelineName: 'Plus one', rowCount: 2 });
    const out = (await (await t.fetch(`${t.api}/datasets/${run.output.datasetId}`)).json()) as {
      name: string;
      description: string;
    };
    expect(out).toMatchObject({ name: 'Plus one', description: 'made ad hoc' });
    expect(await rowsOf(run.output.datasetId!)).toEqual({
      columns: ['city', 'amount', 'plus'],
      rows: [
        ['Berlin', 7, 8],
        ['Paris', 8, 9],
      ],
    });

    const appended = await runAndWait('/pipelines/run', {
      definition: { ...definition, output: { datasetId: run.output.datasetId } },
      wait: true,
    });
    expect(appended.output.datasetId).toBe(run.output.datasetId);
    expect(
      ((await (await t.fetch(`${t.api}/datasets/${run.output.datasetId}`)).json()) as { versionCount: number })
        .versionCount,
    ).toBe(2);

    const nowhere = await post('/pipelines/run', {
      definition: { ...definition, output: { datasetId: 'ds_01J00000000000000000000000' } },
    });
    expect(nowhere.status).toBe(404);
    expect((await problemOf(nowhere)).errors[0]!.pointer).toBe('/definition/output/datasetId');
  });

  it('lets an analyst run and a viewer not', async () => {
    const sales = await dataset('city,amount\nBerlin,70\n', 'perm.csv');
    const definition = { input: { datasetId: sales.id }, steps: [] };
    const viewer = await actor(t, 'viewer');
    const analyst = await actor(t, 'analyst');
    const denied = await post('/pipelines/run', { definition }, viewer.headers);
    expect(denied.status).toBe(403);
    expect(((await problemOf(denied)) as { permission?: string }).permission).toBe('pipelines:run');
    const id = await save('Perm', definition);
    expect((await post(`/pipelines/${id}/run`, {}, viewer.headers)).status).toBe(403);
    // The viewer still reads the history.
    expect((await t.fetch(`${t.api}/pipelines/${id}/runs`, { headers: viewer.headers })).status).toBe(200);
    const res = await post(`/pipelines/${id}/run?wait=true`, {}, analyst.headers);
    expect(res.status, await res.clone().text()).toBe(201);
    expect(((await res.json()) as PipelineRun).createdBy).toBe(analyst.userId);
  });
});

describe('long work', () => {
  let big: { id: string; versionId: string };
  beforeAll(async () => {
    // Every row matches every row of itself: 20 000² rows, far more than a run gets to write before it is stopped.
    const rows = Array.from({ length: 20_000 }, (_, i) => `1,${i}`).join('\n');
    big = await dataset(`k,v\n${rows}\n`, 'big.csv');
  });

  it('stops a preview at its time limit with 422 query_timeout', async () => {
    const repo = new PipelineRepo(t.context.store.db);
    const datasets = t.context.datasets;
    const limits = { maxRows: t.config.work.maxOutputRows, maxBytes: t.config.work.maxOutputBytes };
    const executor = new PipelineExecutor({
      engine: t.context.engine,
      blobs: t.context.blobs,
      scratch: t.context.scratch,
      datasets,
      limits,
    });
    const impatient = new PipelineService({
      repo,
      datasets,
      executor,
      jobs: t.context.jobs,
      previewTimeoutMs: 300,
    });
    const definition = {
      input: { datasetId: big.id },
      steps: [
        { type: 'join', dataset: { datasetId: big.id }, on: ['k'], how: 'inner' as const },
        { type: 'aggregate', groupBy: ['k'], aggregations: [{ column: 'v', function: 'sum', as: 'total' }] },
      ],
    };
    const started = Date.now();
    const e = await impatient.preview('ws_default', { definition, limit: 5 }).then(
      () => null,
      (err: unknown) => err,
    );
    expect(e).toBeInstanceOf(AppError);
    expect(e).toMatchObject({
      status: 422,
      code: 'query_timeout',
      message: 'The preview took longer than 0.3 s and was stopped; preview fewer rows or fewer steps',
    });
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('cancelling a run leaves no version, no dataset and no scratch file behind', async () => {
    const definition = {
      input: { datasetId: big.id },
      steps: [{ type: 'join', dataset: { datasetId: big.id }, on: ['k'], how: 'inner' }],
    };
    const accepted = (await (await post('/pipelines/run', { definition, name: 'Too big' })).json()) as {
      runId: string;
      jobId: string;
    };
    const running = await eventually(
      async () => (await (await t.fetch(`${t.api}/jobs/${accepted.jobId}`)).json()) as Job,
      (j) => j.status === 'running' && j.progress >= 10,
      20_000,
    );
    expect(running.status).toBe('running');
    const scratchFiles = async () => (await readdir(t.context.scratch.dir)).filter((f) => f.endsWith('.parquet'));
    const cancel = await post(`/jobs/${accepted.jobId}/cancel`, {});
    expect(cancel.status, await cancel.clone().text()).toBe(200);
    const run = await eventually(
      async () => (await (await t.fetch(`${t.api}/pipelines/runs/${accepted.runId}`)).json()) as PipelineRun,
      (r) => r.status === 'cancelled',
      20_000,
    );
    expect(run).toMatchObject({ status: 'cancelled', output: { versionId: null } });
    // The handler finishes its clean-up just after the job is recorded cancelled.
    expect(await eventually(scratchFiles, (f) => f.length === 0)).toEqual([]);
    const payload = (
      (await (await t.fetch(`${t.api}/jobs/${accepted.jobId}`)).json()) as Job<{ outputDatasetId: string }>
    ).payload;
    expect((await t.fetch(`${t.api}/datasets/${payload.outputDatasetId}`)).status).toBe(404);
    const names = ((await (await t.fetch(`${t.api}/datasets?search=Too%20big`)).json()) as { total: number }).total;
    expect(names).toBe(0);
  });
});

describe('where a run may store', () => {
  const versionsOf = async (datasetId: string) =>
    (
      (await (await t.fetch(`${t.api}/datasets/${datasetId}/versions`)).json()) as { items: { id: string }[] }
    ).items.map((v) => v.id);
  const keep = async (datasetId: string, keepVersions: number | null) => {
    const res = await t.fetch(`${t.api}/datasets/${datasetId}`, {
      method: 'PATCH',
      headers: json,
      body: JSON.stringify({ keepVersions }),
    });
    expect(res.status, await res.clone().text()).toBe(200);
  };
  const setRole = async (userId: string, role: string) => {
    const res = await t.fetch(`${t.api}/workspaces/ws_default/members/${userId}`, {
      method: 'PATCH',
      headers: json,
      body: JSON.stringify({ role }),
    });
    expect(res.status, await res.clone().text()).toBe(200);
  };

  it('an analyst may not add a version to an existing dataset, ad hoc, through a saved pipeline or into its earlier output; a new one she may', async () => {
    const source = await dataset('city,amount\nBerlin,101\n', 'analyst-source.csv');
    const target = await dataset('city,amount\nOslo,2\n', 'analyst-target.csv');
    const analyst = await actor(t, 'analyst');
    const before = await versionsOf(target.id);

    const adHoc = await post(
      '/pipelines/run?wait=true',
      { definition: { input: { datasetId: source.id }, steps: [], output: { datasetId: target.id } } },
      analyst.headers,
    );
    expect(adHoc.status).toBe(403);
    const problem = await problemOf(adHoc);
    expect(problem).toMatchObject({
      code: 'forbidden',
      permission: 'datasets:write',
      errors: [{ pointer: '/definition/output/datasetId' }],
    });
    expect(problem.detail).toContain(target.id);

    const named = await save('Into target', {
      input: { datasetId: source.id },
      steps: [],
      output: { datasetId: target.id },
    });
    const saved = await post(`/pipelines/${named}/run?wait=true`, {}, analyst.headers);
    expect(saved.status).toBe(403);
    expect(await problemOf(saved)).toMatchObject({ code: 'forbidden', permission: 'datasets:write' });
    expect(((await (await t.fetch(`${t.api}/pipelines/${named}/runs`)).json()) as { total: number }).total).toBe(0);

    // The pipeline's own output, made by an earlier run of someone who may write: appending to it is writing too.
    const own = await save('Own output', { input: { datasetId: source.id }, steps: [] });
    const first = await runAndWait(`/pipelines/${own}/run`);
    const output = first.output.datasetId!;
    const again = await post(`/pipelines/${own}/run?wait=true`, {}, analyst.headers);
    expect(again.status).toBe(403);
    expect(await versionsOf(output)).toEqual([first.output.versionId]);
    expect(await versionsOf(target.id)).toEqual(before);

    const fresh = await post(
      '/pipelines/run?wait=true',
      { definition: { input: { datasetId: source.id }, steps: [], output: { name: 'Analyst own' } } },
      analyst.headers,
    );
    expect(fresh.status, await fresh.clone().text()).toBe(201);
  });

  it('an output name that exists adds a version to that dataset, if the caller may; a name two datasets share is refused, listing them', async () => {
    const source = await dataset('city,amount\nBerlin,7\n', 'named-source.csv');
    const definition = { input: { datasetId: source.id }, steps: [], output: { name: 'device summary' } };
    const first = await runAndWait('/pipelines/run', { definition });
    const second = await runAndWait('/pipelines/run', { definition });
    const target = first.output.datasetId!;
    expect(second.output.datasetId).toBe(target);
    const saved = await save('Device summary, saved', definition);
    expect((await runAndWait(`/pipelines/${saved}/run`)).output.datasetId).toBe(target);
    const stored = await versionsOf(target);
    expect(stored).toHaveLength(3);
    expect(((await (await t.fetch(`${t.api}/datasets?name=device%20summary`)).json()) as { total: number }).total).toBe(
      1,
    );

    // Adding to it is writing to it: refused for an analyst, who is told why and how to store elsewhere.
    const analyst = await actor(t, 'analyst');
    const refused = await post('/pipelines/run?wait=true', { definition }, analyst.headers);
    expect(refused.status).toBe(403);
    const problem = await problemOf(refused);
    expect(problem).toMatchObject({
      code: 'forbidden',
      permission: 'datasets:write',
      errors: [{ pointer: '/definition/output/name', message: "needs 'datasets:write'" }],
    });
    expect(problem.detail).toBe(
      `The output name 'device summary' is taken by dataset '${target}', so the run would add a version to it; that needs the permission ` +
        "'datasets:write'. Ask a workspace admin for it, or choose another output.name to store the result as a new dataset",
    );
    // One that keeps only its newest versions needs datasets:delete too.
    await keep(target, 5);
    const writer = bearer((await apiKey(t, ['pipelines:run', 'datasets:read', 'datasets:write'])).token);
    const pruning = await post('/pipelines/run?wait=true', { definition }, writer);
    expect(pruning.status).toBe(403);
    expect((await problemOf(pruning)).detail).toMatch(
      /^The output name 'device summary' is taken by dataset '\w+', so the run would add a version to it; it keeps only its 5 newest versions, so adding one deletes an older one: that needs the permission 'datasets:delete'/,
    );
    await keep(target, null);
    expect(await versionsOf(target)).toEqual(stored);

    // An upload of the same name makes it ambiguous: refused with both listed (oldest first), until output.datasetId picks one.
    const twin = await uploadDataset(t, 'city,amount\nLima,1\n', { filename: 'twin.csv', name: 'device summary' });
    const ambiguous = await post('/pipelines/run?wait=true', { definition });
    expect(ambiguous.status).toBe(409);
    const conflict = (await problemOf(ambiguous)) as Awaited<ReturnType<typeof problemOf>> & {
      candidates: { id: string; name: string }[];
    };
    expect(conflict).toMatchObject({
      code: 'conflict',
      errors: [{ pointer: '/definition/output/name', message: 'names 2 datasets' }],
    });
    expect(conflict.candidates.map((c) => [c.id, c.name])).toEqual([
      [target, 'device summary'],
      [twin.id, 'device summary'],
    ]);
    expect(conflict.detail).toBe(
      `2 datasets are named 'device summary' (${target}, ${twin.id}), so the run cannot tell which to add a version to; ` +
        'set output.datasetId to the one you mean, or choose another output.name for a new dataset',
    );
    const savedAmbiguous = await post(`/pipelines/${saved}/run?wait=true`, {});
    expect(savedAmbiguous.status).toBe(409);
    expect((await problemOf(savedAmbiguous)).errors).toEqual([]);
    const chosen = await runAndWait('/pipelines/run', {
      definition: { ...definition, output: { name: 'device summary', datasetId: twin.id } },
    });
    expect(chosen.output.datasetId).toBe(twin.id);
    expect(await versionsOf(target)).toEqual(stored);
  });

  it('adding to a dataset that keeps only its newest versions needs datasets:delete too: the original survives the sweep', async () => {
    const source = await dataset('city,amount\nRome,3\n', 'keep-source.csv');
    const target = await dataset('city,amount\nLima,4\n', 'keep-target.csv');
    await keep(target.id, 1);
    // Holds datasets:write and pipelines:run, not datasets:delete.
    const key = bearer((await apiKey(t, ['pipelines:run', 'datasets:read', 'datasets:write'])).token);
    const definition = { input: { datasetId: source.id }, steps: [], output: { datasetId: target.id } };
    for (let i = 0; i < 2; i++) {
      const res = await post('/pipelines/run?wait=true', { definition }, key);
      expect(res.status).toBe(403);
      const problem = await problemOf(res);
      expect(problem).toMatchObject({ code: 'forbidden', permission: 'datasets:delete' });
      expect(problem.detail).toMatch(/keeps only its 1 newest versions/);
    }
    const sweep = await post('/system/storage/sweep?wait=true', {});
    expect(sweep.status).toBe(200);
    expect(await versionsOf(target.id)).toEqual([target.versionId]);
    // Someone who may delete may add (and so prune).
    expect((await post('/pipelines/run?wait=true', { definition })).status).toBe(201);
  });

  it('a run queued by someone who has since lost the permission fails forbidden when it runs, writing nothing', async () => {
    const source = await dataset('city,amount\nQuito,5\n', 'lost-source.csv');
    const target = await dataset('city,amount\nLyon,6\n', 'lost-target.csv');
    const maintainer = await actor(t, 'maintainer');
    const queue = async (createDataset: boolean) => {
      const runId = newId('run');
      const definition = {
        input: { datasetId: source.id },
        steps: [],
        ...(createDataset ? {} : { output: { datasetId: target.id } }),
      };
      await new PipelineRepo(t.context.store.db).insertRun({
        id: runId,
        pipelineId: null,
        pipelineVersion: null,
        pipelineName: 'Queued earlier',
        workspaceId: 'ws_default',
        definition,
        inputDatasetId: source.id,
        inputVersionId: null,
        outputDatasetId: createDataset ? null : target.id,
        params: {},
        createdBy: maintainer.userId,
      });
      const outputDatasetId = createDataset ? newId('ds') : target.id;
      const payload = {
        v: 1,
        runId,
        outputDatasetId,
        outputVersionId: newId('dv'),
        ...(createDataset ? { createDataset: { name: 'Never', description: '' } } : {}),
      };
      const job = await t.context.jobs.enqueue('pipeline.run', payload, {
        workspaceId: 'ws_default',
        createdBy: maintainer.userId,
      });
      await t.context.store.db.updateTable('pipeline_runs').set({ job_id: job.id }).where('id', '=', runId).execute();
      const run = await eventually(
        async () => (await (await t.fetch(`${t.api}/pipelines/runs/${runId}`)).json()) as PipelineRun,
        (r) => r.status !== 'queued' && r.status !== 'running',
        20_000,
      );
      const failed = await eventually(
        async () => (await (await t.fetch(`${t.api}/jobs/${job.id}`)).json()) as Job,
        (j) => j.status !== 'running' && j.status !== 'queued',
      );
      return { run, job: failed, outputDatasetId };
    };

    // Demoted to analyst after queuing: may still run, may no longer add to the existing dataset.
    await setRole(maintainer.userId, 'analyst');
    const demoted = await queue(false);
    expect(demoted.run).toMatchObject({ status: 'failed', output: { versionId: null }, error: { code: 'forbidden' } });
    expect(demoted.run.error?.message).toMatch(/'datasets:write', which the user who queued this job no longer holds/);
    expect(demoted.job).toMatchObject({ status: 'failed', attempts: 1, error: { code: 'forbidden' } });
    expect(await versionsOf(target.id)).toEqual([target.versionId]);

    // Removed from the workspace: may not even run into a new dataset.
    const removed = await t.fetch(`${t.api}/workspaces/ws_default/members/${maintainer.userId}`, { method: 'DELETE' });
    expect(removed.status).toBe(204);
    const gone = await queue(true);
    expect(gone.run).toMatchObject({ status: 'failed', error: { code: 'forbidden' } });
    expect(gone.run.error?.message).toContain("'pipelines:run'");
    expect((await t.fetch(`${t.api}/datasets/${gone.outputDatasetId}`)).status).toBe(404);
  });
});
