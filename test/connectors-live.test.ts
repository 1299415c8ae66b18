import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Connector } from '../src/connectors/model.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import { actor, eventually, workspace } from './helpers/identity.js';
import { problemOf, upload } from './helpers/upload.js';

/**
 * Live datasets through the HTTP API, fed by device pushes: records are durable when the push answers, visible to
 * previews and queries after the flush interval, deduplicated by their key, compacted into versions with the
 * connector's lineage, read by pipelines; bad input is counted and reported, never a failed push; the push key,
 * other workspaces and the live dataset's own rules are enforced.
 */
let t: TestApp;
const json = { 'content-type': 'application/json' };

beforeAll(async () => {
  t = await startTestApp({ WEIR_RATE_LIMIT_USER: 'off', WEIR_RATE_LIMIT_IP: 'off' }, { jobs: 'inline' });
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

const FIELDS = [
  { name: 'id', type: 'varchar' },
  { name: 'at', type: 'timestamp' },
  { name: 'temperature', type: 'double' },
  { name: 'ok', type: 'boolean' },
];

async function pushConnector(name: string, live: Record<string, number> = { flushMs: 200 }) {
  return ok<{ connector: Connector; pushKey: string }>(
    await call('POST', '/connectors', { name, type: 'push', config: { keyField: 'id' }, fields: FIELDS, live }),
    201,
  );
}

function push(id: string, key: string, body: string, type = 'application/json') {
  return fetch(`${t.api}/connectors/${id}/records`, {
    method: 'POST',
    headers: { 'content-type': type, authorization: `Bearer ${key}` },
    body,
  });
}

async function preview(datasetId: string) {
  return ok<{ rows: unknown[][]; total: number; columns: { name: string }[] }>(
    await call('GET', `/datasets/${datasetId}/preview?limit=1000`),
  );
}

describe('device push into a live dataset', () => {
  it('stores records durably, shows them after the flush, drops duplicates by key and reports bad input', async () => {
    const { connector, pushKey } = await pushConnector('greenhouse');
    expect(pushKey).toMatch(/^wpk_/);
    expect(connector.datasetName).toBe('greenhouse');
    expect(JSON.stringify(connector)).not.toContain(pushKey);
    // The live dataset exists at once, empty, with the declared columns.
    const empty = await preview(connector.datasetId);
    expect(empty.total).toBe(0);
    expect(empty.columns.map((c) => c.name)).toEqual(['id', 'at', 'temperature', 'ok']);

    const records = [
      { id: 'a', at: '2026-12-06T10:00:00Z', temperature: 21.5, ok: true },
      { id: 'b', at: '2026-12-06T10:01:00Z', temperature: '22.25', ok: 'false' },
      { id: 'c', at: '2026-12-06T10:02:00Z', temperature: 'warm', ok: true },
      { id: 'a', at: '2026-12-06T10:00:00Z', temperature: 99, ok: true },
      7,
    ];
    const answer = await ok<{ accepted: number; duplicates: number; rejected: number; errors: { reason: string }[] }>(
      await push(connector.id, pushKey, JSON.stringify(records)),
    );
    expect(answer).toMatchObject({ accepted: 3, duplicates: 1, rejected: 2 });
    expect(answer.errors.map((e) => e.reason).join('\n')).toMatch(/temperature/);
    expect(answer.errors.map((e) => e.reason).join('\n')).toMatch(/not a JSON object/);

    // NDJSON with a malformed line: the good lines are kept.
    const nd = await ok<{ accepted: number; rejected: number }>(
      await push(
        connector.id,
        pushKey,
        '{"id":"d","temperature":23}\n{not json\n{"id":"e","temperature":24}\n',
        'application/x-ndjson',
      ),
    );
    expect(nd).toMatchObject({ accepted: 2, rejected: 1 });

    const seen = await eventually(
      () => preview(connector.datasetId),
      (p) => p.total === 5,
      10_000,
    );
    expect(seen.total).toBe(5);
    const byId = new Map(seen.rows.map((r) => [r[0], r]));
    expect(byId.get('a')?.[2]).toBe(21.5);
    expect(byId.get('b')?.[2]).toBe(22.25);
    expect(byId.get('b')?.[3]).toBe(false);
    expect(byId.get('c')?.[2]).toBeNull();

    // Pushed again after the flush: still a duplicate (the keys outlive the append log).
    const again = await ok<{ accepted: number; duplicates: number }>(
      await push(connector.id, pushKey, JSON.stringify([{ id: 'b', temperature: 1 }])),
    );
    expect(again).toMatchObject({ accepted: 0, duplicates: 1 });

    // Analytics read the records flushed since the last compaction too.
    const q = await ok<{ rows: unknown[][] }>(
      await call('POST', `/datasets/${connector.datasetId}/query`, { aggregations: [{ function: 'count', as: 'n' }] }),
    );
    expect(Number(q.rows[0]?.[0])).toBe(5);

    // The sync history reports what arrived, the rejections with their reasons.
    const history = await ok<{ items: { trigger: string; records: number; rejected: number; errors: unknown[] }[] }>(
      await call('GET', `/connectors/${connector.id}/syncs`),
    );
    const pushed = history.items.filter((s) => s.trigger === 'push');
    expect(pushed.reduce((n, s) => n + s.records, 0)).toBe(5);
    expect(pushed.reduce((n, s) => n + s.rejected, 0)).toBe(3);

    // Found by a part of its name in any case, as datasets are.
    const found = await ok<{ items: { id: string }[] }>(await call('GET', '/connectors?search=GREENH'));
    expect(found.items.map((c) => c.id)).toEqual([connector.id]);

    const latest = await ok<{ values: Record<string, unknown> }>(
      await call('GET', `/connectors/${connector.id}/latest`),
    );
    expect(latest.values.temperature).toBe(24);
  });

  it('says when a connector goes stale and when records arrive again, once each, on the bus', async () => {
    const { connector, pushKey } = await pushConnector('quiet');
    const alerts: { connectorId: string; kind: string }[] = [];
    const stop = t.context.bus.subscribe('internal:connectors', (e) => {
      if (e.type === 'connector.alert') alerts.push(e.data as { connectorId: string; kind: string });
    });
    try {
      const ours = () => alerts.filter((a) => a.connectorId === connector.id).map((a) => a.kind);
      // Nothing for longer than its window (60 minutes): the staleness check marks it, once.
      const hourAgo = new Date(Date.now() - 61 * 60_000).toISOString();
      await t.context.store.db
        .updateTable('connectors')
        .set({ created_at: hourAgo })
        .where('id', '=', connector.id)
        .execute();
      const runtime = (t.context.connectors as unknown as { o: { runtime: { checkStaleness(): Promise<void> } } }).o
        .runtime;
      await runtime.checkStaleness();
      await runtime.checkStaleness();
      await eventually(
        async () => ours(),
        (k) => k.includes('stale'),
      );
      expect(ours()).toEqual(['stale']);
      expect((await ok<Connector>(await call('GET', `/connectors/${connector.id}`))).health.stale).toBe(true);
      // A record: fresh again at once.
      await ok(await push(connector.id, pushKey, JSON.stringify([{ id: 'late', temperature: 1 }])));
      await eventually(
        async () => ours(),
        (k) => k.includes('fresh'),
      );
      expect(ours()).toEqual(['stale', 'fresh']);
      expect((await ok<Connector>(await call('GET', `/connectors/${connector.id}`))).health.stale).toBe(false);
    } finally {
      stop();
    }
  });

  it('refuses a wrong or missing push key, and a push to a paused connector', async () => {
    const { connector, pushKey } = await pushConnector('refusals');
    const wrong = await push(connector.id, 'wpk_wrong', '[]');
    expect(wrong.status).toBe(401);
    await wrong.body?.cancel();
    const missing = await fetch(`${t.api}/connectors/${connector.id}/records`, {
      method: 'POST',
      headers: json,
      body: '[]',
    });
    expect(missing.status).toBe(401);
    await missing.body?.cancel();
    // The same answer for a connector that does not exist: ids cannot be probed with the push route.
    const unknown = await push('con_01HZZZZZZZZZZZZZZZZZZZZZZZ', pushKey, '[]');
    expect(unknown.status).toBe(401);
    await unknown.body?.cancel();

    await ok(await call('POST', `/connectors/${connector.id}/pause`));
    const paused = await push(connector.id, pushKey, JSON.stringify([{ id: 'x', temperature: 1 }]));
    expect(paused.status).toBe(409);
    await paused.body?.cancel();
    await ok(await call('POST', `/connectors/${connector.id}/resume`));

    // A rotated key replaces the old one.
    const { pushKey: next } = await ok<{ pushKey: string }>(await call('POST', `/connectors/${connector.id}/push-key`));
    const old = await push(connector.id, pushKey, '[]');
    expect(old.status).toBe(401);
    await old.body?.cancel();
    await ok(await push(connector.id, next, '[]'));
  });

  it('compacts segments into versions with the connector lineage, and pipelines read every record', async () => {
    const { connector, pushKey } = await pushConnector('compacting', { flushMs: 100, flushRows: 2, maxSegments: 3 });
    for (let i = 0; i < 8; i++)
      await ok(await push(connector.id, pushKey, JSON.stringify([{ id: `r${i}`, temperature: i }])));
    // Every record is visible, and the segment count stayed bounded by compactions into versions.
    const seen = await eventually(
      () => preview(connector.datasetId),
      (p) => p.total === 8,
      10_000,
    );
    expect(seen.total).toBe(8);
    const versions = await eventually(
      async () =>
        ok<{ items: { number: number; rowCount: number; sourceFilename: string }[] }>(
          await call('GET', `/datasets/${connector.datasetId}/versions`),
        ),
      (v) => v.items.length >= 2,
      10_000,
    );
    expect(versions.items.length).toBeGreaterThanOrEqual(2);
    expect(versions.items.every((v) => v.sourceFilename === 'connector:compacting')).toBe(true);

    // The compacted segments are retired in the database, their files kept through the grace period for queries that
    // listed them, then deleted by a sweep that needs nothing but those rows: a process dying in between leaks none.
    const retired = await t.context.store.db
      .selectFrom('live_segments')
      .select(['id', 'blob_key'])
      .where('dataset_id', '=', connector.datasetId)
      .where('retired_at', 'is not', null)
      .execute();
    expect(retired.length).toBeGreaterThan(0);
    const files = async () => Promise.all(retired.map((r) => t.context.blobs.stat(r.blob_key)));
    expect((await files()).every((f) => f !== null)).toBe(true);
    const writer = (t.context.connectors as unknown as { o: { writer: { deleteRetired(now: number): Promise<void> } } })
      .o.writer;
    await writer.deleteRetired(Date.now());
    expect((await files()).every((f) => f !== null)).toBe(true);
    await writer.deleteRetired(Date.now() + 61_000);
    expect((await files()).every((f) => f === null)).toBe(true);
    const left = await t.context.store.db
      .selectFrom('live_segments')
      .select('id')
      .where(
        'id',
        'in',
        retired.map((r) => r.id),
      )
      .execute();
    expect(left).toEqual([]);

    // A pipeline run reads an immutable version holding every record stored before it started.
    await ok(await push(connector.id, pushKey, JSON.stringify([{ id: 'last', temperature: 100 }])));
    const run = await ok<{ status: string; rowCount: number; input: { versionId: string } }>(
      await call('POST', '/pipelines/run', {
        definition: { input: { datasetId: connector.datasetId }, steps: [], output: { name: 'compacted copy' } },
        wait: true,
      }),
      201,
    );
    expect(run.status).toBe('succeeded');
    expect(run.rowCount).toBe(9);
  });

  it('trains a model on a live dataset: on a version holding every record stored before the request', async () => {
    const fields = [
      { name: 'x', type: 'double' },
      { name: 'y', type: 'double' },
    ];
    const created = await ok<{ connector: Connector; pushKey: string }>(
      await call('POST', '/connectors', { name: 'learning', type: 'push', config: {}, fields, live: { flushMs: 100 } }),
      201,
    );
    const rows = Array.from({ length: 100 }, (_, i) => ({ x: i, y: 3 * i + 1 }));
    await ok(await push(created.connector.id, created.pushKey, JSON.stringify(rows)));
    // Not yet compacted: the latest version is the empty first one, and the records are in segments.
    await eventually(
      () => preview(created.connector.datasetId),
      (p) => p.total === 100,
      10_000,
    );
    const accepted = await ok<{ model: { id: string }; job: { id: string } }>(
      await call('POST', '/models', {
        name: 'from live',
        datasetId: created.connector.datasetId,
        task: 'regression',
        target: 'y',
        algorithm: 'linear',
      }),
      202,
    );
    const job = await eventually(
      async () => ok<{ status: string; error: unknown }>(await call('GET', `/jobs/${accepted.job.id}`)),
      (j) => ['succeeded', 'failed'].includes(j.status),
      30_000,
    );
    expect(job.status, JSON.stringify(job.error)).toBe('succeeded');
    const version = await ok<{ datasetVersionId: string; report: { data: { rows: number } } }>(
      await call('GET', `/models/${accepted.model.id}/versions/1`),
    );
    expect(version.report.data.rows).toBe(100);
    const versions = await ok<{ items: { id: string; number: number; rowCount: number; sourceFilename: string }[] }>(
      await call('GET', `/datasets/${created.connector.datasetId}/versions`),
    );
    expect(versions.items.find((v) => v.id === version.datasetVersionId)).toMatchObject({
      number: 2,
      rowCount: 100,
      sourceFilename: 'connector:learning',
    });
  });

  it('keeps the live dataset to its connector: no uploads, no delete but through the connector', async () => {
    const { connector } = await pushConnector('guarded');
    const del = await call('DELETE', `/datasets/${connector.datasetId}`);
    expect(del.status).toBe(409);
    expect((await problemOf(del)).detail).toMatch(/connector 'guarded'/);
    const up = await upload(t, 'id,temperature\nz,1\n', { path: `/datasets/${connector.datasetId}/versions` });
    expect(up.status).toBe(409);
    await up.body?.cancel();
    const gone = await call('DELETE', `/connectors/${connector.id}`);
    expect(gone.status).toBe(204);
    await gone.body?.cancel();
    const ds = await call('GET', `/datasets/${connector.datasetId}`);
    expect(ds.status).toBe(404);
    await ds.body?.cancel();
  });

  it('keeps other workspaces and viewers out', async () => {
    const { connector } = await pushConnector('private');
    const other = await workspace(t, 'elsewhere');
    const stranger = await actor(t, 'owner', other);
    const res = await fetch(`${t.api}/connectors/${connector.id}`, { headers: stranger.headers });
    expect(res.status).toBe(404);
    await res.body?.cancel();
    const viewer = await actor(t, 'viewer');
    const seen = await fetch(`${t.api}/connectors/${connector.id}`, { headers: viewer.headers });
    expect(seen.status).toBe(200);
    await seen.body?.cancel();
    const create = await fetch(`${t.api}/connectors`, {
      method: 'POST',
      headers: { ...viewer.headers, ...json },
      body: JSON.stringify({ name: 'nope', type: 'push', config: {}, fields: FIELDS }),
    });
    expect(create.status).toBe(403);
    await create.body?.cancel();
  });

  it('answers bad definitions with pointers', async () => {
    /** An HTTP JSON connector of one column `x`, read from `url`. */
    const httpConnector = (name: string, url: string, recordsPath = '$') => ({
      name,
      type: 'http',
      config: { url, recordsPath, fields: [{ name: 'x', path: '$.x', type: 'double' }] },
      fields: [{ name: 'x', type: 'double' }],
    });
    const noFields = await call('POST', '/connectors', { name: 'nofields', type: 'push', config: {} });
    expect(noFields.status).toBe(400);
    expect((await problemOf(noFields)).errors?.[0]?.pointer).toBe('/body/fields');
    const badCron = await call('POST', '/connectors', {
      name: 'badcron',
      type: 'thingspeak',
      config: { channelId: 1, baseUrl: 'http://127.0.0.1:9' },
      fields: FIELDS,
      schedule: 'every minute please',
    });
    expect(badCron.status).toBe(400);
    expect((await problemOf(badCron)).errors?.[0]?.pointer).toBe('/body/schedule');
    const badTopic = await call('POST', '/connectors', {
      name: 'badtopic',
      type: 'mqtt',
      config: { url: 'mqtt://broker.example', topics: ['plant/#/temperature'] },
      fields: FIELDS,
    });
    expect(badTopic.status).toBe(400);
    expect((await problemOf(badTopic)).detail).toMatch(/#/);
    const badPath = await call('POST', '/connectors', httpConnector('badpath', 'https://api.example/x', '$.items['));
    expect(badPath.status).toBe(400);
    expect((await problemOf(badPath)).errors?.[0]?.pointer).toBe('/body/config');
    // Without WEIR_CONNECTORS_ALLOW_PRIVATE a source on loopback is refused (SSRF).
    const ssrf = await call('POST', '/connectors', httpConnector('ssrf', 'http://169.254.169.254/latest/meta-data'));
    expect(ssrf.status).toBe(400);
    expect((await problemOf(ssrf)).detail).toMatch(/private or loopback/);
    // A public address is taken (no schedule: nothing is sent to it). Every IPv4 address was refused before, public
    // ones too, by a rule meant for IPv4-mapped IPv6 addresses.
    const publicSource = await call('POST', '/connectors', httpConnector('public', 'http://203.0.113.10/feed'));
    expect(publicSource.status).toBe(201);
  });
});
