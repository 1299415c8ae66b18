import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Connector, Sync } from '../src/connectors/model.js';
import type { Job } from '../src/jobs/types.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import { eventually } from './helpers/identity.js';
import { FakeThingSpeak } from './helpers/fake-thingspeak.js';
import { problemOf } from './helpers/upload.js';

/**
 * ThingSpeak channels through the HTTP API against a fake ThingSpeak: the dry run, columns from the channel's labels,
 * syncs that resume from the cursor with no gap and no duplicate, a schedule, a backfill job, and the safety layer
 * as a user sees it: 429 with Retry-After honoured, a 5xx burst that opens the breaker and a recovery that closes
 * it, pausing after repeated failures, `-1` for a private channel, malformed JSON and a hanging server as failed
 * syncs in the history. The read API key never comes back.
 */
let t: TestApp;
let ts: FakeThingSpeak;
const json = { 'content-type': 'application/json' };
const API_KEY = 'SECRETREADKEY123';

beforeAll(async () => {
  ts = await FakeThingSpeak.start();
  ts.addChannel({ id: 1001, name: 'Greenhouse', fields: { 1: 'Temperature', 2: 'Humidity (%)' } });
  ts.addChannel({ id: 1002, name: 'Private', fields: { 1: 'Level' }, readApiKey: API_KEY });
  t = await startTestApp(
    { WEIR_RATE_LIMIT_USER: 'off', WEIR_RATE_LIMIT_IP: 'off', WEIR_CONNECTORS_ALLOW_PRIVATE: 'true' },
    { jobs: 'inline' },
  );
});
afterAll(async () => {
  await t?.close();
  await ts?.close();
});

function call(method: string, path: string, body?: unknown) {
  return t.fetch(`${t.api}${path}`, {
    method,
    headers: body === undefined ? {} : json,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

async function ok<T>(res: Response, status = 200): Promise<T> {
  expect(res.status, await res.clone().text()).toBe(status);
  return (await res.json()) as T;
}

const FAST = { retries: 0, timeoutMs: 2000, requestsPerMinute: 10_000, cacheTtlMs: 0 };

async function create(name: string, channelId: number, extra: Record<string, unknown> = {}) {
  const { safety, ...rest } = extra as { safety?: Record<string, unknown> };
  return (
    await ok<{ connector: Connector }>(
      await call('POST', '/connectors', {
        name,
        type: 'thingspeak',
        config: { channelId, baseUrl: ts.url },
        live: { flushMs: 100 },
        safety: { ...FAST, ...safety },
        ...rest,
      }),
      201,
    )
  ).connector;
}

const sync = async (id: string) => ok<Sync>(await call('POST', `/connectors/${id}/sync`));
const connector = async (id: string) => ok<Connector>(await call('GET', `/connectors/${id}`));

async function rows(datasetId: string, total: number) {
  const page = await eventually(
    async () =>
      ok<{ rows: unknown[][]; total: number; columns: { name: string }[] }>(
        await call('GET', `/datasets/${datasetId}/preview?limit=1000`),
      ),
    (p) => p.total === total,
    10_000,
  );
  expect(page.total).toBe(total);
  return page;
}

describe('ThingSpeak connector', () => {
  it('dry-runs a channel: columns from its labels and a sample, nothing stored', async () => {
    ts.addEntries(1001, [{ fields: { 1: '21.5', 2: '40' } }, { fields: { 1: '21.75', 2: '41' } }]);
    const before = await ok<{ total: number }>(await call('GET', '/datasets'));
    const result = await ok<{ fields: { name: string; type: string }[]; sample: Record<string, unknown>[] }>(
      await call('POST', '/connectors/test', { type: 'thingspeak', config: { channelId: 1001, baseUrl: ts.url } }),
    );
    const names = result.fields.map((f) => f.name);
    expect(names).toEqual(expect.arrayContaining(['entry_id', 'created_at', 'temperature', 'humidity']));
    expect(result.fields.find((f) => f.name === 'temperature')?.type).toBe('double');
    expect(result.sample.map((r) => r.temperature)).toEqual([21.5, 21.75]);
    expect((await ok<{ total: number }>(await call('GET', '/datasets'))).total).toBe(before.total);
    expect((await ok<{ total: number }>(await call('GET', '/connectors'))).total).toBe(0);
  });

  it('syncs from the cursor with no gap and no duplicate, on demand and on its schedule', async () => {
    const c = await create('greenhouse', 1001);
    expect(c.fields.map((f) => f.name)).toEqual(expect.arrayContaining(['entry_id', 'temperature']));
    const first = await sync(c.id);
    expect(first).toMatchObject({ trigger: 'manual', status: 'succeeded', records: 2 });
    expect(first.cursorTo).not.toBeNull();
    // Nothing new: nothing stored, the cursor stays.
    const again = await sync(c.id);
    expect(again).toMatchObject({ records: 0, duplicates: 0 });
    ts.addEntries(1001, [{ fields: { 1: '22', 2: '42' } }, { fields: { 1: 'n/a', 2: '43' } }]);
    const next = await sync(c.id);
    expect(next).toMatchObject({ records: 2 });
    expect(next.rejected).toBeGreaterThanOrEqual(1);
    expect(next.errors.map((e) => e.reason).join()).toMatch(/temperature|n\/a/i);
    const page = await rows(c.datasetId, 4);
    const ids = page.rows.map((r) => Number(r[page.columns.findIndex((col) => col.name === 'entry_id')]));
    expect(ids.sort()).toEqual([1, 2, 3, 4]);

    // A schedule with seconds fires it without asking.
    await ok(await call('PATCH', `/connectors/${c.id}`, { schedule: '* * * * * *' }));
    ts.addEntries(1001, [{ fields: { 1: '23', 2: '44' } }]);
    await rows(c.datasetId, 5);
    const history = await ok<{ items: Sync[] }>(await call('GET', `/connectors/${c.id}/syncs`));
    expect(history.items.some((s) => s.trigger === 'schedule' && s.records === 1)).toBe(true);
    await ok(await call('PATCH', `/connectors/${c.id}`, { schedule: null }));
    const latest = await ok<{ values: Record<string, unknown> }>(await call('GET', `/connectors/${c.id}/latest`));
    expect(latest.values.temperature).toBe(23);
  });

  it('honours 429 Retry-After: no request before the time it names', async () => {
    const c = await create('limited', 1001);
    ts.script({ kind: 'respond', status: 429, headers: { 'retry-after': '120' }, body: '{"status":429}' });
    const limited = await sync(c.id);
    expect(limited.status).toBe('failed');
    expect(limited.errors.at(-1)?.reason).toMatch(/rate|429|retry/i);
    const requests = ts.count();
    const blocked = await sync(c.id);
    expect(blocked.status).toBe('failed');
    // The second sync did not call the source at all.
    expect(ts.count()).toBe(requests);
  });

  it('opens the breaker on a 5xx burst, fails fast, and closes it once the source recovers', async () => {
    const c = await create('flaky', 1001, {
      safety: { breakerFailures: 2, breakerResetMs: 300, pauseAfterFailures: 100 },
    });
    ts.script({ kind: 'respond', status: 503, body: 'down' }, 2);
    expect((await sync(c.id)).status).toBe('failed');
    expect((await sync(c.id)).status).toBe('failed');
    expect((await connector(c.id)).health.breaker).toBe('open');
    const requests = ts.count();
    const fast = await sync(c.id);
    expect(fast.status).toBe('failed');
    expect(fast.errors.at(-1)?.reason).toMatch(/breaker|open/i);
    expect(ts.count()).toBe(requests);
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(metrics).toMatch(new RegExp(`weir_connector_breaker_state\\{connector="${c.id}"\\} 2`));
    // After the reset time one trial request goes through; it succeeds and the breaker closes.
    const recovered = await eventually(
      () => sync(c.id),
      (s) => s.status === 'succeeded',
      5000,
    );
    expect(recovered.status).toBe('succeeded');
    expect((await connector(c.id)).health.breaker).toBe('closed');
  });

  it('pauses itself after repeated failures and reports them', async () => {
    const c = await create('broken', 1001, { safety: { breakerFailures: 100, pauseAfterFailures: 3 } });
    ts.script({ kind: 'respond', status: 500, body: 'boom' }, 3);
    for (let i = 0; i < 3; i++) expect((await sync(c.id)).status).toBe('failed');
    const paused = await connector(c.id);
    expect(paused.state).toBe('paused');
    expect(paused.pausedReason).toMatch(/3 failed syncs/);
    const refused = await call('POST', `/connectors/${c.id}/sync`);
    expect(refused.status).toBe(409);
    await refused.body?.cancel();
    const resumed = await ok<Connector>(await call('POST', `/connectors/${c.id}/resume`));
    expect(resumed.state).toBe('active');
    expect((await sync(c.id)).status).toBe('succeeded');
  });

  it('treats malformed JSON and a hanging server as failed syncs, not crashes', async () => {
    const c = await create('garbled', 1001, {
      safety: { timeoutMs: 300, pauseAfterFailures: 100, breakerFailures: 100 },
    });
    ts.script({ kind: 'respond', status: 200, headers: { 'content-type': 'application/json' }, body: '{"channel": {' });
    const garbled = await sync(c.id);
    expect(['failed', 'succeeded']).toContain(garbled.status);
    expect(garbled.records).toBe(0);
    expect(garbled.errors.length + garbled.rejected).toBeGreaterThan(0);
    ts.script({ kind: 'hang' });
    const hung = await sync(c.id);
    expect(hung.status).toBe('failed');
    expect(hung.errors.at(-1)?.reason).toMatch(/time/i);
    expect((await sync(c.id)).status).toBe('succeeded');
  });

  it('reads a private channel with its sealed key, says what -1 means, and never answers the key', async () => {
    ts.addEntries(1002, [{ fields: { 1: '5' } }]);
    const denied = await call('POST', '/connectors/test', {
      type: 'thingspeak',
      config: { channelId: 1002, baseUrl: ts.url },
    });
    expect(denied.status).toBe(400);
    expect((await problemOf(denied)).detail).toMatch(/private|key/i);
    const c = (
      await ok<{ connector: Connector }>(
        await call('POST', '/connectors', {
          name: 'private',
          type: 'thingspeak',
          config: { channelId: 1002, baseUrl: ts.url, apiKey: API_KEY },
          live: { flushMs: 100 },
          safety: FAST,
        }),
        201,
      )
    ).connector;
    expect(c.secrets).toEqual(['apiKey']);
    expect(JSON.stringify(c)).not.toContain(API_KEY);
    expect((await sync(c.id)).records).toBe(1);
    expect(JSON.stringify(await connector(c.id))).not.toContain(API_KEY);
    expect(JSON.stringify(t.logs)).not.toContain(API_KEY);
  });

  it('backfills a time range as a job with progress', async () => {
    const c = await create('history', 1001);
    ts.addEntries(
      1001,
      Array.from({ length: 50 }, (_, i) => ({
        at: `2025-06-01T00:${String(i).padStart(2, '0')}:00Z`,
        fields: { 1: String(i), 2: '1' },
      })),
    );
    const { job } = await ok<{ job: Job }>(
      await call('POST', `/connectors/${c.id}/backfill`, { from: '2025-06-01T00:00:00Z', to: '2025-06-01T00:29:59Z' }),
      202,
    );
    const done = await eventually(
      async () => ok<Job>(await call('GET', `/jobs/${job.id}`)),
      (j) => ['succeeded', 'failed'].includes(j.status),
      20_000,
    );
    expect(done.status, JSON.stringify(done.error)).toBe('succeeded');
    expect(done.progress).toBe(100);
    expect((done.result as Sync).records).toBe(30);
    // The connector's own cursor is not moved by a backfill.
    expect((await connector(c.id)).cursor).toBeNull();
    const bad = await call('POST', `/connectors/${c.id}/backfill`, {
      from: '2025-06-02T00:00:00Z',
      to: '2025-06-01T00:00:00Z',
    });
    expect(bad.status).toBe(400);
    await bad.body?.cancel();
  });
});
