import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, login, startTestApp, blobsUnderTest, type TestApp } from './helpers/app.js';
import { ManualClock } from '../src/clock.js';
import { PNG } from './helpers/files.js';
import { actor, bearer, eventually, workspace } from './helpers/identity.js';
import { TestClient, wsUrl } from './helpers/realtime.js';
import { problemOf } from './helpers/upload.js';
import { TUS, checksum, csvOf, cuttingProxy, metadataHeader, tusUpload } from './helpers/tus.js';

interface UploadView {
  id: string;
  status: string;
  offset: number;
  length: number | null;
  datasetId: string | null;
  versionId: string | null;
  jobId: string | null;
  parts: string[];
  concat: string | null;
  duplicateOf: unknown;
  error: { code: string; message: string } | null;
}

async function settled(t: TestApp, id: string, timeoutMs = 20_000): Promise<UploadView> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const view = (await (await t.fetch(`${t.api}/uploads/${id}`)).json()) as UploadView;
    if (['done', 'rejected', 'failed', 'expired', 'complete'].includes(view.status)) return view;
    if (Date.now() > deadline) throw new Error(`upload ${id} still ${view.status}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const idOf = (url: string | null) => url!.split('/').pop()!;

async function create(t: TestApp, headers: Record<string, string>, body?: Buffer): Promise<Response> {
  return t.fetch(`${t.api}/uploads`, {
    method: 'POST',
    headers: { ...TUS, ...headers, ...(body ? { 'content-type': 'application/offset+octet-stream' } : {}) },
    body: body ? new Uint8Array(body) : undefined,
  });
}

async function patch(
  t: TestApp,
  id: string,
  offset: number,
  body: Buffer,
  headers: Record<string, string> = {},
): Promise<Response> {
  return t.fetch(`${t.api}/uploads/${id}`, {
    method: 'PATCH',
    headers: { ...TUS, 'content-type': 'application/offset+octet-stream', 'upload-offset': String(offset), ...headers },
    body: new Uint8Array(body),
  });
}

/** Files of an upload's staging (local blob driver), or its part objects (S3). */
async function stagedObjects(t: TestApp, id: string): Promise<string[]> {
  const found: string[] = [];
  for await (const entry of t.context.blobs.list('uploads/')) if (entry.key.includes(`/${id}/`)) found.push(entry.key);
  return found;
}

describe(`tus uploads (${blobsUnderTest} blobs)`, () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ WEIR_MAX_UPLOAD_BYTES: '50MB' });
  });
  afterAll(async () => t?.close());

  it('answers discovery with the version, the extensions, the size limit and the checksum algorithms', async () => {
    const res = await fetch(`${t.api}/uploads`, { method: 'OPTIONS' });
    expect(res.status).toBe(204);
    expect(res.headers.get('tus-resumable')).toBe('1.0.0');
    expect(res.headers.get('tus-version')).toBe('1.0.0');
    expect(res.headers.get('tus-extension')!.split(',')).toEqual(
      expect.arrayContaining([
        'creation',
        'creation-with-upload',
        'creation-defer-length',
        'expiration',
        'checksum',
        'termination',
        'concatenation',
      ]),
    );
    expect(res.headers.get('tus-max-size')).toBe(String(50e6));
    expect(res.headers.get('tus-checksum-algorithm')!.split(',')).toEqual(expect.arrayContaining(['sha1', 'sha256']));
  });

  it('takes a file from tus-js-client in chunks and turns it into a dataset version, with the progress on upload:<id>', async () => {
    const data = csvOf(20_000);
    const ws = await TestClient.open(wsUrl(t.url), { headers: t.auth });
    let subscribed: Promise<unknown> | null = null;
    const run = tusUpload(`${t.api}/uploads`, data, {
      headers: t.auth,
      chunkSize: 64 * 1024,
      metadata: { filename: 'sensors.csv', name: 'Sensors', description: 'from tus', tags: 'iot,raw' },
      onUploadUrlAvailable: () => {
        subscribed = ws.request({ type: 'subscribe', topic: `upload:${idOf(run.upload.url)}`, id: 'sub' });
      },
    });
    await run.done;
    await subscribed;
    const id = idOf(run.url);
    const view = await settled(t, id);
    expect(view).toMatchObject({ status: 'done', offset: data.length, length: data.length, error: null });
    const dataset = (await (await t.fetch(`${t.api}/datasets/${view.datasetId}`)).json()) as {
      name: string;
      description: string;
      tags: string[];
      latestVersion: { rowCount: number; id: string };
    };
    expect(dataset).toMatchObject({ name: 'Sensors', description: 'from tus', tags: ['iot', 'raw'] });
    const versions = (await (await t.fetch(`${t.api}/datasets/${view.datasetId}/versions`)).json()) as
      { items?: { id: string; rowCount: number }[] } | { id: string; rowCount: number }[];
    const list = Array.isArray(versions) ? versions : versions.items!;
    expect(list[0]).toMatchObject({ id: view.versionId, rowCount: 20_000 });
    // Byte progress, then the ingest's progress, then the final state, all on the upload's topic.
    await ws.next(
      'event',
      (m) => m.topic === `upload:${id}` && (m as { data: { status?: string } }).data.status === 'done',
      10_000,
    );
    const types = new Set(ws.events(`upload:${id}`).map((e) => e.event));
    expect([...types]).toEqual(expect.arrayContaining(['upload.progress', 'upload.ingest', 'upload.state']));
    ws.close();
    // Nothing of the upload is left in staging.
    expect(await stagedObjects(t, id)).toEqual([]);
  });

  it('resumes after the connection is cut half way through a PATCH, keeping the bytes that arrived', async () => {
    const data = csvOf(1_000_000);
    const proxy = await cuttingProxy(t.url, Math.floor(data.length / 2));
    try {
      // One PATCH for the whole file: the cut lands in its middle; the client retries from HEAD's offset.
      // The first retry waits a little: the server must notice the cut before HEAD can report the bytes it kept.
      const run = tusUpload(`${proxy.url}/api/v1/uploads`, data, {
        headers: t.auth,
        metadata: { filename: 'cut.csv' },
        retryDelays: [300, 500, 1000, 2000],
      });
      await run.done;
      expect(proxy.cuts).toBe(1);
      const view = await settled(t, idOf(run.url));
      expect(view.status).toBe('done');
      const kept = t.logs.find(
        (l) => l.msg === 'upload request cut off; bytes received so far kept' && l.uploadId === view.id,
      );
      expect(kept?.committed).toBeGreaterThan(0);
      // The retry resumed from what the server had stored, not from zero: about the file went through once.
      expect(kept!.offset).toBeGreaterThan(data.length / 4);
      // (Starting over would have sent 1.5 times the file; what was in flight when the link broke is sent again.)
      expect(proxy.bytesUp).toBeLessThan(data.length * 1.25);
      const rows = (await (
        await t.fetch(`${t.api}/datasets/${view.datasetId}/preview?limit=1&offset=999999`)
      ).json()) as { rows: unknown[][]; total: number };
      expect(rows.total).toBe(1_000_000);
      expect(rows.rows[0]).toEqual([999_999, 'row-999999', 1499998.5]);
    } finally {
      await proxy.close();
    }
  });

  it('takes the first bytes with the creation request (creation-with-upload), and refuses a body of another type before creating anything', async () => {
    const data = csvOf(5000);
    const run = tusUpload(`${t.api}/uploads`, data, {
      headers: t.auth,
      uploadDataDuringCreation: true,
      chunkSize: 50_000,
      metadata: { filename: 'early.csv' },
    });
    await run.done;
    expect((await settled(t, idOf(run.url))).status).toBe('done');
    const before = (await t.context.store.db.selectFrom('uploads').select('id').execute()).length;
    const json = await t.fetch(`${t.api}/uploads`, {
      method: 'POST',
      headers: { ...TUS, 'upload-length': '10', 'content-type': 'application/json' },
      body: '{"a":1}',
    });
    expect(json.status).toBe(415);
    expect((await t.context.store.db.selectFrom('uploads').select('id').execute()).length).toBe(before);
  });

  it('resumes an upload another client started, from the stored offset (tus-js-client with uploadUrl)', async () => {
    const data = csvOf(30_000);
    const created = await create(t, {
      'upload-length': String(data.length),
      'upload-metadata': metadataHeader({ filename: 'resume.csv' }),
    });
    const id = idOf(created.headers.get('location'));
    const half = 100_000;
    expect((await patch(t, id, 0, data.subarray(0, half))).status).toBe(204);
    const head = await t.fetch(`${t.api}/uploads/${id}`, { method: 'HEAD', headers: TUS });
    expect(head.headers.get('upload-offset')).toBe(String(half));
    const run = tusUpload(`${t.api}/uploads`, data, {
      headers: t.auth,
      uploadUrl: `${t.api}/uploads/${id}`,
      chunkSize: 32 * 1024,
    });
    await run.done;
    expect(run.progress[0]).toBeGreaterThanOrEqual(half);
    expect((await settled(t, id)).status).toBe('done');
  });

  it('concatenates parallel partial uploads (tus-js-client parallelUploads) into one dataset', async () => {
    const data = csvOf(50_000);
    const run = tusUpload(`${t.api}/uploads`, data, {
      headers: t.auth,
      parallelUploads: 4,
      metadata: { filename: 'parallel.csv', name: 'Parallel' },
    });
    await run.done;
    const view = await settled(t, idOf(run.url));
    expect(view).toMatchObject({ status: 'done', concat: 'final', length: data.length });
    expect(view.parts).toHaveLength(4);
    const preview = (await (
      await t.fetch(`${t.api}/datasets/${view.datasetId}/preview?limit=2&offset=24999`)
    ).json()) as { rows: unknown[][]; total: number };
    expect(preview.total).toBe(50_000);
    expect(preview.rows[0]![0]).toBe(24_999);
    // The parts are cleaned up after the final upload is marked done (a retry still finds them until then).
    const statuses = async () =>
      Promise.all(
        view.parts.map(
          async (part) => ((await (await t.fetch(`${t.api}/uploads/${part}`)).json()) as UploadView).status,
        ),
      );
    await eventually(statuses, (all) => all.every((st) => st === 'done'));
    await eventually(
      async () => (await Promise.all([view.id, ...view.parts].map((id) => stagedObjects(t, id)))).flat(),
      (left) => left.length === 0,
    );
  });

  it('refuses a final upload over unfinished, foreign or non-partial parts', async () => {
    const partial = await create(t, { 'upload-length': '10', 'upload-concat': 'partial' });
    const partialId = idOf(partial.headers.get('location'));
    const unfinished = await create(t, { 'upload-concat': `final;/api/v1/uploads/${partialId}` });
    expect(unfinished.status).toBe(409);
    const plain = await create(t, { 'upload-length': '10' });
    const notPartial = await create(t, {
      'upload-concat': `final;${t.api}/uploads/${idOf(plain.headers.get('location'))}`,
    });
    expect(notPartial.status).toBe(400);
    const missing = await create(t, { 'upload-concat': 'final;/api/v1/uploads/up_00000000000000000000000000' });
    expect(missing.status).toBe(404);
    const garbage = await create(t, { 'upload-concat': 'final;/etc/passwd' });
    expect((await problemOf(garbage)).errors[0]!.pointer).toBe('/headers/upload-concat');
    // A final upload takes no bytes of its own.
    expect((await patch(t, partialId, 0, Buffer.from('a,b\n1,2\n00'))).status).toBe(204);
    const final = await create(t, { 'upload-concat': `final;/api/v1/uploads/${partialId}` });
    expect(final.status).toBe(201);
    expect((await patch(t, idOf(final.headers.get('location')), 10, Buffer.from('x'))).status).toBe(403);
  });

  it('verifies Upload-Checksum: a match counts, a mismatch is 460 and its bytes are discarded', async () => {
    const data = csvOf(1000);
    const created = await create(t, {
      'upload-length': String(data.length),
      'upload-metadata': metadataHeader({ filename: 'sum.csv' }),
    });
    const id = idOf(created.headers.get('location'));
    const first = data.subarray(0, 4000);
    const good = await patch(t, id, 0, first, { 'upload-checksum': checksum('sha1', first) });
    expect(good.status).toBe(204);
    expect(good.headers.get('upload-offset')).toBe('4000');
    const second = data.subarray(4000);
    const bad = await patch(t, id, 4000, second, {
      'upload-checksum': checksum('sha256', Buffer.from('something else')),
    });
    expect(bad.status).toBe(460);
    expect((await problemOf(bad)).code).toBe('checksum_mismatch');
    const head = await t.fetch(`${t.api}/uploads/${id}`, { method: 'HEAD', headers: TUS });
    expect(head.headers.get('upload-offset')).toBe('4000');
    const unsupported = await patch(t, id, 4000, second, { 'upload-checksum': 'crc32 AAAA' });
    expect(unsupported.status).toBe(400);
    const fixed = await patch(t, id, 4000, second, { 'upload-checksum': checksum('sha256', second) });
    expect(fixed.status).toBe(204);
    expect((await settled(t, id)).status).toBe('done');
  });

  it('refuses a file over the size limit with 413 before storing anything', async () => {
    const before = await t.context.store.db.selectFrom('uploads').select('id').execute();
    const res = await create(t, { 'upload-length': String(51e6) });
    expect(res.status).toBe(413);
    expect((await problemOf(res)).code).toBe('payload_too_large');
    expect(await t.context.store.db.selectFrom('uploads').select('id').execute()).toHaveLength(before.length);
    // A deferred length is bounded as the bytes arrive, and when it is declared.
    const deferred = await create(t, { 'upload-defer-length': '1' });
    const id = idOf(deferred.headers.get('location'));
    expect((await patch(t, id, 0, Buffer.from('a,b\n'), { 'upload-length': String(51e6) })).status).toBe(413);
    expect((await patch(t, id, 0, Buffer.from('a,b\n1,2\n'), { 'upload-length': '8' })).status).toBe(204);
    expect((await settled(t, id)).status).toBe('done');
  });

  it('refuses a PNG named .csv from its first bytes, with the reason on the upload', async () => {
    const created = await create(t, {
      'upload-length': String(PNG.length + 300_000),
      'upload-metadata': metadataHeader({ filename: 'photo.csv' }),
    });
    const id = idOf(created.headers.get('location'));
    const res = await patch(t, id, 0, Buffer.concat([PNG, Buffer.alloc(300_000)]));
    expect(res.status).toBe(415);
    expect((await problemOf(res)).code).toBe('unsupported_format');
    const view = (await (await t.fetch(`${t.api}/uploads/${id}`)).json()) as UploadView;
    expect(view.status).toBe('rejected');
    expect(view.error!.code).toBe('unsupported_format');
    expect(view.jobId).toBeNull();
    expect(await stagedObjects(t, id)).toEqual([]);
    // Not resumable: HEAD and PATCH answer the refusal, not an offset a client would resume from.
    expect((await t.fetch(`${t.api}/uploads/${id}`, { method: 'HEAD', headers: TUS })).status).toBe(415);
    expect((await problemOf(await patch(t, id, 0, PNG))).code).toBe('unsupported_format');
  });

  it('closes the connection when it refuses a PATCH whose body it did not read, so the client is not left sending', async () => {
    const body = Buffer.concat([PNG, Buffer.alloc(8 * 1024 * 1024)]);
    const created = await create(t, {
      'upload-length': String(body.length),
      'upload-metadata': metadataHeader({ filename: 'big.csv' }),
    });
    const id = idOf(created.headers.get('location'));
    const answer = await new Promise<{ status: number; connection: string | undefined }>((resolve, reject) => {
      const req = http.request(
        `${t.api}/uploads/${id}`,
        {
          method: 'PATCH',
          headers: {
            ...t.auth,
            ...TUS,
            'content-type': 'application/offset+octet-stream',
            'upload-offset': '0',
            'content-length': String(body.length),
          },
        },
        (res) => {
          res.resume();
          resolve({ status: res.statusCode!, connection: res.headers.connection });
        },
      );
      req.on('error', (e) =>
        (e as NodeJS.ErrnoException).code === 'EPIPE' || (e as NodeJS.ErrnoException).code === 'ECONNRESET'
          ? undefined
          : reject(e),
      );
      // Sent slowly, so the answer comes while most of the body is still to send.
      let at = 0;
      const next = () => {
        if (at >= body.length) return req.end();
        const piece = body.subarray(at, at + 256 * 1024);
        at += piece.length;
        if (req.write(piece)) setTimeout(next, 5);
        else req.once('drain', next);
      };
      next();
    });
    expect(answer).toEqual({ status: 415, connection: 'close' });
  });

  it('marks an upload rejected when the ingest refuses what the first bytes did not show', async () => {
    const data = Buffer.from('a,b\n1,2\n' + '3,4,5,6\n'.repeat(10));
    const run = tusUpload(`${t.api}/uploads`, data, { headers: t.auth, metadata: { filename: 'ragged.csv' } });
    await run.done;
    const view = await settled(t, idOf(run.url));
    expect(view.status).toBe('rejected');
    expect(view.error!.code).toBe('ragged_rows');
  });

  it('adds a version to an existing dataset named in the metadata, and refuses an unknown one', async () => {
    const first = tusUpload(`${t.api}/uploads`, csvOf(10), { headers: t.auth, metadata: { filename: 'v1.csv' } });
    await first.done;
    const { datasetId } = await settled(t, idOf(first.url));
    const second = tusUpload(`${t.api}/uploads`, csvOf(11), {
      headers: t.auth,
      metadata: { filename: 'v2.csv', datasetId: datasetId! },
    });
    await second.done;
    const view = await settled(t, idOf(second.url));
    expect(view).toMatchObject({ status: 'done', datasetId });
    const versions = (await (await t.fetch(`${t.api}/datasets/${datasetId}/versions`)).json()) as
      unknown[] | { items: unknown[] };
    expect(Array.isArray(versions) ? versions : versions.items).toHaveLength(2);
    const unknown = await create(t, {
      'upload-length': '5',
      'upload-metadata': metadataHeader({ filename: 'x.csv', datasetId: 'ds_00000000000000000000000000' }),
    });
    expect(unknown.status).toBe(404);
  });

  it('answers the same bytes uploaded again as a duplicate of the stored version', async () => {
    const data = csvOf(123);
    const a = tusUpload(`${t.api}/uploads`, data, { headers: t.auth, metadata: { filename: 'dup.csv' } });
    await a.done;
    const first = await settled(t, idOf(a.url));
    const b = tusUpload(`${t.api}/uploads`, data, { headers: t.auth, metadata: { filename: 'dup-again.csv' } });
    await b.done;
    const second = await settled(t, idOf(b.url));
    expect(second.status).toBe('done');
    expect(second.duplicateOf).toEqual({ datasetId: first.datasetId, versionId: first.versionId });
  });

  it('terminates an upload: 204, its bytes are gone, then 404', async () => {
    const created = await create(t, { 'upload-length': '1000' });
    const id = idOf(created.headers.get('location'));
    expect((await patch(t, id, 0, Buffer.from('a,b\n1,2\n'))).status).toBe(204);
    expect(await stagedObjects(t, id)).not.toEqual([]);
    const del = await t.fetch(`${t.api}/uploads/${id}`, { method: 'DELETE', headers: TUS });
    expect(del.status).toBe(204);
    expect(await stagedObjects(t, id)).toEqual([]);
    expect((await t.fetch(`${t.api}/uploads/${id}`, { method: 'HEAD', headers: TUS })).status).toBe(404);
    expect((await patch(t, id, 8, Buffer.from('3,4\n'))).status).toBe(404);
  });

  it('answers protocol errors: offset mismatch 409, missing Tus-Resumable 412, wrong content type 415, bad headers 400', async () => {
    const created = await create(t, { 'upload-length': '100' });
    const id = idOf(created.headers.get('location'));
    const mismatch = await patch(t, id, 5, Buffer.from('abc'));
    expect(mismatch.status).toBe(409);
    const mismatchProblem = await problemOf(mismatch);
    expect(mismatchProblem.code).toBe('offset_mismatch');
    expect(mismatchProblem.detail).toContain('offset 0');
    const noVersion = await t.fetch(`${t.api}/uploads/${id}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/offset+octet-stream', 'upload-offset': '0' },
      body: 'abc',
    });
    expect(noVersion.status).toBe(412);
    expect(noVersion.headers.get('tus-resumable')).toBe('1.0.0');
    const wrongType = await t.fetch(`${t.api}/uploads/${id}`, {
      method: 'PATCH',
      headers: { ...TUS, 'content-type': 'text/plain', 'upload-offset': '0' },
      body: 'abc',
    });
    expect(wrongType.status).toBe(415);
    expect(JSON.stringify(await problemOf(wrongType))).not.toMatch(/\/tmp|node_modules|at .*\.ts/);
    expect((await create(t, {})).status).toBe(400);
    expect((await create(t, { 'upload-length': '-1' })).status).toBe(400);
    expect((await create(t, { 'upload-length': '10', 'upload-metadata': 'filename !!notbase64' })).status).toBe(400);
    const past = await patch(t, id, 0, Buffer.alloc(101, 0x41));
    expect(past.status).toBe(400);
    const head = await t.fetch(`${t.api}/uploads/${id}`, { method: 'HEAD', headers: TUS });
    expect(head.headers.get('upload-offset')).toBe('0');
  });

  it('needs credentials and the right permission; other workspaces see nothing', async () => {
    expect(
      (await fetch(`${t.api}/uploads`, { method: 'POST', headers: { ...TUS, 'upload-length': '10' } })).status,
    ).toBe(401);
    const viewer = await actor(t, 'viewer');
    expect(
      (
        await fetch(`${t.api}/uploads`, {
          method: 'POST',
          headers: { ...TUS, ...bearer(viewer.token), 'upload-length': '10' },
        })
      ).status,
    ).toBe(403);
    const created = await create(t, { 'upload-length': '10' });
    const id = idOf(created.headers.get('location'));
    expect((await fetch(`${t.api}/uploads/${id}`, { headers: bearer(viewer.token) })).status).toBe(200);
    const outsider = await t.fetch(`${t.api}/workspaces`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'elsewhere' }),
    });
    const wsId = ((await outsider.json()) as { id: string }).id;
    const foreign = await t.fetch(`${t.api}/uploads/${id}`, {
      method: 'HEAD',
      headers: { ...TUS, 'x-weir-workspace': wsId },
    });
    expect(foreign.status).toBe(404);
  });

  it('serializes concurrent PATCH requests on one upload: the bytes stay consistent', async () => {
    const data = csvOf(100_000);
    const created = await create(t, {
      'upload-length': String(data.length),
      'upload-metadata': metadataHeader({ filename: 'race.csv' }),
    });
    const id = idOf(created.headers.get('location'));
    // The second request supersedes the first (its connection is dropped: a client that started over is taken
    // to have given up on it), or finds the offset moved (409); never do both write.
    const results = await Promise.all([
      patch(t, id, 0, data).then(
        (r) => r.status,
        () => 'reset',
      ),
      patch(t, id, 0, data).then(
        (r) => r.status,
        () => 'reset',
      ),
    ]);
    expect(results.filter((r) => r === 204).length).toBeLessThanOrEqual(1);
    for (const r of results) expect([204, 409, 423, 'reset']).toContain(r);
    const head = await t.fetch(`${t.api}/uploads/${id}`, { method: 'HEAD', headers: TUS });
    const offset = Number(head.headers.get('upload-offset'));
    if (offset < data.length) expect((await patch(t, id, offset, data.subarray(offset))).status).toBe(204);
    const view = await settled(t, id);
    expect(view.status).toBe('done');
    const preview = (await (
      await t.fetch(`${t.api}/datasets/${view.datasetId}/preview?limit=1&offset=99999`)
    ).json()) as { total: number; rows: unknown[][] };
    expect(preview.total).toBe(100_000);
  });

  it('lists uploads and reads one as JSON', async () => {
    const list = (await (await t.fetch(`${t.api}/uploads?limit=5`)).json()) as { items: UploadView[]; total: number };
    expect(list.items.length).toBe(5);
    expect(list.total).toBeGreaterThan(5);
    const bad = await t.fetch(`${t.api}/uploads?limit=0`);
    expect(bad.status).toBe(400);
    expect((await t.fetch(`${t.api}/uploads/nope`)).status).toBe(400);
  });
});

describe(`tus upload expiry by the server's clock (${blobsUnderTest} blobs)`, () => {
  const clock = new ManualClock();
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ WEIR_UPLOAD_EXPIRY: '1h' }, { clock });
  });
  afterAll(async () => t?.close());

  it('an upload not written to for its expiry is gone (410), one written to meanwhile is not', async () => {
    const idle = idOf((await create(t, { 'upload-length': '100' })).headers.get('location'));
    const written = idOf((await create(t, { 'upload-length': '100' })).headers.get('location'));
    clock.advance(40 * 60_000);
    expect((await patch(t, written, 0, Buffer.from('a,b\n'))).status).toBe(204);
    expect((await t.fetch(`${t.api}/uploads/${idle}`, { method: 'HEAD', headers: TUS })).status).toBe(200);
    clock.advance(21 * 60_000);
    expect((await t.fetch(`${t.api}/uploads/${idle}`, { method: 'HEAD', headers: TUS })).status).toBe(410);
    const res = await patch(t, idle, 0, Buffer.from('abc'));
    expect(res.status).toBe(410);
    expect((await problemOf(res)).code).toBe('upload_gone');
    expect(((await (await t.fetch(`${t.api}/uploads/${idle}`)).json()) as UploadView).status).toBe('expired');
    // Its expiry moved on with the write: 21 minutes of its hour are gone.
    const head = await t.fetch(`${t.api}/uploads/${written}`, { method: 'HEAD', headers: TUS });
    expect(head.status).toBe(200);
    expect(head.headers.get('upload-offset')).toBe('4');
  });
});

describe(`tus upload limits (${blobsUnderTest} blobs)`, () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ WEIR_WORKSPACE_QUOTA: '200KB', WEIR_UPLOAD_EXPIRY: '1s', WEIR_RATE_LIMIT_USER: '30/min' });
  });
  afterAll(async () => t?.close());

  it('refuses an upload over the workspace quota with 413 at creation', async () => {
    const ok = await create(t, { 'upload-length': '150000' });
    expect(ok.status).toBe(201);
    const over = await create(t, { 'upload-length': '60000' });
    expect(over.status).toBe(413);
    const problem = await problemOf(over);
    expect(problem.code).toBe('quota_exceeded');
    expect(problem.detail).toContain('200000');
  });

  it('expires an upload that is not written to: 410 on HEAD and PATCH', async () => {
    const created = await create(t, { 'upload-length': '100' });
    const id = idOf(created.headers.get('location'));
    expect(created.headers.get('upload-expires')).toMatch(/GMT$/);
    await new Promise((r) => setTimeout(r, 1200));
    expect((await t.fetch(`${t.api}/uploads/${id}`, { method: 'HEAD', headers: TUS })).status).toBe(410);
    const res = await patch(t, id, 0, Buffer.from('abc'));
    expect(res.status).toBe(410);
    expect((await problemOf(res)).code).toBe('upload_gone');
    expect(((await (await t.fetch(`${t.api}/uploads/${id}`)).json()) as UploadView).status).toBe('expired');
  });

  it('sweeps the bytes of an expired upload and records it as expired', async () => {
    const created = await create(t, { 'upload-length': '100' });
    const id = idOf(created.headers.get('location'));
    expect((await patch(t, id, 0, Buffer.from('a,b\n1,2\n'))).status).toBe(204);
    expect(await stagedObjects(t, id)).not.toEqual([]);
    await new Promise((r) => setTimeout(r, 1200));
    const sweep = await t.fetch(`${t.api}/system/storage/sweep?wait=true`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(sweep.status).toBe(200);
    const job = (await sweep.json()) as { result: { expiredUploads: { uploads: number; objects: number } } };
    expect(job.result.expiredUploads.uploads).toBeGreaterThanOrEqual(1);
    expect(await stagedObjects(t, id)).toEqual([]);
    const row = await t.context.store.db.selectFrom('uploads').select('status').where('id', '=', id).executeTakeFirst();
    expect(row?.status).toBe('expired');
    expect((await t.fetch(`${t.api}/uploads/${id}`, { method: 'HEAD', headers: TUS })).status).toBe(410);
  });

  it('does not count tus PATCH against the per-user request budget; HEAD and other routes are counted', async () => {
    const created = await create(t, { 'upload-length': '40' });
    const id = idOf(created.headers.get('location'));
    for (let i = 0; i < 40; i++) {
      const res = await patch(t, id, i, Buffer.from('x'));
      expect(res.status).toBe(204);
      expect(res.headers.get('ratelimit-limit')).toBeNull();
    }
    // A client sends HEAD once per resume, not per chunk: it draws on the budget like any read, and runs out.
    const first = await t.fetch(`${t.api}/uploads/${id}`, { method: 'HEAD', headers: TUS });
    expect(first.headers.get('ratelimit-limit')).toBe('30');
    let limited = false;
    for (let i = 0; i < 31 && !limited; i++)
      limited = (await t.fetch(`${t.api}/uploads/${id}`, { method: 'HEAD', headers: TUS })).status === 429;
    expect(limited).toBe(true);
    expect((await t.fetch(`${t.api}/uploads?limit=1`)).status).toBe(429);
  });
});

/** A PATCH of the whole upload whose body the test sends piece by piece, as a slow client would. */
function slowPatch(t: TestApp, id: string, total: number, headers: Record<string, string> = t.auth) {
  const req = http.request(`${t.api}/uploads/${id}`, {
    method: 'PATCH',
    headers: {
      ...TUS,
      ...headers,
      'content-type': 'application/offset+octet-stream',
      'upload-offset': '0',
      'content-length': String(total),
    },
  });
  const answer = new Promise<{ status: number; offset: string | undefined }>((resolve, reject) => {
    req.on('response', (res) => {
      res.resume();
      res.on('end', () =>
        resolve({ status: res.statusCode!, offset: res.headers['upload-offset'] as string | undefined }),
      );
    });
    req.on('error', reject);
  });
  return {
    answer,
    send: (bytes: Buffer) => new Promise<void>((resolve) => req.write(bytes, () => resolve())),
    end: (bytes: Buffer) => new Promise<void>((resolve) => req.end(bytes, () => resolve())),
  };
}

describe(`who may touch an upload (${blobsUnderTest} blobs)`, () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => t?.close());

  const versionsOf = async (datasetId: string) =>
    (
      (await (await t.fetch(`${t.api}/datasets/${datasetId}/versions`)).json()) as { items: { id: string }[] }
    ).items.map((v) => v.id);
  const lockHeld = async (id: string) =>
    (await t.context.store.db.selectFrom('uploads').select('lock_owner').where('id', '=', id).executeTakeFirstOrThrow())
      .lock_owner !== null;

  it("a slow PATCH completes while another workspace's HEAD gets 404 and other members can neither stop, write nor delete it", async () => {
    const outsider = await actor(t, 'owner', await workspace(t, `Elsewhere ${Date.now()}`));
    const viewer = await actor(t, 'viewer');
    const uploader = await actor(t, 'uploader');
    const data = csvOf(50_000);
    const created = await create(t, {
      'upload-length': String(data.length),
      'upload-metadata': metadataHeader({ filename: 'slow.csv' }),
    });
    const id = idOf(created.headers.get('location'));

    const slow = slowPatch(t, id, data.length);
    const pieces = 8;
    const piece = Math.ceil(data.length / pieces);
    await slow.send(data.subarray(0, piece));
    // The PATCH holds the upload and waits for the rest of its body.
    await eventually(
      () => lockHeld(id),
      (held) => held,
    );

    const foreign = await fetch(`${t.api}/uploads/${id}`, { method: 'HEAD', headers: { ...TUS, ...outsider.headers } });
    expect(foreign.status).toBe(404);
    const named = await fetch(`${t.api}/uploads/${id}`, {
      method: 'HEAD',
      headers: { ...TUS, ...outsider.headers, 'x-weir-workspace': 'ws_default' },
    });
    expect(named.status).toBe(404);
    // A member who may read sees the offset committed so far, and stops nothing.
    const read = await fetch(`${t.api}/uploads/${id}`, { method: 'HEAD', headers: { ...TUS, ...viewer.headers } });
    expect(read.status).toBe(200);
    expect(read.headers.get('upload-offset')).toBe('0');
    const write = await fetch(`${t.api}/uploads/${id}`, {
      method: 'PATCH',
      headers: { ...TUS, ...uploader.headers, 'content-type': 'application/offset+octet-stream', 'upload-offset': '0' },
      body: new Uint8Array(data.subarray(0, 10)),
    });
    expect(write.status).toBe(403);
    expect((await problemOf(write)).code).toBe('forbidden');
    const del = await fetch(`${t.api}/uploads/${id}`, { method: 'DELETE', headers: { ...TUS, ...uploader.headers } });
    expect(del.status).toBe(403);
    expect(await problemOf(del)).toMatchObject({ code: 'forbidden', permission: 'datasets:delete' });

    for (let i = 1; i < pieces - 1; i++) await slow.send(data.subarray(i * piece, (i + 1) * piece));
    await slow.end(data.subarray((pieces - 1) * piece));
    expect(await slow.answer).toEqual({ status: 204, offset: String(data.length) });
    expect((await settled(t, id)).status).toBe('done');
  });

  it('another session of the same user reads the offset but does not take the write over', async () => {
    const data = csvOf(20_000);
    const created = await create(t, {
      'upload-length': String(data.length),
      'upload-metadata': metadataHeader({ filename: 'sessions.csv' }),
    });
    const id = idOf(created.headers.get('location'));
    const slow = slowPatch(t, id, data.length);
    await slow.send(data.subarray(0, 1000));
    await eventually(
      () => lockHeld(id),
      (held) => held,
    );
    const otherSession = bearer(await login(t.api, ADMIN.email, ADMIN.password));
    expect(
      (await fetch(`${t.api}/uploads/${id}`, { method: 'HEAD', headers: { ...TUS, ...otherSession } })).status,
    ).toBe(200);
    const competing = await patch(t, id, 0, data.subarray(0, 10), otherSession);
    expect(competing.status).toBe(423);
    await slow.end(data.subarray(1000));
    expect(await slow.answer).toEqual({ status: 204, offset: String(data.length) });
  });

  it("deleting another member's upload, or using their partial upload, needs datasets:delete", async () => {
    const uploader = await actor(t, 'uploader');
    const maintainer = await actor(t, 'maintainer');
    const created = await create(t, { 'upload-length': '100', 'upload-concat': 'partial' });
    const id = idOf(created.headers.get('location'));
    expect((await patch(t, id, 0, Buffer.alloc(100, 0x61))).status).toBe(204);
    const concat = await fetch(`${t.api}/uploads`, {
      method: 'POST',
      headers: { ...TUS, ...uploader.headers, 'upload-concat': `final;/api/v1/uploads/${id}` },
    });
    expect(concat.status).toBe(403);
    expect(await problemOf(concat)).toMatchObject({ code: 'forbidden', permission: 'datasets:delete' });
    expect(
      (await fetch(`${t.api}/uploads/${id}`, { method: 'DELETE', headers: { ...TUS, ...uploader.headers } })).status,
    ).toBe(403);
    expect(((await (await t.fetch(`${t.api}/uploads/${id}`)).json()) as UploadView).status).toBe('complete');
    expect(
      (await fetch(`${t.api}/uploads/${id}`, { method: 'DELETE', headers: { ...TUS, ...maintainer.headers } })).status,
    ).toBe(204);
    expect((await t.fetch(`${t.api}/uploads/${id}`)).status).toBe(404);
  });

  it('adding to a dataset that keeps only its newest versions needs datasets:delete, at creation and again when the ingest runs', async () => {
    const uploader = await actor(t, 'uploader');
    const first = tusUpload(`${t.api}/uploads`, csvOf(12), { headers: t.auth, metadata: { filename: 'kept.csv' } });
    await first.done;
    const { datasetId, versionId } = await settled(t, idOf(first.url));
    const setKeep = (keepVersions: number | null) =>
      t.fetch(`${t.api}/datasets/${datasetId}`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ keepVersions }),
      });
    const data = csvOf(13);

    expect((await setKeep(1)).status).toBe(200);
    const refused = await fetch(`${t.api}/uploads`, {
      method: 'POST',
      headers: {
        ...TUS,
        ...uploader.headers,
        'upload-length': String(data.length),
        'upload-metadata': metadataHeader({ filename: 'more.csv', datasetId: datasetId! }),
      },
    });
    expect(refused.status).toBe(403);
    expect(await problemOf(refused)).toMatchObject({
      code: 'forbidden',
      permission: 'datasets:delete',
      errors: [{ pointer: '/headers/upload-metadata/datasetId' }],
    });

    // Allowed when created; the dataset starts keeping only its newest version before the last byte arrives.
    expect((await setKeep(null)).status).toBe(200);
    const created = await fetch(`${t.api}/uploads`, {
      method: 'POST',
      headers: {
        ...TUS,
        ...uploader.headers,
        'upload-length': String(data.length),
        'upload-metadata': metadataHeader({ filename: 'more.csv', datasetId: datasetId! }),
      },
    });
    expect(created.status).toBe(201);
    const id = idOf(created.headers.get('location'));
    expect((await setKeep(1)).status).toBe(200);
    expect((await patch(t, id, 0, data, uploader.headers)).status).toBe(204);
    const view = await settled(t, id);
    expect(view).toMatchObject({ status: 'failed', versionId: null, error: { code: 'forbidden' } });
    expect(view.error!.message).toMatch(
      /keeps only its 1 newest versions.*'datasets:delete', which the user who queued this job no longer holds/,
    );
    expect(await versionsOf(datasetId!)).toEqual([versionId]);
    expect(await stagedObjects(t, id)).toEqual([]);
  });

  it('refuses a NUL or a path in the name or file name, over tus and the upload form alike, naming the field', async () => {
    const tus = async (pairs: Record<string, string>) =>
      problemOf(await create(t, { 'upload-length': '10', 'upload-metadata': metadataHeader(pairs) }));
    expect(await tus({ filename: '../../etc/passwd' })).toMatchObject({
      status: 400,
      errors: [
        { pointer: '/headers/upload-metadata/filename', message: 'must be a file name, not a path (no / or \\)' },
      ],
    });
    expect(await tus({ filename: 'data\u0000.csv' })).toMatchObject({
      status: 400,
      errors: [{ pointer: '/headers/upload-metadata/filename' }],
    });
    expect(await tus({ filename: 'ok.csv', name: 'bad\u0000name' })).toMatchObject({
      status: 400,
      errors: [
        { pointer: '/headers/upload-metadata/name', message: 'must be non-empty text without control characters' },
      ],
    });

    const form = async (disposition: string, fields = '') => {
      const boundary = 'weirnames';
      const body = `${fields}--${boundary}\r\ncontent-disposition: form-data; name="file"; ${disposition}\r\ncontent-type: text/csv\r\n\r\nid,v\n1,2\n\r\n--${boundary}--\r\n`;
      return problemOf(
        await t.fetch(`${t.api}/datasets?wait=true`, {
          method: 'POST',
          headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
          body,
        }),
      );
    };
    expect(await form('filename="../../etc/passwd"')).toMatchObject({
      status: 400,
      errors: [{ pointer: '/file', message: 'must be a file name, not a path (no / or \\)' }],
    });
    expect(await form('filename="data\u0000.csv"')).toMatchObject({ status: 400, errors: [{ pointer: '/file' }] });
    const nameField = `--weirnames\r\ncontent-disposition: form-data; name="name"\r\n\r\nbad\u0000name\r\n`;
    expect(await form('filename="ok.csv"', nameField)).toMatchObject({
      status: 400,
      errors: [{ pointer: '/name', message: 'must be non-empty text without control characters' }],
    });
  });
});
