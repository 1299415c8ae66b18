import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RedisEventBus } from '../src/bus/redis.js';
import type { BusEvent, Topic } from '../src/bus/types.js';
import type { Log } from '../src/logger.js';
import { REDIS_URL, redisAvailable, until } from './helpers/realtime.js';

const haveRedis = await redisAvailable();

const warnings: unknown[] = [];
const log: Log = {
  info: () => {},
  debug: () => {},
  warn: (...a: unknown[]) => void warnings.push(a),
  error: (...a: unknown[]) => void warnings.push(a),
} as unknown as Log;

describe.skipIf(!haveRedis)('Redis event bus', () => {
  let admin: Redis;
  const buses: RedisEventBus[] = [];
  let prefix: string;
  let name: string;
  const bus = () => {
    const b = new RedisEventBus(REDIS_URL, log, { channelPrefix: prefix, connectionName: `${name}-${buses.length}` });
    buses.push(b);
    return b;
  };
  const channels = async () => (await admin.pubsub('CHANNELS', `${prefix}*`)) as string[];
  const collect = (b: RedisEventBus, topic: Topic) => {
    const got: BusEvent[] = [];
    const off = b.subscribe(topic, (e) => got.push(e));
    return { got, off };
  };

  beforeAll(() => {
    admin = new Redis(REDIS_URL);
  });
  afterEach(async () => {
    await Promise.all(buses.splice(0).map((b) => b.close()));
  });
  afterAll(() => {
    admin?.disconnect();
  });
  // Random channel prefix per test: parallel runs on one Redis never see each other's events.
  const fresh = () => {
    prefix = `weir-test-${randomBytes(6).toString('hex')}:`;
    name = `weir-test-${randomBytes(4).toString('hex')}`;
  };

  it('delivers events between two processes (two bus instances), in order, to every local listener', async () => {
    fresh();
    const [a, b] = [bus(), bus()];
    const topic: Topic = 'job:job_A';
    const first = collect(a, topic);
    const second = collect(a, topic);
    const own = collect(b, topic);
    await Promise.all([a.whenSubscribed(topic), b.whenSubscribed(topic)]);

    await b.publish(topic, 'job.progress', { progress: 1 });
    await b.publish(topic, 'job.progress', { progress: 2 });
    await a.publish(topic, 'job.state', { status: 'succeeded' });
    await until(() => first.got.length === 3 && own.got.length === 3, 'three events everywhere');
    expect(first.got.map((e) => [e.type, e.data])).toEqual([
      ['job.progress', { progress: 1 }],
      ['job.progress', { progress: 2 }],
      ['job.state', { status: 'succeeded' }],
    ]);
    expect(second.got).toEqual(first.got);
    expect(own.got).toEqual(first.got);
    expect(first.got[0]).toEqual({
      topic,
      type: 'job.progress',
      data: { progress: 1 },
      ts: expect.stringMatching(/Z$/),
    });
  });

  it('holds one Redis subscription per topic while it has listeners, and none after', async () => {
    fresh();
    const a = bus();
    const x = collect(a, 'job:job_X');
    const y = collect(a, 'job:job_X');
    const z = collect(a, 'dataset:ds_Z');
    await Promise.all([a.whenSubscribed('job:job_X'), a.whenSubscribed('dataset:ds_Z')]);
    expect((await channels()).sort()).toEqual([`${prefix}dataset:ds_Z`, `${prefix}job:job_X`]);
    expect(await admin.pubsub('NUMSUB', `${prefix}job:job_X`)).toEqual([`${prefix}job:job_X`, 1]);

    x.off();
    x.off(); // idempotent: must not release y's share
    await new Promise((r) => setTimeout(r, 100));
    expect(await channels()).toContain(`${prefix}job:job_X`);
    y.off();
    z.off();
    await until(async () => (await channels()).length === 0, 'every channel released');
    expect(a.activeTopics()).toEqual([]);
  });

  it('stops delivering to a listener after it unsubscribes', async () => {
    fresh();
    const [a, b] = [bus(), bus()];
    const watched = collect(a, 'job:job_U');
    const sentinel = collect(a, 'job:job_S');
    await Promise.all([a.whenSubscribed('job:job_U'), a.whenSubscribed('job:job_S')]);
    await b.publish('job:job_U', 'job.progress', { n: 1 });
    await until(() => watched.got.length === 1, 'the first event');
    watched.off();
    await b.publish('job:job_U', 'job.progress', { n: 2 });
    // Published after, on the same connection: once it arrives, the unsubscribed event would have too.
    await b.publish('job:job_S', 'job.progress', { n: 3 });
    await until(() => sentinel.got.length === 1, 'the sentinel');
    expect(watched.got).toHaveLength(1);
  });

  it('re-subscribes after its subscriber connection is killed', async () => {
    fresh();
    const [a, b] = [bus(), bus()];
    const topic: Topic = 'job:job_R';
    const got = collect(a, topic).got;
    await a.whenSubscribed(topic);
    const clients = (await admin.client('LIST')) as string;
    const line = clients.split('\n').find((l) => l.includes(` name=${name}-0:sub `));
    expect(line).toBeDefined();
    const id = /\bid=(\d+)/.exec(line!)![1]!;
    expect(await admin.client('KILL', 'ID', id)).toBe(1);

    // Events published while it reconnects are lost (documented); keep publishing until one arrives.
    let n = 0;
    await until(
      async () => {
        await b.publish(topic, 'job.progress', { n: n++ });
        return got.length > 0;
      },
      'delivery after the reconnect',
      10_000,
    );
    expect(await admin.pubsub('NUMSUB', `${prefix}${topic}`)).toEqual([`${prefix}${topic}`, 1]);
  });

  it('ignores malformed messages on its channels and keeps delivering', async () => {
    fresh();
    const a = bus();
    const topic: Topic = 'job:job_M';
    const got = collect(a, topic).got;
    await a.whenSubscribed(topic);
    await admin.publish(`${prefix}${topic}`, 'not json');
    await admin.publish(`${prefix}${topic}`, JSON.stringify({ data: 1 }));
    await admin.publish(
      `${prefix}${topic}`,
      JSON.stringify({ type: 'job.progress', data: { ok: true }, ts: '2026-11-22T00:00:00.000Z' }),
    );
    await until(() => got.length === 1, 'the valid event');
    expect(got[0]).toEqual({ topic, type: 'job.progress', data: { ok: true }, ts: '2026-11-22T00:00:00.000Z' });
  });

  it('never rejects a publish when Redis is unreachable (events are notifications, the database holds the state)', async () => {
    fresh();
    const down = new RedisEventBus('redis://127.0.0.1:1', log, { channelPrefix: prefix });
    buses.push(down);
    await expect(down.publish('job:job_D', 'job.progress', {})).resolves.toBeUndefined();
    expect(warnings.some((w) => (w as unknown[])[1] === 'event bus: event dropped, Redis did not take it')).toBe(true);
  });
});
