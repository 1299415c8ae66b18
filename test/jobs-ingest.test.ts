import { createWriteStream, openAsBlob } from 'node:fs';
import { copyFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import { newId } from '../src/ids.js';
import type { Job } from '../src/jobs/types.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import { blobKeys, filesUnder } from './helpers/disk.js';
import { problemOf } from './helpers/upload.js';

/** Upload without ?wait=true: 202 once the file is durable, then an ingest job does the work. */
let t: TestApp;

beforeAll(async () => {
  t = await startTestApp({ WEIR_SHUTDOWN_TIMEOUT_MS: '1000' });
});
afterAll(async () => {
  await t?.close();
});

const unique = () => randomBytes(6).toString('hex');

async function post(
  content: string,
  opts: { path?: string; name?: string; tags?: string; filename?: string } = {},
): Promise<Response> {
  const form = new FormData();
  if (opts.name) form.append('name', opts.name);
  if (opts.tags) form.append('tags', opts.tags);
  form.append('file', new Blob([content]), opts.filename ?? 'data.csv');
  return t.fetch(`${t.api}${opts.path ?? '/datasets'}`, { method: 'POST', body: form });
}

async function jobDone(id: string): Promise<Job> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const res = await t.fetch(`${t.api}/jobs/${id}`);
    expect(res.status).toBe(200);
    const job = (await res.json()) as Job;
    if (job.status === 'succeeded' || job.status === 'failed' || job.status === 'cancelled') return job;
    if (Date.now() > deadline) throw new Error(`ingest job ${id} still ${job.status}`);
    await sleep(25);
  }
}

const uploadsLeft = () => blobKeys(t.context.blobs, 'uploads/');

describe('asynchronous upload (202 + ingest job)', () => {
  it('answers 202 with the dataset id and job; the job creates exactly that dataset', async () => {
    const res = await post(`city,temp\nOslo,3\nLima,${unique()}\n`, { name: 'cities', tags: 'geo,2026' });
    expect(res.status).toBe(202);
    const accepted = (await res.json()) as { datasetId: string; jobId: string; status: string };
    expect(accepted).toEqual({
      datasetId: expect.stringMatching(/^ds_/),
      jobId: expect.stringMatching(/^job_/),
      status: 'queued',
    });
    expect(res.headers.get('location')).toBe(`/api/v1/jobs/${accepted.jobId}`);
    const job = await jobDone(accepted.jobId);
    expect(job).toMatchObject({
      kind: 'ingest',
      status: 'succeeded',
      progress: 100,
      attempts: 1,
      error: null,
      workspaceId: 'ws_default',
    });
    const result = job.result as {
      id: string;
      name: string;
      tags: string[];
      version: { id: string; rowCount: number; number: number };
      duplicateOf: unknown;
    };
    expect(result).toMatchObject({
      id: accepted.datasetId,
      name: 'cities',
      tags: ['2026', 'geo'],
      duplicateOf: null,
      version: { number: 1, rowCount: 2 },
    });
    const dataset = await t.fetch(`${t.api}/datasets/${accepted.datasetId}`);
    expect(dataset.status).toBe(200);
    expect(((await dataset.json()) as { latestVersion: { id: string } }).latestVersion.id).toBe(result.version.id);
    expect(await uploadsLeft()).toEqual([]);
  });

  it('a new version through a job; identical bytes answer 200 duplicateOf at once; an unknown dataset is 404 at once', async () => {
    const first = (await (await post(`a,b\n1,${unique()}\n`)).json()) as { datasetId: string; jobId: string };
    await jobDone(first.jobId);
    const content = `a,b\n2,${unique()}\n`;
    const res = await post(content, { path: `/datasets/${first.datasetId}/versions` });
    expect(res.status).toBe(202);
    const accepted = (await res.json()) as { datasetId: string; jobId: string };
    expect(accepted.datasetId).toBe(first.datasetId);
    const job = await jobDone(accepted.jobId);
    expect(job.result).toMatchObject({ id: first.datasetId, versionCount: 2, version: { number: 2 } });
    const dup = await post(content);
    expect(dup.status).toBe(200);
    expect(((await dup.json()) as { duplicateOf: unknown }).duplicateOf).toEqual({
      datasetId: first.datasetId,
      versionId: (job.result as { version: { id: string } }).version.id,
    });
    const missing = await post('a\n1\n', { path: `/datasets/${newId('ds')}/versions` });
    expect(missing.status).toBe(404);
    expect(await uploadsLeft()).toEqual([]);
    expect(
      await filesUnder(path.join(t.dataDir, 'tmp')).then((f) =>
        f.filter((x) => !x.startsWith(`p${process.pid}/duckdb`)),
      ),
    ).toEqual([]);
  });

  it('a refused file fails the job with the validation code and its field errors; nothing is left', async () => {
    const res = await post(`a,b,c\n1,2,3\n4,5\n6,7,${unique()}\n`, { filename: 'ragged.csv' });
    expect(res.status).toBe(202);
    const accepted = (await res.json()) as { datasetId: string; jobId: string };
    const job = await jobDone(accepted.jobId);
    expect(job).toMatchObject({
      status: 'failed',
      attempts: 1,
      result: null,
      error: { code: 'ragged_rows', message: expect.stringMatching(/Row 2 \(line 3\) has 2 fields/) },
    });
    expect(job.error!.details).toEqual([expect.objectContaining({ line: 3 })]);
    expect((await t.fetch(`${t.api}/datasets/${accepted.datasetId}`)).status).toBe(404);
    expect(await uploadsLeft()).toEqual([]);
  });

  it('?wait=true keeps the synchronous answer (201 with the dataset)', async () => {
    const form = new FormData();
    form.append('file', new Blob([`x\n${unique()}\n`]), 'w.csv');
    const res = await t.fetch(`${t.api}/datasets?wait=true`, { method: 'POST', body: form });
    expect(res.status).toBe(201);
    expect(((await res.json()) as { version: { rowCount: number } }).version.rowCount).toBe(1);
    const bad = await t.fetch(`${t.api}/datasets?wait=true`, {
      method: 'POST',
      body: (() => {
        const f = new FormData();
        f.append('file', new Blob(['']), 'e.csv');
        return f;
      })(),
    });
    expect(bad.status).toBe(422);
    expect((await problemOf(bad)).code).toBe('empty_file');
  });

  it('a retried ingest after partial success neither duplicates nor calls itself a duplicate', async () => {
    const content = `k,v\n1,${unique()}\n`;
    const file = path.join(t.dataDir, `retry-${unique()}.csv`);
    await writeFile(file, content);
    const sha256 = createHash('sha256').update(content).digest('hex');
    const presetDatasetId = newId('ds');
    const presetVersionId = newId('dv');
    const attempt = async () => {
      const copy = `${file}.${unique()}`;
      await copyFile(file, copy);
      return t.context.datasets.ingest({
        workspaceId: 'ws_default',
        presetDatasetId,
        presetVersionId,
        name: 'retried',
        file: {
          path: copy,
          filename: 'r.csv',
          bytes: content.length,
          sha256,
          head: Buffer.from(content),
          firstNul: -1,
        },
        log: t.context.log,
      });
    };
    const first = await attempt();
    const second = await attempt();
    expect(first).toMatchObject({
      dataset: { id: presetDatasetId },
      version: { id: presetVersionId },
      duplicateOf: null,
    });
    expect(second).toMatchObject({
      dataset: { id: presetDatasetId, versionCount: 1 },
      version: { id: presetVersionId },
      duplicateOf: null,
    });
  });
});

/** A CSV of `rows` rows written to `file` (streamed: the test never holds it in memory). */
async function writeBigCsv(file: string, rows: number): Promise<void> {
  const out = createWriteStream(file);
  out.write('id,name,value,at\n');
  for (let i = 0; i < rows; i += 10_000) {
    let chunk = '';
    for (let j = i; j < Math.min(rows, i + 10_000); j++)
      chunk += `${j},name-${j % 1000},${(j * 0.37).toFixed(2)},2026-01-${String(1 + (j % 28)).padStart(2, '0')}T10:00:00Z\n`;
    if (!out.write(chunk)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

describe('cancelling an ingest job', () => {
  it('stops the ingest mid-conversion: the job ends cancelled, no version is created, and a retry still has the upload', async () => {
    const rows = 2_000_000;
    const file = path.join(t.dataDir, `big-${unique()}.csv`);
    await writeBigCsv(file, rows);
    const form = new FormData();
    form.append('file', await openAsBlob(file), 'big.csv');
    const res = await t.fetch(`${t.api}/datasets`, { method: 'POST', body: form });
    expect(res.status).toBe(202);
    const accepted = (await res.json()) as { datasetId: string; jobId: string };

    // DuckDB is converting (about a second of work for this file) when the cancel arrives.
    const deadline = Date.now() + 20_000;
    for (;;) {
      const job = (await (await t.fetch(`${t.api}/jobs/${accepted.jobId}`)).json()) as Job;
      expect(
        job.status === 'queued' || job.status === 'running',
        `job ${job.status} before it could be cancelled`,
      ).toBe(true);
      if (job.progressMessage === 'converting to Parquet') break;
      if (Date.now() > deadline) throw new Error('the ingest never started converting');
      await sleep(10);
    }
    const cancelled = await t.fetch(`${t.api}/jobs/${accepted.jobId}/cancel`, { method: 'POST' });
    expect(cancelled.status).toBe(200);
    expect(await jobDone(accepted.jobId)).toMatchObject({
      status: 'cancelled',
      attempts: 1,
      error: { code: 'cancelled' },
      result: null,
    });

    // The attempt's slot is free only once its handler has returned: after that nothing more can be written. In a
    // supervised worker process the slot's release (IPC) and the handler's log line (its stdout) travel apart, so
    // wait for both rather than read the log the moment the slot is free.
    const returned = Date.now() + 20_000;
    const handlerReturned = () =>
      t.logs.some((l) => l.jobId === accepted.jobId && l.msg === 'job handler returned after its attempt was aborted');
    while (t.context.queue.activeAttempts > 0 || !handlerReturned()) {
      if (Date.now() > returned) break;
      await sleep(20);
    }
    expect(t.context.queue.activeAttempts, 'the ingest handler never returned after its cancel').toBe(0);
    expect(handlerReturned()).toBe(true);
    expect((await t.fetch(`${t.api}/datasets/${accepted.datasetId}`)).status).toBe(404);
    expect(
      await t.context.store.db
        .selectFrom('dataset_versions')
        .select('id')
        .where('dataset_id', '=', accepted.datasetId)
        .execute(),
    ).toEqual([]);
    expect(await blobKeys(t.context.blobs, `datasets/ws_default/${accepted.datasetId}/`)).toEqual([]);
    // The cancel is no refusal: the upload stays, so the job can run again.
    expect(await uploadsLeft()).toHaveLength(1);

    expect((await t.fetch(`${t.api}/jobs/${accepted.jobId}/retry`, { method: 'POST' })).status).toBe(200);
    const retried = await jobDone(accepted.jobId);
    expect(retried).toMatchObject({
      status: 'succeeded',
      result: { id: accepted.datasetId, version: { rowCount: rows } },
    });
    expect(await uploadsLeft()).toEqual([]);
  }, 60_000);
});
