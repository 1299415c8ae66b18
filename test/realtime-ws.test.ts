import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topics } from '../src/bus/types.js';
import { newId } from '../src/ids.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import { insertJobRow, insertWorkspace, refusedUpgrade, TestClient, until, wsUrl } from './helpers/realtime.js';
import { actor, apiKey, bearer, workspace } from './helpers/identity.js';
import { problemOf, upload } from './helpers/upload.js';

const gauge = async (t: TestApp, name: 'wsConnections' | 'wsSubscriptions'): Promise<number> =>
  (await t.context.metrics[name].get()).values[0]?.value ?? 0;

describe('WebSocket hub', () => {
  let t: TestApp;
  let otherWorkspace: string;
  const clients: TestClient[] = [];
  const connect = async () => {
    const c = await TestClient.open(wsUrl(t.url), { headers: t.auth });
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    t = await startTestApp();
    otherWorkspace = await insertWorkspace(t.context.store.db);
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await t?.close();
  });

  it('delivers bus events of a subscribed topic, in the documented shape, and stops after unsubscribe', async () => {
    const jobId = await insertJobRow(t.context.store.db, { workspaceId: 'ws_default' });
    const topic = topics.job(jobId);
    const c = await connect();
    expect(await c.request({ type: 'subscribe', topic, id: 's1' })).toEqual({ type: 'subscribed', topic, id: 's1' });

    await t.context.bus.publish(topic, 'job.progress', { progress: 42, message: 'half way' });
    const event = await c.next('event');
    expect(event).toEqual({
      type: 'event',
      topic,
      event: 'job.progress',
      data: { progress: 42, message: 'half way' },
      ts: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
    });

    expect(await c.request({ type: 'unsubscribe', topic, id: 'u1' })).toEqual({
      type: 'unsubscribed',
      topic,
      id: 'u1',
    });
    // A sentinel topic published after the job topic: once its event arrives, a job event would have too.
    const sentinel = topics.workspace('ws_default');
    expect((await c.request({ type: 'subscribe', topic: sentinel, id: 's2' })).type).toBe('subscribed');
    await t.context.bus.publish(topic, 'job.progress', { progress: 60 });
    await t.context.bus.publish(sentinel, 'workspace.ping', { n: 1 });
    await c.next('event', (m) => m.topic === sentinel);
    expect(c.events(topic)).toHaveLength(1);
  });

  it('tells a dataset topic about new versions (from a synchronous upload and from an ingest job), edits and deletion', async () => {
    const created = await upload(t, `a,b\n1,${Date.now()}\n`, { name: 'watched' });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    const topic = topics.dataset(id);
    const c = await connect();
    expect((await c.request({ type: 'subscribe', topic, id: 'ds' })).type).toBe('subscribed');

    const secondBytes = `a,b\n2,${Date.now()}\n`;
    const second = await upload(t, secondBytes, { path: `/datasets/${id}/versions` });
    expect(second.status).toBe(201);
    const v2 = await c.next('event', (m) => m.topic === topic);
    expect(v2).toMatchObject({
      event: 'dataset.version',
      data: { datasetId: id, version: { number: 2, datasetId: id, rowCount: 1 } },
    });

    // Without ?wait=true the version is stored by the ingest job, possibly in another process: same event.
    const form = new FormData();
    form.append('file', new Blob([`a,b\n3,${Date.now()}\n`]), 'three.csv');
    const accepted = await t.fetch(`${t.api}/datasets/${id}/versions`, { method: 'POST', body: form });
    expect(accepted.status).toBe(202);
    expect(await c.next('event', (m) => m.topic === topic, 15_000)).toMatchObject({
      event: 'dataset.version',
      data: { version: { number: 3 } },
    });

    // A duplicate stores nothing, so it says nothing (the count at the end shows it).
    expect((await upload(t, secondBytes, { path: `/datasets/${id}/versions` })).status).toBe(200);
    const patched = await t.fetch(`${t.api}/datasets/${id}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: '{"name":"renamed"}',
    });
    expect(patched.status).toBe(200);
    expect(await c.next('event', (m) => m.topic === topic)).toMatchObject({
      event: 'dataset.updated',
      data: { id, name: 'renamed' },
    });
    expect((await t.fetch(`${t.api}/datasets/${id}`, { method: 'DELETE' })).status).toBe(204);
    expect(await c.next('event', (m) => m.topic === topic)).toMatchObject({ event: 'dataset.deleted', data: { id } });
    expect(c.events(topic).map((e) => e.event)).toEqual([
      'dataset.version',
      'dataset.version',
      'dataset.updated',
      'dataset.deleted',
    ]);
  });

  it('serves many subscribers of one topic from one bus subscription, and releases it when they leave', async () => {
    const jobId = await insertJobRow(t.context.store.db, { workspaceId: 'ws_default' });
    const topic = topics.job(jobId);
    const [a, b] = await Promise.all([connect(), connect()]);
    await a.request({ type: 'subscribe', topic, id: 'a' });
    await b.request({ type: 'subscribe', topic, id: 'b' });
    // Subscribing twice is idempotent.
    expect(await a.request({ type: 'subscribe', topic, id: 'a2' })).toEqual({ type: 'subscribed', topic, id: 'a2' });
    const before = await gauge(t, 'wsSubscriptions');
    await t.context.bus.publish(topic, 'job.state', { status: 'running' });
    const [ea, eb] = await Promise.all([
      a.next('event', (m) => m.topic === topic),
      b.next('event', (m) => m.topic === topic),
    ]);
    expect(ea).toEqual(eb);
    a.close();
    b.close();
    await Promise.all([a.closed, b.closed]);
    await until(async () => (await gauge(t, 'wsSubscriptions')) === before - 2, 'subscriptions released');
  });

  it('answers status requests with the current job and dataset, and not_found for what does not exist', async () => {
    const jobId = await insertJobRow(t.context.store.db, {
      workspaceId: 'ws_default',
      status: 'running',
      progress: 30,
    });
    const res = await upload(t, 'a,b\n1,2\n3,4\n', { name: 'status-check' });
    expect(res.status).toBe(201);
    const dataset = (await res.json()) as { id: string; name: string };
    const c = await connect();

    const job = await c.request({ type: 'status', topic: `job:${jobId}`, id: 'j' });
    expect(job).toMatchObject({
      type: 'status',
      topic: `job:${jobId}`,
      id: 'j',
      data: { id: jobId, status: 'running', progress: 30, workspaceId: 'ws_default', kind: 'test.noop' },
    });
    const ds = await c.request({ type: 'status', topic: `dataset:${dataset.id}`, id: 'd' });
    expect(ds).toMatchObject({
      type: 'status',
      id: 'd',
      data: { id: dataset.id, name: 'status-check', versionCount: 1 },
    });

    const missing = newId('job');
    expect(await c.request({ type: 'status', topic: `job:${missing}`, id: 'm' })).toEqual({
      type: 'error',
      code: 'not_found',
      message: `job:${missing} does not exist`,
      id: 'm',
      topic: `job:${missing}`,
    });
    expect(await c.request({ type: 'status', topic: 'workspace:ws_default', id: 'w' })).toMatchObject({
      type: 'error',
      code: 'unknown_topic',
      id: 'w',
    });
  });

  it('refuses topics of another workspace exactly like missing ones', async () => {
    const foreignJob = await insertJobRow(t.context.store.db, { workspaceId: otherWorkspace });
    const foreignDataset = newId('ds');
    const now = new Date().toISOString();
    await t.context.store.db
      .insertInto('datasets')
      .values({
        id: foreignDataset,
        workspace_id: otherWorkspace,
        name: 'secret',
        description: '',
        format: 'csv',
        latest_version_id: null,
        version_count: 0,
        created_at: now,
        updated_at: now,
      })
      .execute();
    const c = await connect();
    const missingJob = newId('job');

    const foreign = await c.request({ type: 'subscribe', topic: `job:${foreignJob}`, id: 'f' });
    const absent = await c.request({ type: 'subscribe', topic: `job:${missingJob}`, id: 'f' + 'x' });
    expect(foreign).toEqual({
      type: 'error',
      code: 'not_found',
      message: `job:${foreignJob} does not exist`,
      id: 'f',
      topic: `job:${foreignJob}`,
    });
    expect(absent).toEqual({
      type: 'error',
      code: 'not_found',
      message: `job:${missingJob} does not exist`,
      id: 'fx',
      topic: `job:${missingJob}`,
    });
    expect(await c.request({ type: 'status', topic: `job:${foreignJob}`, id: 'fs' })).toMatchObject({
      type: 'error',
      code: 'not_found',
    });
    expect(await c.request({ type: 'subscribe', topic: `dataset:${foreignDataset}`, id: 'fd' })).toMatchObject({
      type: 'error',
      code: 'not_found',
    });
    expect(await c.request({ type: 'subscribe', topic: `workspace:${otherWorkspace}`, id: 'fw' })).toMatchObject({
      type: 'error',
      code: 'not_found',
    });

    // Nothing published there reaches this client.
    await t.context.bus.publish(topics.job(foreignJob), 'job.progress', { progress: 1 });
    expect(await c.request({ type: 'ping', id: 'p' })).toEqual({ type: 'pong', id: 'p' });
    expect(c.events()).toHaveLength(0);
  });

  it('the workspace feed carries job events: it needs jobs:read, and datasets:read alone is not enough', async () => {
    const datasetsOnly = await apiKey(t, ['datasets:read']);
    const jobsReader = await apiKey(t, ['jobs:read']);
    const topic = topics.workspace('ws_default');
    const refused = await TestClient.open(wsUrl(t.url), { headers: bearer(datasetsOnly.token) });
    const allowed = await TestClient.open(wsUrl(t.url), { headers: bearer(jobsReader.token) });
    clients.push(refused, allowed);
    expect(await refused.request({ type: 'subscribe', topic, id: 'w1' })).toEqual({
      type: 'error',
      code: 'forbidden',
      message: "watching workspace topics needs the permission 'jobs:read'",
      id: 'w1',
      topic,
    });
    expect(await allowed.request({ type: 'subscribe', topic, id: 'w2' })).toEqual({
      type: 'subscribed',
      topic,
      id: 'w2',
    });
    // Job events on the feed reach only the client allowed to read jobs.
    const jobId = await insertJobRow(t.context.store.db, { workspaceId: 'ws_default' });
    await t.context.bus.publish(topic, 'job.state', { id: jobId, status: 'running' });
    expect(await allowed.next('event', (m) => m.topic === topic)).toMatchObject({
      event: 'job.state',
      data: { id: jobId },
    });
    expect(await refused.request({ type: 'ping', id: 'p' })).toEqual({ type: 'pong', id: 'p' });
    expect(refused.events(topic)).toHaveLength(0);
  });

  it('answers bad messages with an error and keeps the connection working', async () => {
    const c = await connect();
    c.send('{not json');
    expect(await c.next('error')).toEqual({
      type: 'error',
      code: 'invalid_json',
      message: 'the message is not valid JSON',
    });
    c.send('[1,2]');
    expect(await c.next('error')).toMatchObject({ code: 'unknown_type' });
    c.send({ type: 'shout', id: 'x1' });
    expect(await c.next('error')).toMatchObject({ code: 'unknown_type', id: 'x1' });
    c.send({ type: 'subscribe', id: 'x2' });
    expect(await c.next('error')).toMatchObject({
      code: 'invalid_message',
      id: 'x2',
      message: 'invalid "subscribe" message: missing field(s) topic',
    });
    c.send({ type: 'ping', id: 'x3', extra: true });
    expect(await c.next('error')).toMatchObject({
      code: 'invalid_message',
      id: 'x3',
      message: 'invalid "ping" message: unknown field(s) extra',
    });
    c.send({ type: 'subscribe', topic: 'no-colon', id: 'x4' });
    expect(await c.next('error')).toMatchObject({ code: 'invalid_topic', id: 'x4', topic: 'no-colon' });
    c.send({ type: 'subscribe', topic: 'job:../../etc', id: 'x5' });
    expect(await c.next('error')).toMatchObject({ code: 'invalid_topic', id: 'x5' });
    // Model topics exist (src/models/); a model that does not is not_found like any other object.
    c.send({ type: 'subscribe', topic: `model:${newId('mdl')}`, id: 'x6' });
    expect(await c.next('error')).toMatchObject({ code: 'not_found', id: 'x6' });
    c.send({ type: 'subscribe', topic: `upload:${newId('up')}`, id: 'x6b' });
    expect(await c.next('error')).toMatchObject({ code: 'not_found', id: 'x6b' });
    c.send({ type: 'unsubscribe', topic: 'bad topic', id: 'x7' });
    expect(await c.next('error')).toMatchObject({ code: 'invalid_topic', id: 'x7' });
    c.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    expect(await c.next('error')).toMatchObject({ code: 'invalid_json' });

    expect(await c.request({ type: 'ping', id: 'still-there' })).toEqual({ type: 'pong', id: 'still-there' });
    expect(c.ws.readyState).toBe(c.ws.OPEN);
  });

  it('refuses an upgrade without valid credentials with HTTP 401, before any WebSocket exists', async () => {
    await expect(TestClient.open(wsUrl(t.url))).rejects.toThrow('unexpected response 401');
    await expect(TestClient.open(wsUrl(t.url), { headers: { authorization: 'Bearer not-a-token' } })).rejects.toThrow(
      'unexpected response 401',
    );
    await expect(TestClient.open(`${wsUrl(t.url)}?access_token=weir_bogus`)).rejects.toThrow('unexpected response 401');
  });

  it('accepts the token as ?access_token= (browsers cannot set headers) and keeps it out of the logs', async () => {
    const token = t.auth.authorization!.replace(/^Bearer /, '');
    const c = await TestClient.open(`${wsUrl(t.url)}?access_token=${encodeURIComponent(token)}`);
    clients.push(c);
    expect(await c.request({ type: 'ping', id: 'q' })).toEqual({ type: 'pong', id: 'q' });
    await TestClient.open(`${wsUrl(t.url)}?access_token=${encodeURIComponent(token)}x`).catch(() => undefined);
    expect(JSON.stringify(t.logs)).not.toContain(token);
  });

  it('answers a plain GET (no upgrade) with 426', async () => {
    const res = await t.fetch(`${t.api}/ws`);
    expect(res.status).toBe(426);
    const problem = await problemOf(res);
    expect(problem.code).toBe('upgrade_required');
    expect(problem.detail).toContain('WebSocket endpoint');
  });

  it('counts connections and subscriptions in /metrics', async () => {
    const c = await connect();
    await c.request({ type: 'subscribe', topic: 'workspace:ws_default', id: 'm' });
    const text = await (await t.fetch(`${t.url}/metrics`)).text();
    expect(text).toMatch(/^weir_ws_connections [1-9]\d*$/m);
    expect(text).toMatch(/^weir_ws_subscriptions [1-9]\d*$/m);
  });
});

describe('WebSocket credentials', () => {
  it('closes a socket within a heartbeat once its session ends or its key is revoked', async () => {
    const t = await startTestApp({ WEIR_WS_HEARTBEAT_MS: '200' });
    try {
      const login = await fetch(`${t.api}/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'owner@weir.test', password: 'correct horse battery staple' }),
      });
      const { accessToken } = (await login.json()) as { accessToken: string };
      const session = await TestClient.open(`${wsUrl(t.url)}?access_token=${accessToken}`);
      const keyRes = await t.fetch(`${t.api}/keys`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"name":"ws","scopes":["jobs:read"]}',
      });
      const { key, token } = (await keyRes.json()) as { key: { id: string }; token: string };
      const keyed = await TestClient.open(wsUrl(t.url), { headers: { authorization: `Bearer ${token}` } });
      const bystander = await TestClient.open(wsUrl(t.url), { headers: t.auth });
      await new Promise((r) => setTimeout(r, 500));
      expect(await session.request({ type: 'ping', id: 'before' })).toEqual({ type: 'pong', id: 'before' });

      expect(
        (await fetch(`${t.api}/auth/logout`, { method: 'POST', headers: { authorization: `Bearer ${accessToken}` } }))
          .status,
      ).toBe(204);
      expect(await session.closed).toEqual({ code: 4401, reason: 'credentials expired or revoked' });
      expect((await t.fetch(`${t.api}/keys/${key.id}`, { method: 'DELETE' })).status).toBe(200);
      expect((await keyed.closed).code).toBe(4401);
      expect(await bystander.request({ type: 'ping', id: 'still' })).toEqual({ type: 'pong', id: 'still' });
      bystander.close();
    } finally {
      await t.close();
    }
  });
});

describe('WebSocket hub limits', () => {
  it('terminates a client that does not answer pings and cleans up its subscriptions', async () => {
    const t = await startTestApp({ WEIR_WS_HEARTBEAT_MS: '200' });
    try {
      const silent = await TestClient.open(wsUrl(t.url), { headers: t.auth, autoPong: false });
      const healthy = await TestClient.open(wsUrl(t.url), { headers: t.auth });
      await silent.request({ type: 'subscribe', topic: 'workspace:ws_default', id: 's' });
      expect(await gauge(t, 'wsSubscriptions')).toBe(1);
      const started = Date.now();
      const closed = await silent.closed;
      // Terminated (no close frame): between one and two heartbeat periods after the first unanswered ping.
      expect(closed.code).toBe(1006);
      expect(Date.now() - started).toBeLessThan(2000);
      await until(
        async () => (await gauge(t, 'wsSubscriptions')) === 0 && (await gauge(t, 'wsConnections')) === 1,
        'cleanup of the dead connection',
      );
      // The client that answers pings outlives several heartbeats.
      await new Promise((r) => setTimeout(r, 700));
      expect(await healthy.request({ type: 'ping', id: 'alive' })).toEqual({ type: 'pong', id: 'alive' });
      healthy.close();
    } finally {
      await t.close();
    }
  });

  it('closes a slow consumer with 1013 instead of buffering without bound', async () => {
    const cap = 256 * 1024;
    const t = await startTestApp({ WEIR_WS_MAX_BUFFER_BYTES: String(cap) });
    try {
      const c = await TestClient.open(wsUrl(t.url), { headers: t.auth });
      const topic = topics.workspace('ws_default');
      await c.request({ type: 'subscribe', topic, id: 's' });
      c.ws.pause();
      const chunk = 'x'.repeat(64 * 1024);
      let published = 0;
      // Loopback socket buffers absorb several MB before the server's own buffer grows past the cap.
      for (let i = 0; i < 4000 && (await gauge(t, 'wsConnections')) > 0; i++) {
        await t.context.bus.publish(topic, 'workspace.blob', { i, chunk });
        published += chunk.length;
        if (i % 20 === 0) await new Promise((r) => setImmediate(r));
      }
      expect(await gauge(t, 'wsConnections')).toBe(0);
      const line = t.logs.find((l) => l.msg === 'websocket: closing a slow consumer');
      expect(line).toBeDefined();
      // What the server held for this client when it gave up: the cap plus at most one event.
      expect(line!.bufferedBytes as number).toBeGreaterThan(cap);
      expect(line!.bufferedBytes as number).toBeLessThanOrEqual(cap + chunk.length + 1024);

      c.ws.resume();
      const closed = await c.closed;
      expect(closed).toEqual({ code: 1013, reason: 'slow consumer' });
      expect(c.receivedBytes).toBeLessThan(published);
      // The connection left its topic: publishing more writes nothing anywhere.
      expect(await gauge(t, 'wsSubscriptions')).toBe(0);
    } finally {
      await t.close();
    }
  });

  it('closes every connection with 1001 when the app shuts down', async () => {
    const t = await startTestApp();
    const c = await TestClient.open(wsUrl(t.url), { headers: t.auth });
    await c.request({ type: 'subscribe', topic: 'workspace:ws_default', id: 's' });
    const closing = t.close();
    expect(await c.closed).toEqual({ code: 1001, reason: 'server shutting down' });
    await closing;
  });
});

describe('WebSocket hub with the job runtime', () => {
  it('streams a real job’s progress and final state to a subscriber, and status answers the finished job', async () => {
    const t = await startTestApp({ WEIR_TEST_JOB_KINDS: '1' });
    try {
      const job = await t.context.jobs.enqueue(
        'test.sleep',
        { v: 1, ms: 900, steps: 3 },
        { workspaceId: 'ws_default', runAfter: new Date(Date.now() + 300) },
      );
      const c = await TestClient.open(wsUrl(t.url), { headers: t.auth });
      const topic = `job:${job.id}`;
      await c.request({ type: 'subscribe', topic, id: 's' });
      const done = await c.next(
        'event',
        (m) => m.event === 'job.state' && (m.data as { status: string }).status === 'succeeded',
        10_000,
      );
      expect(done.data).toMatchObject({ id: job.id, progress: 100 });
      expect(c.events(topic).some((e) => e.event === 'job.progress')).toBe(true);
      expect(await c.request({ type: 'status', topic, id: 'st' })).toMatchObject({
        type: 'status',
        data: { id: job.id, status: 'succeeded' },
      });
      c.close();
    } finally {
      await t.close();
    }
  });
});

/** Subscribes to each topic, expecting `subscribed`. */
async function subscribeAll(c: TestClient, watched: string[]): Promise<void> {
  for (const [i, topic] of watched.entries())
    expect(await c.request({ type: 'subscribe', topic, id: `sub-${i}` })).toEqual({
      type: 'subscribed',
      topic,
      id: `sub-${i}`,
    });
}

/** The `unsubscribed` messages the server sent on its own (they carry a reason; answers to `unsubscribe` do not). */
const revocations = (c: TestClient) =>
  c.received.filter(
    (m): m is Extract<typeof m, { type: 'unsubscribed' }> => m.type === 'unsubscribed' && m.reason !== undefined,
  );

/**
 * A ping's answer: every event published (with the in-process bus, delivered during `publish`) before it was sent
 * has arrived by then, since one socket keeps order.
 */
async function settled(c: TestClient, id: string): Promise<void> {
  expect(await c.request({ type: 'ping', id })).toEqual({ type: 'pong', id });
}

describe('WebSocket access revocation', () => {
  // The default heartbeat (30 s): whatever happens within these tests' few seconds came from the identity change.
  let t: TestApp;
  const clients: TestClient[] = [];
  const open = async (headers: Record<string, string>) => {
    const c = await TestClient.open(wsUrl(t.url), { headers });
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await t?.close();
  });

  it('a demoted member keeps what the new role allows; a removed one loses every subscription at once, told why, and hears nothing more', async () => {
    const member = await actor(t, 'analyst');
    const created = await upload(t, `a,b\n1,${Date.now()}\n`, { name: 'revocation' });
    expect(created.status).toBe(201);
    const { id: datasetId } = (await created.json()) as { id: string };
    const jobId = await insertJobRow(t.context.store.db, { workspaceId: 'ws_default' });
    const watched = [topics.workspace('ws_default'), topics.dataset(datasetId), topics.job(jobId)];
    const c = await open(member.headers);
    const owner = await open(t.auth);
    await subscribeAll(c, watched);
    await subscribeAll(owner, watched);

    // Every role may read jobs and datasets, so a demotion re-authorizes and ends nothing.
    const demoted = await t.fetch(`${t.api}/workspaces/ws_default/members/${member.userId}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: '{"role":"viewer"}',
    });
    expect(demoted.status).toBe(200);
    for (const topic of watched) await t.context.bus.publish(topic, 'dataset.updated', { id: datasetId, n: 1 });
    for (const topic of watched)
      expect(await c.next('event', (m) => m.topic === topic)).toMatchObject({ data: { n: 1 } });
    expect(revocations(c)).toEqual([]);

    const removed = await t.fetch(`${t.api}/workspaces/ws_default/members/${member.userId}`, { method: 'DELETE' });
    expect(removed.status).toBe(204);
    await until(() => revocations(c).length === watched.length, 'every subscription to be ended');
    expect(
      revocations(c)
        .map((m) => m.topic)
        .sort(),
    ).toEqual([...watched].sort());
    for (const m of revocations(c)) {
      expect(m).toEqual({
        type: 'unsubscribed',
        topic: m.topic,
        reason: 'access_revoked',
        message: expect.stringContaining('subscribe again once access is restored'),
      });
    }

    // Published after: the owner hears it, the removed member does not.
    const heard = c.events().length;
    for (const topic of watched) await t.context.bus.publish(topic, 'dataset.updated', { id: datasetId, n: 2 });
    for (const topic of watched)
      expect(await owner.next('event', (m) => m.topic === topic && (m.data as { n: number }).n === 2)).toBeDefined();
    await settled(c, 'after-removal');
    expect(c.events()).toHaveLength(heard);

    // The connection is re-authenticated too: subscribing again is refused like the REST API refuses the dataset.
    expect(await c.request({ type: 'subscribe', topic: topics.job(jobId), id: 'again' })).toMatchObject({
      type: 'error',
      code: 'not_found',
      id: 'again',
    });
    expect((await fetch(`${t.api}/datasets/${datasetId}`, { headers: member.headers })).status).toBe(404);
    expect(await gauge(t, 'wsSubscriptions')).toBe(watched.length);
  });

  it('a revoked API key has each subscription ended (credentials_revoked) and its connection closed with 4401 at once', async () => {
    const key = await apiKey(t, ['jobs:read', 'datasets:read']);
    const jobId = await insertJobRow(t.context.store.db, { workspaceId: 'ws_default' });
    const watched = [topics.job(jobId), topics.workspace('ws_default')];
    const c = await open(bearer(key.token));
    const bystander = await open(t.auth);
    await subscribeAll(c, watched);
    await subscribeAll(bystander, [topics.job(jobId)]);

    const started = Date.now();
    expect((await t.fetch(`${t.api}/keys/${key.id}`, { method: 'DELETE' })).status).toBe(200);
    expect(await c.closed).toEqual({ code: 4401, reason: 'credentials expired or revoked' });
    expect(Date.now() - started).toBeLessThan(5000);
    expect(revocations(c).map((m) => [m.topic, m.reason])).toEqual(
      watched.map((topic) => [topic, 'credentials_revoked']),
    );
    expect(revocations(c)[0]!.message).toMatch(/no longer valid/);

    await t.context.bus.publish(topics.job(jobId), 'job.progress', { progress: 5 });
    expect(await bystander.next('event', (m) => m.topic === topics.job(jobId))).toMatchObject({
      data: { progress: 5 },
    });
  });

  it('a workspace network rule that excludes the client ends its subscriptions in that workspace, and only there', async () => {
    const guarded = await workspace(t, `Guarded ${Date.now()}`);
    const inside = topics.job(await insertJobRow(t.context.store.db, { workspaceId: guarded }));
    const outside = topics.job(await insertJobRow(t.context.store.db, { workspaceId: 'ws_default' }));
    const c = await open(t.auth);
    await subscribeAll(c, [inside, topics.workspace(guarded), outside]);

    const deny = await t.fetch(`${t.api}/workspaces/${guarded}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ipDeny: ['127.0.0.0/8', '::1/128'] }),
    });
    expect(deny.status).toBe(200);
    await until(() => revocations(c).length === 2, 'the guarded subscriptions to be ended');
    expect(
      revocations(c)
        .map((m) => [m.topic, m.reason])
        .sort(),
    ).toEqual(
      [
        [inside, 'access_revoked'],
        [topics.workspace(guarded), 'access_revoked'],
      ].sort(),
    );

    await t.context.bus.publish(inside, 'job.progress', { progress: 1 });
    await t.context.bus.publish(outside, 'job.progress', { progress: 2 });
    expect(await c.next('event', (m) => m.topic === outside)).toMatchObject({ data: { progress: 2 } });
    await settled(c, 'after-rule');
    expect(c.events(inside)).toHaveLength(0);
  });
});

describe('WebSocket access on the heartbeat', () => {
  it('ends a subscription at the next heartbeat when access was taken away without a change event (an operator’s SQL)', async () => {
    const t = await startTestApp({ WEIR_WS_HEARTBEAT_MS: '200' });
    try {
      const viewer = await actor(t, 'viewer');
      const topic = topics.job(await insertJobRow(t.context.store.db, { workspaceId: 'ws_default' }));
      const c = await TestClient.open(wsUrl(t.url), { headers: viewer.headers });
      await subscribeAll(c, [topic]);
      // Straight in the database: no identity change is published.
      await t.context.store.db.deleteFrom('memberships').where('user_id', '=', viewer.userId).execute();
      expect(await c.next('unsubscribed', (m) => m.topic === topic)).toMatchObject({ reason: 'access_revoked' });
      await t.context.bus.publish(topic, 'job.progress', { progress: 9 });
      await settled(c, 'after');
      expect(c.events()).toHaveLength(0);
      expect(c.ws.readyState).toBe(c.ws.OPEN);
      c.close();
    } finally {
      await t.close();
    }
  });
});

describe('WebSocket connection caps', () => {
  it('refuses a connection past the cap per user and per API key with a 429 problem, and accepts again once one closes', async () => {
    const t = await startTestApp({ WEIR_WS_MAX_CONNECTIONS_PER_USER: '2', WEIR_WS_MAX_CONNECTIONS_PER_KEY: '1' });
    const clients: TestClient[] = [];
    const open = async (headers: Record<string, string>) => {
      const c = await TestClient.open(wsUrl(t.url), { headers });
      clients.push(c);
      return c;
    };
    try {
      const first = await open(t.auth);
      await open(t.auth);
      const refused = await refusedUpgrade(wsUrl(t.url), { headers: t.auth });
      expect(refused).toMatchObject({ status: 429, body: { status: 429, code: 'too_many_connections', limit: 2 } });
      expect(refused.contentType).toMatch(/^application\/problem\+json/);
      expect(refused.body.detail).toBe(
        'You already hold 2 open WebSocket connections on this server, the most allowed; close one before opening another',
      );
      // The same user through ?access_token= (how browsers connect) counts against the same cap.
      const token = t.auth.authorization!.replace(/^Bearer /, '');
      expect((await refusedUpgrade(`${wsUrl(t.url)}?access_token=${encodeURIComponent(token)}`)).status).toBe(429);

      // Another user, and an API key of this user, have counts of their own.
      const other = await actor(t, 'viewer');
      expect(await (await open(other.headers)).request({ type: 'ping', id: 'other' })).toEqual({
        type: 'pong',
        id: 'other',
      });
      const key = await apiKey(t, ['jobs:read']);
      await open(bearer(key.token));
      expect(await refusedUpgrade(wsUrl(t.url), { headers: bearer(key.token) })).toMatchObject({
        status: 429,
        body: { limit: 1, detail: expect.stringMatching(/^This API key already holds 1 open/) },
      });

      const open4 = await gauge(t, 'wsConnections');
      first.close();
      await first.closed;
      await until(async () => (await gauge(t, 'wsConnections')) === open4 - 1, 'the closed connection to be released');
      const again = await open(t.auth);
      expect(await again.request({ type: 'ping', id: 'again' })).toEqual({ type: 'pong', id: 'again' });
      // Refusals held no slot: the cap is exactly full again.
      expect((await refusedUpgrade(wsUrl(t.url), { headers: t.auth })).status).toBe(429);
    } finally {
      for (const c of clients) c.close();
      await t.close();
    }
  });
});
