import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { RateLimiterRedis } from 'rate-limiter-flexible';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createSourceLimiter, SourceGuard } from '../src/connectors/safety.js';
import { SourceError } from '../src/connectors/source-error.js';
import { FakeThingSpeak } from './helpers/fake-thingspeak.js';
import { REDIS_URL as DEFAULT_REDIS_URL, redisAvailable } from './helpers/realtime.js';

/**
 * Two Weir nodes polling one connector share its rate limit through Redis: each node has its own Redis client and
 * its own SourceGuard, and together they never send the source more than the limit per window.
 */

const REDIS_URL = process.env.WEIR_TEST_REDIS_URL ?? DEFAULT_REDIS_URL;
const haveRedis = await redisAvailable();

let nodeA: Redis;
let nodeB: Redis;
let fake: FakeThingSpeak;
let keyPrefix: string;
const guards: SourceGuard[] = [];

beforeAll(async () => {
  if (!haveRedis) return;
  nodeA = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  nodeB = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await Promise.all([nodeA.connect(), nodeB.connect()]);
  } catch (error) {
    throw new Error(`these tests need Redis at ${REDIS_URL} (set WEIR_TEST_REDIS_URL): ${(error as Error).message}`);
  }
});

afterAll(async () => {
  if (!haveRedis) return;
  await Promise.all([nodeA.quit(), nodeB.quit()]);
});

beforeEach(async () => {
  fake = await FakeThingSpeak.start();
  fake.route('/feed', () => ({ body: { ok: true } }));
  keyPrefix = `weir-test:connectors-rl:${randomUUID()}`;
});

afterEach(async () => {
  for (const guard of guards.splice(0)) guard.dispose();
  await fake.close();
  const keys = await nodeA.keys(`${keyPrefix}*`);
  if (keys.length > 0) await nodeA.del(...keys);
});

function node(limiter: ConstructorParameters<typeof SourceGuard>[0]['limiter'], maxWaitMs = 0): SourceGuard {
  const guard = new SourceGuard({
    connectorId: 'shared-connector',
    network: { allowPrivate: true },
    limiter,
    maxRateLimitWaitMs: maxWaitMs,
    retries: 0,
  });
  guards.push(guard);
  return guard;
}

describe.skipIf(!haveRedis)('a connector rate limit shared by two nodes through Redis', () => {
  it('lets exactly the limit through per window, whichever node asks', async () => {
    const limit = 5;
    const a = node(createSourceLimiter({ redis: nodeA, keyPrefix, requestsPerMinute: limit }));
    const b = node(createSourceLimiter({ redis: nodeB, keyPrefix, requestsPerMinute: limit }));
    const outcomes = await Promise.allSettled(
      Array.from({ length: 24 }, (_, i) => (i % 2 === 0 ? a : b).fetch({ url: `${fake.url}/feed` })),
    );
    const passed = outcomes.filter((o) => o.status === 'fulfilled').length;
    const refused = outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason as unknown] : []));
    expect(fake.count('/feed')).toBe(limit);
    expect(passed).toBe(limit);
    expect(refused).toHaveLength(24 - limit);
    for (const reason of refused) {
      expect(reason).toBeInstanceOf(SourceError);
      expect((reason as SourceError).kind).toBe('rate_limited');
    }
    expect(await a.rateLimitUse()).toEqual({ used: limit, limit });
    expect(await b.rateLimitUse()).toEqual({ used: limit, limit });
  });

  it('nodes that wait for tokens still never exceed the limit in a window together', async () => {
    // One-second windows of 3 requests so the test sees several windows; the budget is per connector key.
    const limiter = (redis: Redis): RateLimiterRedis =>
      new RateLimiterRedis({ storeClient: redis, keyPrefix, points: 3, duration: 1 });
    const a = node(limiter(nodeA), 5000);
    const b = node(limiter(nodeB), 5000);
    const started = Date.now();
    const results = await Promise.all(
      Array.from({ length: 9 }, (_, i) => (i % 2 === 0 ? a : b).fetch({ url: `${fake.url}/feed` })),
    );
    expect(results).toHaveLength(9);
    expect(fake.count('/feed')).toBe(9);
    // Nine requests at three per second need three windows: at least two window ends were waited for.
    expect(Date.now() - started).toBeGreaterThanOrEqual(1900);
    const first = fake.requests[0]!.atMs;
    expect(fake.requests.filter((r) => r.atMs - first < 900).length).toBeLessThanOrEqual(3);
  });
});
