import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisEventBus } from '../src/bus/redis.js';
import { topics } from '../src/bus/types.js';
import { createLogger } from '../src/logger.js';
import { ADMIN, createTestDatabase, login, pgAdminUrl, startTestApp, type TestApp } from './helpers/app.js';
import { freePort, MAIN } from './helpers/process.js';
import { insertJobRow, REDIS_URL, redisAvailable, TestClient, until, wsUrl } from './helpers/realtime.js';

const haveRedis = await redisAvailable();
const quiet = createLogger('silent');
/** A random WEIR_REDIS_PREFIX and the bus channel prefix it gives. */
const redisNamespace = () => {
  const redisPrefix = `weir-test-${randomBytes(6).toString('hex')}`;
  return { redisPrefix, channels: `${redisPrefix}:events:` };
};

describe.skipIf(!haveRedis)('real-time over the Redis event bus (one app)', () => {
  let t: TestApp;
  let prefix: string;
  let publisher: RedisEventBus;
  let admin: Redis;

  beforeAll(async () => {
    const ns = redisNamespace();
    prefix = ns.channels;
    t = await startTestApp({ WEIR_REDIS_URL: REDIS_URL, WEIR_REDIS_PREFIX: ns.redisPrefix });
    // Another process's bus, as a worker elsewhere would have.
    publisher = new RedisEventBus(REDIS_URL, quiet, { channelPrefix: prefix });
    admin = new Redis(REDIS_URL);
  });
  afterAll(async () => {
    await publisher?.close();
    admin?.disconnect();
    await t?.close();
  });

  it('says in /system/info that events travel over Redis', async () => {
    const info = (await (await t.fetch(`${t.api}/system/info`)).json()) as { drivers: Record<string, string> };
    expect(info.drivers.events).toBe('redis');
  });

  it('delivers events published by another process to a WebSocket client, and releases the channel after', async () => {
    const jobId = await insertJobRow(t.context.store.db, { workspaceId: 'ws_default' });
    const topic = topics.job(jobId);
    const c = await TestClient.open(wsUrl(t.url), { headers: t.auth });
    // `subscribed` is sent once Redis confirmed the channel: an event published right after must arrive.
    expect(await c.request({ type: 'subscribe', topic, id: 's' })).toEqual({ type: 'subscribed', topic, id: 's' });
    // Besides the topic's channel, the ones held for as long as the process runs: identity changes (the hub and SSE)
    // and connector changes (the connector runtime: a connector edited on another node).
    const held = [`${prefix}internal:connectors`, `${prefix}internal:identity`];
    expect(((await admin.pubsub('CHANNELS', `${prefix}*`)) as string[]).sort()).toEqual(
      [...held, `${prefix}${topic}`].sort(),
    );
    await publisher.publish(topic, 'job.progress', { id: jobId, progress: 12 });
    expect(await c.next('event')).toMatchObject({ topic, event: 'job.progress', data: { progress: 12 } });

    c.close();
    await c.closed;
    await until(
      async () =>
        JSON.stringify(((await admin.pubsub('CHANNELS', `${prefix}*`)) as string[]).sort()) === JSON.stringify(held),
      'the channel to be released',
    );
  });

  it('streams SSE events published by another process', async () => {
    const jobId = await insertJobRow(t.context.store.db, { workspaceId: 'ws_default', status: 'running' });
    const res = await t.fetch(`${t.api}/jobs/${jobId}/events`);
    const body = res.body!.getReader();
    let text = '';
    const readUntil = async (needle: string) => {
      while (!text.includes(needle)) {
        const { value, done } = await body.read();
        if (done) throw new Error(`stream ended before ${needle}: ${text}`);
        text += Buffer.from(value).toString('utf8');
      }
    };
    await readUntil('event: state');
    await publisher.publish(topics.job(jobId), 'job.state', { id: jobId, status: 'succeeded', progress: 100 });
    await readUntil('"status":"succeeded"');
    expect((await body.read()).done).toBe(true);
  });
});

interface Node {
  child: ChildProcess;
  url: string;
  output(): string;
  exited: Promise<number | null>;
}

/** Spawns `weir <args…>` and waits until `ready(output, url)` holds (20 s at most). */
async function startNode(
  args: string[],
  env: Record<string, string>,
  ready: (output: string, url: string) => Promise<boolean>,
): Promise<Node> {
  const port = await freePort();
  const child = spawn(process.execPath, [MAIN, ...args], {
    env: { ...process.env, WEIR_PORT: String(port), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  while (!(await ready(out, url).catch(() => false))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`weir ${args.join(' ')} did not start: ${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { child, url, output: () => out, exited };
}

const httpReady = async (_out: string, url: string) => (await fetch(`${url}/health/ready`)).status === 200;

describe.skipIf(!haveRedis)('real-time in cluster mode (two API nodes, one worker)', () => {
  const nodes: Node[] = [];
  let worker: Node | null = null;
  const dirs: string[] = [];
  let dropDatabase: (() => Promise<void>) | null = null;
  let prefix: string;
  let token: string;
  let databaseUrl: string;

  beforeAll(async () => {
    const ns = redisNamespace();
    prefix = ns.channels;
    const shared = await mkdtemp(path.join(tmpdir(), 'weir-cluster-'));
    dirs.push(shared);
    if (pgAdminUrl) {
      const db = await createTestDatabase(pgAdminUrl);
      dropDatabase = db.drop;
      databaseUrl = db.url;
    } else {
      // SQLite in WAL mode serves several processes on one machine: enough to stand in for PostgreSQL here.
      databaseUrl = `sqlite:${path.join(shared, 'weir.db')}`;
    }
    const env = () => ({
      // One data directory (blobs): the API node stores the upload, the worker ingests it. Each process clears
      // its scratch space at start, which is why they start before anything is uploaded.
      WEIR_DATA_DIR: path.join(shared, 'data'),
      WEIR_DATABASE_URL: databaseUrl,
      WEIR_REDIS_URL: REDIS_URL,
      WEIR_REDIS_PREFIX: ns.redisPrefix,
      WEIR_JOB_QUEUE_PREFIX: ns.redisPrefix,
      WEIR_BOOTSTRAP_ADMIN_EMAIL: ADMIN.email,
      WEIR_BOOTSTRAP_ADMIN_PASSWORD: ADMIN.password,
      WEIR_LOG_LEVEL: 'info',
    });
    // One after the other: the first applies the migrations and creates the owner. The API nodes run no
    // workers, so every job runs in the third process.
    nodes.push(await startNode(['serve', '--no-workers'], env(), httpReady));
    nodes.push(await startNode(['serve', '--no-workers'], env(), httpReady));
    worker = await startNode(['worker'], env(), (out) => Promise.resolve(out.includes('weir worker is running')));
    token = await login(`${nodes[0]!.url}/api/v1`, ADMIN.email, ADMIN.password);
  }, 90_000);

  afterAll(async () => {
    for (const n of [...nodes, ...(worker ? [worker] : [])]) n.child.kill('SIGTERM');
    await Promise.all([...nodes, ...(worker ? [worker] : [])].map((n) => n.exited));
    await dropDatabase?.();
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('a client on node A and one on node B both see an event published by another process', async () => {
    const headers = { authorization: `Bearer ${token}` };
    const [a, b] = await Promise.all(nodes.map((n) => TestClient.open(wsUrl(n.url), { headers })));
    const topic = topics.workspace('ws_default');
    // A token issued by node A is accepted by node B: one database, one signing secret.
    await Promise.all([
      a!.request({ type: 'subscribe', topic, id: 'a' }),
      b!.request({ type: 'subscribe', topic, id: 'b' }),
    ]);
    expect(a!.received[0]).toEqual({ type: 'subscribed', topic, id: 'a' });
    expect(b!.received[0]).toEqual({ type: 'subscribed', topic, id: 'b' });

    const third = new RedisEventBus(REDIS_URL, quiet, { channelPrefix: prefix });
    try {
      await third.publish(topic, 'job.state', { id: 'job_elsewhere', status: 'running' });
    } finally {
      await third.close();
    }
    const [ea, eb] = await Promise.all([a!.next('event'), b!.next('event')]);
    expect(ea).toMatchObject({ topic, event: 'job.state', data: { id: 'job_elsewhere', status: 'running' } });
    expect(eb).toEqual(ea);
    a!.close();
    b!.close();
  });

  it('a member removed through node B loses their subscriptions on node A at once', async () => {
    const admin = { authorization: `Bearer ${token}` };
    const email = `viewer-${Date.now()}@weir.test`;
    const password = 'a long enough password';
    const created = await fetch(`${nodes[1]!.url}/api/v1/users`, {
      method: 'POST',
      headers: { ...admin, 'content-type': 'application/json' },
      body: JSON.stringify({ email, password, workspaceId: 'ws_default', role: 'viewer' }),
    });
    expect(created.status).toBe(201);
    const { id: userId } = (await created.json()) as { id: string };
    const viewer = await TestClient.open(wsUrl(nodes[0]!.url), {
      headers: { authorization: `Bearer ${await login(`${nodes[0]!.url}/api/v1`, email, password)}` },
    });
    const topic = topics.workspace('ws_default');
    expect(await viewer.request({ type: 'subscribe', topic, id: 's' })).toEqual({ type: 'subscribed', topic, id: 's' });

    const removed = await fetch(`${nodes[1]!.url}/api/v1/workspaces/ws_default/members/${userId}`, {
      method: 'DELETE',
      headers: admin,
    });
    expect(removed.status).toBe(204);
    // Node A's heartbeat is 30 s away: the end comes from the identity change node B published over Redis.
    expect(await viewer.next('unsubscribed', (m) => m.topic === topic)).toMatchObject({ reason: 'access_revoked' });
    viewer.close();
  });

  it('a client on node A follows an ingest job submitted on node B and run by the worker process', async () => {
    const headers = { authorization: `Bearer ${token}` };
    const a = await TestClient.open(wsUrl(nodes[0]!.url), { headers });
    const topic = topics.workspace('ws_default');
    await a.request({ type: 'subscribe', topic, id: 'a' });

    const form = new FormData();
    form.append('file', new Blob(['x,y\n1,2\n3,4\n']), 'cluster.csv');
    // Without ?wait=true: the upload becomes an ingest job.
    const res = await fetch(`${nodes[1]!.url}/api/v1/datasets`, { method: 'POST', headers, body: form });
    expect(res.status).toBe(202);
    const { jobId } = (await res.json()) as { jobId: string };
    const done = await a.next(
      'event',
      (m) =>
        m.event === 'job.state' &&
        (m.data as { id: string; status: string }).id === jobId &&
        (m.data as { status: string }).status === 'succeeded',
      20_000,
    );
    expect(done.data).toMatchObject({ id: jobId, kind: 'ingest', status: 'succeeded' });
    expect(a.events(topic).some((e) => e.event === 'job.progress' && (e.data as { id: string }).id === jobId)).toBe(
      true,
    );
    expect(worker!.output()).toContain(jobId);
    a.close();
  });
});
