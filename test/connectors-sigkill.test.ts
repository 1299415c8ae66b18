import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import type { Connector } from '../src/connectors/model.js';
import { blobsUnderTest, createTestDatabase, pgAdminUrl } from './helpers/app.js';
import { eventually } from './helpers/identity.js';
import { startServerProcess, type ServerProcess } from './helpers/process.js';
import { startS3Server } from './helpers/s3.js';
import { MQTT_URL, mqttAvailable } from './helpers/realtime.js';

/**
 * A live dataset under kill -9: devices push records while the server flushes them into segments and compacts
 * segments into versions, continuously; the server's process group is SIGKILLed twice at arbitrary points of that
 * work and restarted on the same data. Every record whose push was answered is in the dataset afterwards, and no
 * record is there twice (a push in flight at the kill may or may not have been stored, once).
 */
const haveBroker = await mqttAvailable();
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function kill(server: ServerProcess): Promise<void> {
  try {
    process.kill(-server.child.pid!, 'SIGKILL');
  } catch {
    // The group is gone already.
  }
  await server.exited;
}

/** [rows, distinct ids] of a dataset, asked of the server's query endpoint. */
async function rowsAndIds(server: ServerProcess, datasetId: string): Promise<number[]> {
  const res = await fetch(`${server.url}/api/v1/datasets/${datasetId}/query`, {
    method: 'POST',
    headers: { ...server.auth, 'content-type': 'application/json' },
    body: JSON.stringify({
      aggregations: [
        { function: 'count', as: 'rows' },
        { function: 'count_distinct', expression: 'id', as: 'ids' },
      ],
    }),
  });
  return ((await res.json()) as { rows: unknown[][] }).rows[0]!.map(Number);
}

describe(`SIGKILL while a live dataset flushes and compacts (${blobsUnderTest} blobs)`, () => {
  it('loses no acknowledged record and stores none twice', { timeout: 180_000 }, async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'weir-livekill-'));
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    const db = pgAdminUrl ? await createTestDatabase(pgAdminUrl) : null;
    if (db) cleanups.push(() => db.drop());
    const s3 = blobsUnderTest === 's3' ? await startS3Server() : null;
    if (s3) cleanups.push(() => s3.close());
    const env = {
      WEIR_DATA_DIR: dataDir,
      WEIR_RATE_LIMIT_IP: 'off',
      WEIR_RATE_LIMIT_USER: 'off',
      ...(db ? { WEIR_DATABASE_URL: db.url } : {}),
      ...s3?.env,
    };
    let server = await startServerProcess(env, { detached: true });
    cleanups.push(() => kill(server));
    const api = () => `${server.url}/api/v1`;
    const created = await fetch(`${api()}/connectors`, {
      method: 'POST',
      headers: { ...server.auth, 'content-type': 'application/json' },
      body: JSON.stringify({
        name: 'meters',
        type: 'push',
        config: { keyField: 'id' },
        fields: [
          { name: 'id', type: 'bigint' },
          { name: 'reading', type: 'double' },
        ],
        // Small segments and frequent compactions: the kills land in the middle of both.
        live: { flushMs: 50, flushRows: 300, maxSegments: 4, compactRows: 2000 },
      }),
    });
    expect(created.status, await created.clone().text()).toBe(201);
    const { connector, pushKey } = (await created.json()) as { connector: Connector; pushKey: string };

    const acknowledged = new Set<number>();
    let next = 0;
    /** Pushes batches until `until` says stop; a push the kill interrupts is simply not acknowledged. */
    async function pushUntil(until: () => boolean): Promise<void> {
      while (!until()) {
        const ids = Array.from({ length: 100 }, () => next++);
        try {
          const res = await fetch(`${api()}/connectors/${connector.id}/records`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${pushKey}` },
            body: JSON.stringify(ids.map((id) => ({ id, reading: id / 10 }))),
          });
          const body = (await res.json()) as { accepted: number; duplicates: number };
          if (res.status === 200 && body.accepted + body.duplicates === ids.length)
            for (const id of ids) acknowledged.add(id);
          // Back-pressure: pushes wait for the flushes to keep up, so the dataset (which every compaction rewrites)
          // stays small and compactions come every few seconds even against the S3 driver.
          await eventually(pending, (n) => n < 600, 30_000);
        } catch {
          return;
        }
      }
    }
    /** Records the server holds in its append log, not yet in a segment. */
    async function pending(): Promise<number> {
      const res = await fetch(`${api()}/connectors/${connector.id}`, { headers: server.auth });
      return ((await res.json()) as Connector).health.pendingRecords;
    }

    const compactions = () => server.output().split('live dataset compacted').length - 1;
    for (let round = 0; round < 2; round++) {
      // Push until a few compactions happened in this process, then kill with a push in flight.
      const target = acknowledged.size + 3000;
      const done = () => acknowledged.size >= target && compactions() >= 3;
      const pushing = pushUntil(done);
      await eventually(
        () => Promise.resolve(done()),
        (d) => d,
        90_000,
      );
      await kill(server);
      await pushing;
      expect(compactions()).toBeGreaterThanOrEqual(3);
      server = await startServerProcess(env, { detached: true });
    }

    // After the restart the records of the killed process are flushed (once its lease runs out).
    const count = () => rowsAndIds(server, connector.datasetId);
    await eventually(pending, (n) => n === 0, 60_000);
    const [rows, ids] = await count();
    expect(rows).toBe(ids);
    expect(rows).toBeGreaterThanOrEqual(acknowledged.size);
    expect(rows).toBeLessThanOrEqual(next);
    // Every acknowledged id is there: counted with a filter that leaves out the batches in flight at the kills.
    const unacknowledged = Array.from({ length: next }, (_, i) => i).filter((i) => !acknowledged.has(i));
    expect(unacknowledged.length).toBeLessThanOrEqual(100 * 2);
    const gaps = [...new Set(unacknowledged.map((i) => Math.floor(i / 100) * 100))];
    const filter = ['id >= 0', ...gaps.map((g) => `(id < ${g} or id >= ${g + 100})`)].join(' and ');
    const stored = await fetch(`${api()}/datasets/${connector.datasetId}/query`, {
      method: 'POST',
      headers: { ...server.auth, 'content-type': 'application/json' },
      body: JSON.stringify({ aggregations: [{ function: 'count', as: 'n' }], filter }),
    });
    expect(stored.status, await stored.clone().text()).toBe(200);
    expect(Number(((await stored.json()) as { rows: unknown[][] }).rows[0]![0])).toBe(acknowledged.size);
  });

  it.skipIf(!haveBroker)(
    'loses no MQTT QoS 1 message published while Weir was down (persistent session)',
    { timeout: 120_000 },
    async () => {
      const dataDir = await mkdtemp(path.join(tmpdir(), 'weir-mqttkill-'));
      cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
      const db = pgAdminUrl ? await createTestDatabase(pgAdminUrl) : null;
      if (db) cleanups.push(() => db.drop());
      const env = {
        WEIR_DATA_DIR: dataDir,
        WEIR_CONNECTORS_ALLOW_PRIVATE: 'true',
        ...(db ? { WEIR_DATABASE_URL: db.url } : {}),
      };
      let server = await startServerProcess(env, { detached: true });
      cleanups.push(() => kill(server));
      const api = () => `${server.url}/api/v1`;
      const topic = `weir-test-${randomBytes(6).toString('hex')}/meter`;
      const created = await fetch(`${api()}/connectors`, {
        method: 'POST',
        headers: { ...server.auth, 'content-type': 'application/json' },
        body: JSON.stringify({
          name: 'meter',
          type: 'mqtt',
          config: { url: MQTT_URL, topics: [topic], qos: 1, payload: 'auto', keyField: 'id' },
          fields: [
            { name: 'id', type: 'bigint' },
            { name: 'kwh', type: 'double' },
          ],
          live: { flushMs: 100 },
        }),
      });
      expect(created.status, await created.clone().text()).toBe(201);
      const { connector } = (await created.json()) as { connector: Connector };
      const state = async () =>
        (await (await fetch(`${api()}/connectors/${connector.id}`, { headers: server.auth })).json()) as Connector;
      await eventually(state, (c) => c.health.stream === 'connected', 30_000);

      const publisher = await mqtt.connectAsync(MQTT_URL, { protocolVersion: 5 });
      cleanups.push(() => publisher.endAsync());
      // While Weir runs, and while it is dead: the broker keeps the session's messages for it.
      for (let i = 0; i < 100; i++) await publisher.publishAsync(topic, JSON.stringify({ id: i, kwh: i }), { qos: 1 });
      await kill(server);
      for (let i = 100; i < 600; i++) await publisher.publishAsync(topic, `id=${i} kwh=${i}`, { qos: 1 });
      await publisher.publishAsync(topic, Buffer.from([0xff, 0x00, 0xfe]), { qos: 1 });
      server = await startServerProcess(env, { detached: true });

      const count = () => rowsAndIds(server, connector.datasetId);
      const counted = await eventually(count, ([rows]) => rows! >= 600, 60_000);
      expect(counted).toEqual([600, 600]);
      // The payload that is no record is counted in the sync history, with a sample.
      const history = await eventually(
        async () =>
          (await (await fetch(`${api()}/connectors/${connector.id}/syncs`, { headers: server.auth })).json()) as {
            items: { trigger: string; rejected: number }[];
          },
        (h) => h.items.some((s) => s.trigger === 'stream' && s.rejected > 0),
        10_000,
      );
      expect(history.items.filter((s) => s.trigger === 'stream').reduce((n, s) => n + s.rejected, 0)).toBe(1);
    },
  );
});
