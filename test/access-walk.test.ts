import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatasetUse } from '../src/http/access.js';
import { ALL_PERMISSIONS, permissionsOf, type Permission } from '../src/identity/permissions.js';
import { newId } from '../src/ids.js';
import type { Job } from '../src/jobs/types.js';
import { PipelineRepo } from '../src/pipelines/repo.js';
import { login, startTestApp, ADMIN, type TestApp } from './helpers/app.js';
import { actor, apiKey, bearer, eventually, workspace, type Actor } from './helpers/identity.js';
import { metadataHeader, TUS } from './helpers/tus.js';
import { problemOf, upload, uploadDataset } from './helpers/upload.js';

/**
 * Walks every registered route, so routes added later are covered without touching this file: an unauthenticated
 * call gets 401, a caller without the route's permission 403 (or 404), an outsider 404 on workspace routes, and
 * every mutating request leaves an audit row. Only the explicit public list below is exempt.
 */
const PUBLIC = new Set([
  'GET /health/live',
  'GET /health/ready',
  'GET /metrics',
  'GET /openapi.json',
  'POST /api/v1/auth/login',
  'POST /api/v1/auth/refresh',
  // Device pushes: authenticated by the connector's own push key, checked by the service (test/connectors-live.test.ts).
  'POST /api/v1/connectors/:id/records',
  'POST /api/v1/connectors/:id/update',
]);

let t: TestApp;
let viewer: Actor;
let owner: Actor;
let outsider: Actor;
const keyWithout = new Map<Permission, string>();

beforeAll(async () => {
  t = await startTestApp();
  viewer = await actor(t, 'viewer');
  owner = await actor(t, 'owner');
  outsider = await actor(t, 'owner', await workspace(t, 'Outside'));
  const machine = permissionsOf('machine');
  for (const p of machine)
    keyWithout.set(
      p,
      (
        await apiKey(
          t,
          [...machine].filter((q) => q !== p),
        )
      ).token,
    );
});
afterAll(async () => {
  await t?.close();
});

/** A concrete URL for a route template: ids that look real but exist nowhere. */
function concrete(url: string): string {
  return url
    .replace(':workspaceId', 'ws_default')
    .replace(':userId', 'usr_01J00000000000000000000000')
    .replace(/:(\w+)/g, (_m, name: string) => (name === 'id' ? 'x_01J00000000000000000000000' : `p_${name}`));
}

function call(method: string, url: string, headers: Record<string, string> = {}) {
  const withBody = method === 'POST' || method === 'PUT' || method === 'PATCH';
  return fetch(`${t.url}${concrete(url)}`, {
    method,
    headers: { ...headers, ...(withBody ? { 'content-type': 'application/json' } : {}) },
    body: withBody ? '{}' : undefined,
  });
}

describe('every route is protected', () => {
  it('declares public access only for the known public list', () => {
    const declared = t.app.routeCatalog.filter((r) => r.access === 'public').map((r) => `${r.method} ${r.url}`);
    expect(declared.filter((r) => !PUBLIC.has(r))).toEqual([]);
    expect(t.app.routeCatalog.length).toBeGreaterThan(20);
    // The matrix names only known permissions.
    for (const r of t.app.routeCatalog)
      if (r.access !== 'public' && r.access !== 'authenticated') expect(ALL_PERMISSIONS).toContain(r.access);
  });

  it('answers 401 to unauthenticated and badly authenticated calls on every non-public route', async () => {
    for (const r of t.app.routeCatalog) {
      if (r.access === 'public') continue;
      for (const headers of [{}, bearer('garbage'), bearer('weir_key_01J00000000000000000000000_' + 'A'.repeat(43))]) {
        const res = await call(r.method, r.url, headers);
        expect(res.status, `${r.method} ${r.url} ${JSON.stringify(headers)}`).toBe(401);
        expect(res.headers.get('content-type')).toContain('application/problem+json');
      }
    }
  });

  it('answers 403 or 404 to a caller without the permission, on every route', async () => {
    for (const r of t.app.routeCatalog) {
      if (r.access === 'public' || r.access === 'authenticated') continue;
      const label = `${r.method} ${r.url} (${r.access})`;
      if (r.access === 'system:admin') {
        // A workspace owner is not an instance admin.
        expect((await call(r.method, r.url, owner.headers)).status, label).toBe(403);
        continue;
      }
      const token = keyWithout.get(r.access);
      const credential = token ? bearer(token) : viewer.headers;
      if (!token) expect(permissionsOf('viewer').has(r.access), `${label}: the viewer must lack it`).toBe(false);
      const res = await call(r.method, r.url, credential);
      expect([403, 404], label).toContain(res.status);
      if (res.status === 403) expect(((await res.json()) as { permission?: string }).permission, label).toBe(r.access);
    }
  });

  it('answers 404 to a member of another workspace on every workspace-scoped route', async () => {
    for (const r of t.app.routeCatalog) {
      if (r.access === 'public' || r.access === 'authenticated' || r.access === 'system:admin') continue;
      // The outsider owns its own workspace: naming the default one must look like nothing is there.
      const res = await call(r.method, r.url, { ...outsider.headers, 'x-weir-workspace': 'ws_default' });
      expect(res.status, `${r.method} ${r.url}`).toBe(404);
    }
  });
});

describe('every mutating route is audited', () => {
  it('writes one audit row per mutating request, whatever its outcome', async () => {
    const all = t.app.routeCatalog.filter((r) => ['POST', 'PUT', 'PATCH', 'DELETE'].includes(r.method));
    // The exceptions: a tus PATCH is one chunk of an upload, whose creation and termination are audited; predict and
    // forecast are POSTs that change nothing (models:read), served at request rates where a row each would dominate.
    expect(
      all
        .filter((r) => !r.audited)
        .map((r) => `${r.method} ${r.url}`)
        .sort(),
    ).toEqual(['PATCH /api/v1/uploads/:id', 'POST /api/v1/models/:id/forecast', 'POST /api/v1/models/:id/predict']);
    const mutating = all.filter((r) => r.audited);
    expect(mutating.length).toBeGreaterThan(8);
    const ids: string[] = [];
    for (const [i, r] of mutating.entries()) {
      const requestId = `walk-${i}-${Date.now()}`;
      // Logging out would end the session the other calls use: that one gets its own login.
      const headers =
        r.url === '/api/v1/auth/logout' ? bearer(await login(t.api, ADMIN.email, ADMIN.password)) : t.auth;
      await call(r.method, r.url, { ...headers, 'x-request-id': requestId });
      ids.push(requestId);
    }
    const found = await eventually(
      async () =>
        (
          (await (await t.fetch(`${t.api}/audit?scope=instance&limit=500`)).json()) as {
            items: { requestId: string; action: string; outcome: string; ip: string }[];
          }
        ).items,
      (items) => ids.every((id) => items.some((a) => a.requestId === id)),
    );
    for (const [i, id] of ids.entries()) {
      const rows = found.filter((a) => a.requestId === id);
      expect(rows, `${mutating[i]!.method} ${mutating[i]!.url}`).toHaveLength(1);
      expect(rows[0]!.ip).toBe('127.0.0.1');
    }
  });
});

/**
 * What a route WRITES, not only which route is called. Routes declare what they do to each dataset their request
 * names (`config.datasets`, src/http/access.ts; app.ts refuses a mutating route whose schema names a dataset it does
 * not declare). Every declared write has a case here, run by a caller who holds the route's own permission but not
 * the one the write needs: 403, and the dataset, its versions and the job queue unchanged. A declared write without
 * a case (or a case without a route) fails the first test, so a new writing route cannot go unexercised.
 */
type WriteCall = (datasetId: string, headers: Record<string, string>) => Promise<Response>;

const json = { 'content-type': 'application/json' };
const postJson = (url: string, body: unknown, headers: Record<string, string>) =>
  fetch(`${t.api}${url}`, { method: 'POST', headers: { ...json, ...headers }, body: JSON.stringify(body) });
let sourceId: string;
let rows = 0;
/** A dataset with one version of its own (distinct bytes: no upload is a duplicate of another). */
const freshDataset = async (keepVersions: number | null) => {
  const made = await uploadDataset(t, `id,n\n${++rows},${Date.now()}\n`, { filename: `walk-${rows}.csv` });
  if (keepVersions !== null)
    expect(
      (
        await t.fetch(`${t.api}/datasets/${made.id}`, {
          method: 'PATCH',
          headers: json,
          body: JSON.stringify({ keepVersions }),
        })
      ).status,
    ).toBe(200);
  return made.id;
};

const WRITES: Record<string, WriteCall> = {
  'POST /api/v1/datasets/:id/versions /params/id': (id, headers) =>
    upload({ api: t.api, auth: headers }, `id,n\n${++rows},more\n`, { path: `/datasets/${id}/versions` }),
  'PATCH /api/v1/datasets/:id /params/id': (id, headers) =>
    fetch(`${t.api}/datasets/${id}`, {
      method: 'PATCH',
      headers: { ...json, ...headers },
      body: JSON.stringify({ keepVersions: 1 }),
    }),
  'DELETE /api/v1/datasets/:id /params/id': (id, headers) =>
    fetch(`${t.api}/datasets/${id}`, { method: 'DELETE', headers }),
  'POST /api/v1/pipelines/run /body/definition/output/datasetId': (id, headers) =>
    postJson(
      '/pipelines/run?wait=true',
      { definition: { input: { datasetId: sourceId }, steps: [], output: { datasetId: id } } },
      headers,
    ),
  'POST /api/v1/pipelines/:id/run /pipeline/output/datasetId': async (id, headers) => {
    const saved = await postJson(
      '/pipelines',
      { name: `walk ${++rows}`, definition: { input: { datasetId: sourceId }, steps: [], output: { datasetId: id } } },
      t.auth,
    );
    expect(saved.status).toBe(201);
    return postJson(`/pipelines/${((await saved.json()) as { id: string }).id}/run?wait=true`, {}, headers);
  },
  'POST /api/v1/uploads /headers/upload-metadata/datasetId': (id, headers) =>
    fetch(`${t.api}/uploads`, {
      method: 'POST',
      headers: {
        ...TUS,
        ...headers,
        'upload-length': '12',
        'upload-metadata': metadataHeader({ filename: 'walk.csv', datasetId: id }),
      },
    }),
};

/** The refusals a declared use must produce: which permission the caller lacks, and whether the dataset keeps only its newest N. */
function refusalsOf(use: DatasetUse, access: string): { lacks: Permission; keepVersions: number | null }[] {
  switch (use) {
    case 'appends':
      return [
        ...(access === 'datasets:write' ? [] : [{ lacks: 'datasets:write' as const, keepVersions: null }]),
        { lacks: 'datasets:delete', keepVersions: 1 },
      ];
    case 'edits':
      return [{ lacks: 'datasets:delete', keepVersions: null }];
    case 'deletes':
      return [{ lacks: 'datasets:delete', keepVersions: null }];
    case 'reads':
      return [];
  }
}

const snapshot = async (datasetId: string) => ({
  dataset: (await (await t.fetch(`${t.api}/datasets/${datasetId}`)).json()) as unknown,
  versions: (
    (await (await t.fetch(`${t.api}/datasets/${datasetId}/versions`)).json()) as { items: { id: string }[] }
  ).items.map((v) => v.id),
  jobs: ((await (await t.fetch(`${t.api}/jobs?limit=1`)).json()) as { total: number }).total,
  uploads: ((await (await t.fetch(`${t.api}/uploads?limit=1`)).json()) as { total: number }).total,
});

describe('what routes write', () => {
  beforeAll(async () => {
    sourceId = await freshDataset(null);
  });

  const declaredWrites = () =>
    t.app.routeCatalog.flatMap((r) =>
      Object.entries(r.datasets)
        .filter(([, use]) => use !== 'reads')
        .map(([pointer, use]) => ({ route: r, pointer, use, key: `${r.method} ${r.url} ${pointer}` })),
    );

  it('has a case for every declared write, and declares writes only on routes that can mutate', () => {
    expect(
      declaredWrites()
        .map((w) => w.key)
        .sort(),
    ).toEqual(Object.keys(WRITES).sort());
    for (const w of declaredWrites()) expect(['POST', 'PUT', 'PATCH', 'DELETE'], w.key).toContain(w.route.method);
  });

  it('refuses each write to a caller who may call the route but not write there, and nothing changes', async () => {
    let exercised = 0;
    for (const { route, use, key } of declaredWrites()) {
      for (const { lacks, keepVersions } of refusalsOf(use, route.access)) {
        const label = `${key} without ${lacks}${keepVersions === null ? '' : ` (keepVersions ${keepVersions})`}`;
        const token = keyWithout.get(lacks)!;
        const target = await freshDataset(keepVersions);
        const before = await snapshot(target);
        const res = await WRITES[key]!(target, bearer(token));
        expect(res.status, `${label}: ${await res.clone().text()}`).toBe(403);
        expect(((await problemOf(res)) as { permission?: string }).permission, label).toBe(lacks);
        expect(await snapshot(target), label).toEqual(before);
        exercised++;
      }
    }
    expect(exercised).toBeGreaterThanOrEqual(Object.keys(WRITES).length);
  });
});

/**
 * What jobs write: each job kind that stores or prunes versions checks its creator's permissions again when it
 * runs. Every registered kind is listed here, as writing (with a case: queued for a creator who holds nothing the
 * work needs, it fails `forbidden` and writes nothing) or not, so a new kind must be placed.
 */
// model.train writes a model version, never a dataset version; it too checks its creator still holds models:train.
const JOBS_WITHOUT_VERSION_WRITES = ['jobs.sweep', 'model.train'];
/** Queues the job for `createdBy`, its work aimed at dataset `target`; `untouched` checks what else it must have left alone. */
type JobCase = (
  createdBy: string,
  target: string,
) => Promise<{ workspaceId: string; jobId: string; untouched?: () => Promise<void> }>;
const JOB_WRITES: Record<string, JobCase> = {
  // Scoring stores a new dataset: a creator without datasets:write is refused before anything is read.
  'model.score': async (createdBy, target) => {
    const payload = {
      v: 1,
      modelId: newId('mdl'),
      modelVersionId: newId('mv'),
      datasetId: target,
      datasetVersionId: newId('dv'),
      outputDatasetId: newId('ds'),
      outputVersionId: newId('dv'),
      outputName: 'scored',
      column: 'prediction',
    };
    return {
      workspaceId: 'ws_default',
      jobId: (await t.context.jobs.enqueue('model.score', payload, { workspaceId: 'ws_default', createdBy })).id,
    };
  },
  ingest: async (createdBy, target) => {
    const bytes = Buffer.from(`id,n\n${++rows},queued\n`);
    const file = path.join(t.dataDir, `walk-${rows}.csv`);
    await writeFile(file, bytes);
    const uploadKey = `uploads/ws_default/${newId('up')}`;
    await t.context.blobs.putFile(uploadKey, file);
    const payload = {
      v: 1,
      uploadKey,
      filename: 'queued.csv',
      bytes: bytes.length,
      sha256: createHash('sha256').update(bytes).digest('hex'),
      firstNul: -1,
      datasetId: target,
      versionId: newId('dv'),
    };
    return {
      workspaceId: 'ws_default',
      jobId: (await t.context.jobs.enqueue('ingest', payload, { workspaceId: 'ws_default', createdBy })).id,
    };
  },
  'upload.ingest': async (createdBy, target) => {
    const created = await fetch(`${t.api}/uploads`, {
      method: 'POST',
      headers: {
        ...TUS,
        ...t.auth,
        'upload-length': '12',
        'upload-metadata': metadataHeader({ filename: 'queued.csv', datasetId: target }),
      },
    });
    expect(created.status).toBe(201);
    const uploadId = created.headers.get('location')!.split('/').pop()!;
    const payload = { v: 1, uploadId, versionId: newId('dv'), datasetId: target };
    const untouched = async () =>
      expect(await (await t.fetch(`${t.api}/uploads/${uploadId}`)).json()).toMatchObject({
        status: 'failed',
        versionId: null,
        error: { code: 'forbidden' },
      });
    return {
      workspaceId: 'ws_default',
      jobId: (await t.context.jobs.enqueue('upload.ingest', payload, { workspaceId: 'ws_default', createdBy })).id,
      untouched,
    };
  },
  'pipeline.run': async (createdBy, target) => {
    const runId = newId('run');
    await new PipelineRepo(t.context.store.db).insertRun({
      id: runId,
      pipelineId: null,
      pipelineVersion: null,
      pipelineName: 'Queued',
      workspaceId: 'ws_default',
      definition: { input: { datasetId: sourceId }, steps: [], output: { datasetId: target } },
      inputDatasetId: sourceId,
      inputVersionId: null,
      outputDatasetId: target,
      params: {},
      createdBy,
    });
    const payload = { v: 1, runId, outputDatasetId: target, outputVersionId: newId('dv') };
    return {
      workspaceId: 'ws_default',
      jobId: (await t.context.jobs.enqueue('pipeline.run', payload, { workspaceId: 'ws_default', createdBy })).id,
    };
  },
  // A backfill appends to its connector's live dataset: refused before the source is asked for anything.
  'connector.backfill': async (createdBy) => {
    const payload = { v: 1, connectorId: newId('con'), from: '2026-01-01T00:00:00Z', to: '2026-01-02T00:00:00Z' };
    return {
      workspaceId: 'ws_default',
      jobId: (await t.context.jobs.enqueue('connector.backfill', payload, { workspaceId: 'ws_default', createdBy })).id,
    };
  },
  'storage.sweep': async (createdBy) => {
    const { id } = await t.context.jobs.enqueue(
      'storage.sweep',
      { v: 1, dryRun: false },
      { workspaceId: 'ws_system', createdBy },
    );
    // It never started: no sweep record, nothing deleted.
    const untouched = async () =>
      expect(
        await t.context.store.db.selectFrom('storage_sweeps').select('id').where('job_id', '=', id).execute(),
      ).toEqual([]);
    return { workspaceId: 'ws_system', jobId: id, untouched };
  },
};

describe('what jobs write', () => {
  it('places every registered job kind', () => {
    const kinds = t.context.queue.registry
      .all()
      .map((k) => k.kind)
      .sort();
    expect(kinds).toEqual([...Object.keys(JOB_WRITES), ...JOBS_WITHOUT_VERSION_WRITES].sort());
  });

  it('fails each writing job forbidden, writing nothing, when its creator no longer holds what it needs', async () => {
    // A viewer of the workspace: holds none of datasets:write, pipelines:run, system:admin.
    const creator = await actor(t, 'viewer');
    for (const [kind, queue] of Object.entries(JOB_WRITES)) {
      const target = await freshDataset(null);
      const versions = async () =>
        (
          (await (await t.fetch(`${t.api}/datasets/${target}/versions`)).json()) as { items: { id: string }[] }
        ).items.map((v) => v.id);
      const before = await versions();
      const { workspaceId, jobId, untouched } = await queue(creator.userId, target);
      const job = await eventually(
        () => t.context.jobs.get(workspaceId, jobId) as Promise<Job>,
        (j) => j.status === 'failed' || j.status === 'succeeded',
        20_000,
      );
      expect(job, kind).toMatchObject({ status: 'failed', attempts: 1, error: { code: 'forbidden' } });
      expect(job.error?.message, kind).toMatch(
        /which the user who queued this job no longer holds in this workspace; nothing was written/,
      );
      expect(await versions(), kind).toEqual(before);
      await untouched?.();
    }
  });
});
