import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Connector, Sync } from '../src/connectors/model.js';
import { createTestDatabase, pgAdminUrl } from './helpers/app.js';
import { FakeThingSpeak } from './helpers/fake-thingspeak.js';
import { eventually } from './helpers/identity.js';
import { startServerProcess, type ServerProcess } from './helpers/process.js';
import { MQTT_URL, REDIS_URL, mqttAvailable, redisAvailable } from './helpers/realtime.js';

const haveRedis = await redisAvailable();
const haveBroker = haveRedis && (await mqttAvailable());

/**
 * Connectors on two Weir nodes sharing a database and Redis: an MQTT topic is split between the nodes by a shared
 * subscription and every record lands once; a rate limit holds for both nodes together; a schedule fires once per
 * cluster, not once per node.
 */
describe.skipIf(!haveRedis)('connectors in cluster mode (two nodes)', () => {
  const nodes: ServerProcess[] = [];
  let ts: FakeThingSpeak;
  let dataDir: string;
  let drop: (() => Promise<void>) | null = null;
  const prefix = `weir-test-${randomBytes(6).toString('hex')}`;

  beforeAll(async () => {
    ts = await FakeThingSpeak.start();
    ts.addChannel({ id: 7, fields: { 1: 'Level' } });
    ts.addEntries(7, [{ fields: { 1: '1' } }]);
    dataDir = await mkdtemp(path.join(tmpdir(), 'weir-conn-cluster-'));
    let databaseUrl = `sqlite:${path.join(dataDir, 'weir.db')}`;
    if (pgAdminUrl) {
      const db = await createTestDatabase(pgAdminUrl);
      drop = db.drop;
      databaseUrl = db.url;
    }
    const env = {
      WEIR_DATA_DIR: path.join(dataDir, 'data'),
      WEIR_DATABASE_URL: databaseUrl,
      WEIR_REDIS_URL: REDIS_URL,
      WEIR_REDIS_PREFIX: prefix,
      WEIR_JOB_QUEUE_PREFIX: prefix,
      WEIR_CONNECTORS_ALLOW_PRIVATE: 'true',
      WEIR_SECRETS_KEY: randomBytes(32).toString('hex'),
      WEIR_RATE_LIMIT_IP: 'off',
      WEIR_RATE_LIMIT_USER: 'off',
    };
    // One after the other: the first applies the migrations and creates the owner.
    nodes.push(await startServerProcess(env));
    nodes.push(await startServerProcess(env));
  }, 120_000);

  afterAll(async () => {
    for (const n of nodes) n.child.kill('SIGTERM');
    await Promise.all(nodes.map((n) => n.exited));
    await ts?.close();
    await drop?.();
    await rm(dataDir, { recursive: true, force: true });
  });

  const call = (node: ServerProcess, method: string, route: string, body?: unknown) =>
    fetch(`${node.url}/api/v1${route}`, {
      method,
      headers: { ...node.auth, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  async function ok<T>(res: Response, status = 200): Promise<T> {
    expect(res.status, await res.clone().text()).toBe(status);
    return (await res.json()) as T;
  }

  it.skipIf(!haveBroker)(
    'splits an MQTT topic between the nodes and stores each message once',
    { timeout: 120_000 },
    async () => {
      const topic = `${prefix}/sensors`;
      const { connector } = await ok<{ connector: Connector }>(
        await call(nodes[0]!, 'POST', '/connectors', {
          name: 'shared-mqtt',
          type: 'mqtt',
          config: { url: MQTT_URL, topics: [`${topic}/+`], qos: 1, payload: 'json', keyField: 'id' },
          fields: [
            { name: 'id', type: 'bigint' },
            { name: 'value', type: 'double' },
            { name: 'topic', type: 'varchar' },
          ],
          live: { flushMs: 200 },
        }),
        201,
      );
      // Each node subscribes (the second hears of the connector on the bus).
      for (const node of nodes)
        await eventually(
          async () => (await ok<Connector>(await call(node, 'GET', `/connectors/${connector.id}`))).health.stream,
          (s) => s === 'connected',
          30_000,
        );
      const publisher = await mqtt.connectAsync(MQTT_URL, { protocolVersion: 5, clientId: `${prefix}-pub` });
      const total = 1000;
      for (let i = 0; i < total; i++)
        await publisher.publishAsync(`${topic}/s${i % 10}`, JSON.stringify({ id: i, value: i / 2 }), { qos: 1 });
      await publisher.endAsync();
      const counted = await eventually(
        async () => {
          const res = await ok<{ rows: unknown[][] }>(
            await call(nodes[1]!, 'POST', `/datasets/${connector.datasetId}/query`, {
              aggregations: [
                { function: 'count', as: 'rows' },
                { function: 'count_distinct', expression: 'id', as: 'ids' },
              ],
            }),
          );
          return res.rows[0]!.map(Number);
        },
        ([rows]) => rows! >= total,
        60_000,
      );
      expect(counted).toEqual([total, total]);
      // Both nodes took a share: each counts what it stored in its own metrics.
      for (const node of nodes) {
        const metrics = await (await fetch(`${node.url}/metrics`)).text();
        const stored = new RegExp(
          `weir_connector_records_total\\{connector="${connector.id}",outcome="stored"\\} (\\d+)`,
        ).exec(metrics);
        expect(Number(stored?.[1] ?? 0)).toBeGreaterThan(0);
      }
    },
  );

  it('holds one rate limit for both nodes together', { timeout: 60_000 }, async () => {
    const { connector } = await ok<{ connector: Connector }>(
      await call(nodes[0]!, 'POST', '/connectors', {
        name: 'limited',
        type: 'thingspeak',
        config: { channelId: 7, baseUrl: ts.url },
        safety: { requestsPerMinute: 4, retries: 0, cacheTtlMs: 0 },
      }),
      201,
    );
    const before = ts.count('/channels/7/feeds.json');
    // Twelve syncs, alternating between the nodes: four reach the source, the others are refused by the budget
    // the nodes share in Redis. (The create's sample is a dry run outside the budget.)
    const syncs: Sync[] = [];
    for (let i = 0; i < 12; i++)
      syncs.push(await ok<Sync>(await call(nodes[i % 2]!, 'POST', `/connectors/${connector.id}/sync`)));
    const reached = ts.count('/channels/7/feeds.json') - before;
    expect(reached).toBe(4);
    expect(syncs.filter((s, i) => i % 2 === 1 && s.status === 'succeeded').length).toBeGreaterThan(0);
    expect(syncs.filter((s) => s.status === 'failed').length).toBeGreaterThanOrEqual(12 - 4);
    expect(syncs.some((s) => s.errors.some((e) => /rate/i.test(e.reason)))).toBe(true);
  });

  it('fires a schedule once per cluster', { timeout: 60_000 }, async () => {
    const { connector } = await ok<{ connector: Connector }>(
      await call(nodes[0]!, 'POST', '/connectors', {
        name: 'scheduled',
        type: 'thingspeak',
        config: { channelId: 7, baseUrl: ts.url },
        fields: [
          { name: 'entry_id', type: 'bigint' },
          { name: 'level', type: 'double' },
        ],
        schedule: '* * * * * *',
        safety: { requestsPerMinute: 10_000, retries: 0, cacheTtlMs: 0 },
      }),
      201,
    );
    const history = await eventually(
      async () => ok<{ items: Sync[] }>(await call(nodes[1]!, 'GET', `/connectors/${connector.id}/syncs?limit=100`)),
      (h) => h.items.filter((s) => s.trigger === 'schedule').length >= 4,
      30_000,
    );
    await ok(await call(nodes[0]!, 'PATCH', `/connectors/${connector.id}`, { schedule: null }));
    const seconds = history.items.filter((s) => s.trigger === 'schedule').map((s) => s.startedAt.slice(0, 19));
    // Both nodes fire every second; each second is polled by one of them only.
    expect(new Set(seconds).size).toBe(seconds.length);
  });
});
