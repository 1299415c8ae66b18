import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REDIS_URL, redisAvailable } from '../../test/helpers/realtime.js';
import type { LoginLockoutConfig, RateLimitsConfig } from '../config.js';
import {
  LoginLockout,
  createRateLimiter,
  createRateLimiters,
  rateLimitHeaders,
  type RateLimitDecision,
} from './rate-limit.js';

const clients: Redis[] = [];
/**
 * A connected client. It must be 'ready' before use: the limiters send requests to their in-memory insurance
 * limiter while the client is not, which would make a Redis test silently pass on memory.
 */
async function redisClient(): Promise<Redis> {
  const client = new Redis(REDIS_URL, { maxRetriesPerRequest: 1, lazyConnect: true });
  clients.push(client);
  await client.connect();
  return client;
}

// Throws instead of answering false when WEIR_TEST_REQUIRE_REDIS=1 (CI).
const redisUp = await redisAvailable();

const prefixes: string[] = [];
function newPrefix(): string {
  const prefix = `weir-test-${randomUUID()}`;
  prefixes.push(prefix);
  return prefix;
}

afterAll(async () => {
  if (redisUp && prefixes.length > 0) {
    const admin = await redisClient();
    for (const prefix of prefixes) {
      const keys = await admin.keys(`${prefix}:*`);
      if (keys.length > 0) await admin.del(...keys);
    }
  }
  await Promise.all(clients.map((c) => c.quit().catch(() => undefined)));
});

async function pollUntil<T>(what: string, fn: () => Promise<T>, ok: (v: T) => boolean, deadlineMs = 5000): Promise<T> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const v = await fn();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last value ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const stores = [
  { name: 'memory', redis: (): Promise<Redis | null> => Promise.resolve(null), skip: false },
  { name: 'redis', redis: (): Promise<Redis | null> => redisClient(), skip: !redisUp },
];

describe.each(stores)('rate limiter ($name store)', ({ redis, skip }) => {
  it.skipIf(skip)('counts down, then refuses with the time left in the window', async () => {
    const client = await redis();
    const prefix = newPrefix();
    const limiter = createRateLimiter('user', { points: 3, windowSeconds: 10 }, client, prefix);
    const decisions: RateLimitDecision[] = [];
    for (let i = 0; i < 4; i++) decisions.push(await limiter.consume('usr_1'));
    expect(decisions.map((d) => [d.allowed, d.remaining, d.limit])).toEqual([
      [true, 2, 3],
      [true, 1, 3],
      [true, 0, 3],
      [false, 0, 3],
    ]);
    for (const d of decisions.slice(0, 3)) {
      expect(d.resetSeconds).toBeGreaterThanOrEqual(9);
      expect(d.resetSeconds).toBeLessThanOrEqual(10);
      expect(d.retryAfterSeconds).toBe(0);
    }
    const denied = decisions[3]!;
    expect(denied.retryAfterSeconds).toBeGreaterThanOrEqual(9);
    expect(denied.retryAfterSeconds).toBeLessThanOrEqual(10);
    expect(denied.resetSeconds).toBe(denied.retryAfterSeconds);
    expect(denied.windowSeconds).toBe(10);
    // Other keys have their own budget.
    expect(await limiter.consume('usr_2')).toMatchObject({ allowed: true, remaining: 2 });
    // The Redis store really counted in Redis (not in its in-memory insurance limiter).
    if (client !== null) expect(await client.get(`${prefix}:rl:user:usr_1`)).toBe('4');
  });

  it.skipIf(skip)('allows again once the window has passed', async () => {
    const limiter = createRateLimiter('ip', { points: 1, windowSeconds: 1 }, await redis(), newPrefix());
    const started = Date.now();
    expect((await limiter.consume('198.51.100.1')).allowed).toBe(true);
    const denied = await limiter.consume('198.51.100.1');
    expect(denied).toMatchObject({ allowed: false, remaining: 0, retryAfterSeconds: 1 });
    const again = await pollUntil(
      'the window to reset',
      () => limiter.consume('198.51.100.1'),
      (d) => d.allowed,
      3000,
    );
    expect(again).toMatchObject({ allowed: true, remaining: 0, limit: 1 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  });

  it.skipIf(skip)('keeps the four budgets apart and leaves out the ones turned off', async () => {
    const config: RateLimitsConfig = {
      user: { points: 2, windowSeconds: 60 },
      apiKey: { points: 5, windowSeconds: 60 },
      ip: null,
      login: { points: 1, windowSeconds: 60 },
      lockout: { accountThreshold: 5, ipThreshold: 20, windowSeconds: 900, baseSeconds: 30, maxSeconds: 3600 },
    };
    const limiters = createRateLimiters(config, await redis(), newPrefix());
    expect(limiters.ip).toBeNull();
    await limiters.user!.consume('same');
    await limiters.user!.consume('same');
    expect((await limiters.user!.consume('same')).allowed).toBe(false);
    expect(await limiters.apiKey!.consume('same')).toMatchObject({ allowed: true, remaining: 4, limit: 5 });
    expect(await limiters.login!.consume('same')).toMatchObject({ allowed: true, remaining: 0, limit: 1 });
  });
});

describe.skipIf(!redisUp)('rate limiter across nodes (redis)', () => {
  it('two limiters on one prefix share counts, as two API nodes would', async () => {
    const prefix = newPrefix();
    const nodeA = createRateLimiter('user', { points: 4, windowSeconds: 30 }, await redisClient(), prefix);
    const nodeB = createRateLimiter('user', { points: 4, windowSeconds: 30 }, await redisClient(), prefix);
    expect((await nodeA.consume('usr_x')).remaining).toBe(3);
    expect((await nodeB.consume('usr_x')).remaining).toBe(2);
    expect((await nodeA.consume('usr_x')).remaining).toBe(1);
    expect((await nodeB.consume('usr_x')).remaining).toBe(0);
    expect((await nodeA.consume('usr_x')).allowed).toBe(false);
    expect((await nodeB.consume('usr_x')).allowed).toBe(false);
    // Another deployment (prefix) on the same Redis is unaffected.
    const other = createRateLimiter('user', { points: 4, windowSeconds: 30 }, await redisClient(), newPrefix());
    expect((await other.consume('usr_x')).remaining).toBe(3);
  });

  it('falls back to limiting in memory while Redis is unreachable', async () => {
    const down = new Redis('redis://127.0.0.1:1', {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      enableOfflineQueue: false,
    });
    down.on('error', () => undefined);
    clients.push(down);
    const limiter = createRateLimiter('user', { points: 2, windowSeconds: 30 }, down, newPrefix());
    const results = [await limiter.consume('k'), await limiter.consume('k'), await limiter.consume('k')];
    expect(results.map((d) => d.allowed)).toEqual([true, true, false]);
  });
});

describe('rateLimitHeaders', () => {
  it('describes an allowed request without Retry-After', () => {
    expect(
      rateLimitHeaders({
        allowed: true,
        limit: 100,
        remaining: 42,
        resetSeconds: 17,
        retryAfterSeconds: 0,
        windowSeconds: 60,
      }),
    ).toEqual({
      'RateLimit-Limit': '100',
      'RateLimit-Remaining': '42',
      'RateLimit-Reset': '17',
      'RateLimit-Policy': '100;w=60',
    });
  });

  it('adds Retry-After to a refusal', () => {
    expect(
      rateLimitHeaders({
        allowed: false,
        limit: 10,
        remaining: 0,
        resetSeconds: 5,
        retryAfterSeconds: 5,
        windowSeconds: 60,
      }),
    ).toEqual({
      'RateLimit-Limit': '10',
      'RateLimit-Remaining': '0',
      'RateLimit-Reset': '5',
      'RateLimit-Policy': '10;w=60',
      'Retry-After': '5',
    });
  });
});

const LOCKOUT: LoginLockoutConfig = {
  accountThreshold: 3,
  ipThreshold: 5,
  windowSeconds: 60,
  baseSeconds: 30,
  maxSeconds: 100,
};

/** A clock the test moves; realistic epoch milliseconds so the Lua arithmetic sees real magnitudes. */
function fakeClock(): { now: () => number; advance: (seconds: number) => void } {
  let t = Date.UTC(2026, 0, 1);
  return {
    now: () => t,
    advance: (seconds) => {
      t += seconds * 1000;
    },
  };
}

describe.each(stores)('login lockout ($name store)', ({ redis, skip }) => {
  async function lockout(config: LoginLockoutConfig = LOCKOUT, prefix = newPrefix()) {
    const clock = fakeClock();
    return { lock: new LoginLockout(config, await redis(), prefix, { now: clock.now }), clock };
  }
  const fail = async (lock: LoginLockout, times: number, email: string, ip: string) => {
    let last = { locked: false, retryAfterSeconds: 0 };
    for (let i = 0; i < times; i++) last = await lock.recordFailure(email, ip);
    return last;
  };

  it.skipIf(skip)(
    'locks an account at the threshold for the address that failed, for base seconds, and unlocks by itself',
    async () => {
      const { lock, clock } = await lockout();
      expect(await fail(lock, 2, 'ann@example.com', '192.0.2.1')).toEqual({ locked: false, retryAfterSeconds: 0 });
      expect(await lock.check('ann@example.com', '192.0.2.1')).toEqual({ locked: false, retryAfterSeconds: 0 });
      expect(await lock.recordFailure('ann@example.com', '192.0.2.1')).toEqual({ locked: true, retryAfterSeconds: 30 });
      // The account is locked for the address that failed, however the email is spelled; an address without failures
      // against it is not (a stranger's guesses must not lock the owner out), nor are other accounts from that address.
      expect(await lock.check('ANN@example.com ', '192.0.2.1')).toEqual({ locked: true, retryAfterSeconds: 30 });
      expect(await lock.check('ann@example.com', '198.51.100.9')).toEqual({ locked: false, retryAfterSeconds: 0 });
      expect(await lock.check('bob@example.com', '192.0.2.1')).toEqual({ locked: false, retryAfterSeconds: 0 });
      clock.advance(10.5);
      expect(await lock.check('ann@example.com', '192.0.2.1')).toEqual({ locked: true, retryAfterSeconds: 20 });
      clock.advance(19.5);
      expect(await lock.check('ann@example.com', '192.0.2.1')).toEqual({ locked: false, retryAfterSeconds: 0 });
    },
  );

  it.skipIf(skip)('doubles each further lock up to the maximum', async () => {
    const { lock, clock } = await lockout();
    const durations: number[] = [];
    for (let round = 0; round < 4; round++) {
      const status = await fail(lock, 3, 'ann@example.com', `192.0.2.${round + 1}`);
      durations.push(status.retryAfterSeconds);
      clock.advance(status.retryAfterSeconds);
      expect(await lock.check('ann@example.com', '192.0.2.1')).toEqual({ locked: false, retryAfterSeconds: 0 });
    }
    expect(durations).toEqual([30, 60, 100, 100]);
  });

  it.skipIf(skip)('ignores failures while locked and forgets failures older than the window', async () => {
    const { lock, clock } = await lockout();
    await fail(lock, 3, 'ann@example.com', '192.0.2.1');
    expect(await fail(lock, 5, 'ann@example.com', '192.0.2.1')).toEqual({ locked: true, retryAfterSeconds: 30 });
    clock.advance(30);
    // The failures during the lock did not count towards the next one.
    expect(await fail(lock, 2, 'ann@example.com', '192.0.2.1')).toEqual({ locked: false, retryAfterSeconds: 0 });
    clock.advance(61);
    expect(await fail(lock, 2, 'ann@example.com', '192.0.2.1')).toEqual({ locked: false, retryAfterSeconds: 0 });
    expect(await lock.recordFailure('ann@example.com', '192.0.2.1')).toEqual({ locked: true, retryAfterSeconds: 60 });
  });

  it.skipIf(skip)(
    "a success clears that address's record against the account, history included, but not the account's nor the IP's",
    async () => {
      const { lock, clock } = await lockout();
      expect(await fail(lock, 3, 'ann@example.com', '192.0.2.1')).toEqual({ locked: true, retryAfterSeconds: 30 });
      clock.advance(30);
      await lock.recordSuccess('Ann@Example.com', '192.0.2.1');
      // The account's history stands (others may still be guessing): its second lock lasts 60 s.
      expect(await fail(lock, 3, 'ann@example.com', '192.0.2.2')).toEqual({ locked: true, retryAfterSeconds: 60 });
      // 192.0.2.1's lock history went with the success, so the account's lock does not hold it.
      expect(await lock.check('ann@example.com', '192.0.2.1')).toEqual({ locked: false, retryAfterSeconds: 0 });
      // 192.0.2.1 kept its 3 failures through the success: 2 more (any accounts) reach its threshold of 5.
      expect(await lock.recordFailure('x@example.com', '192.0.2.1')).toEqual({ locked: false, retryAfterSeconds: 0 });
      expect(await lock.recordFailure('y@example.com', '192.0.2.1')).toEqual({ locked: true, retryAfterSeconds: 30 });
      expect(await lock.check('someone-else@example.com', '192.0.2.1')).toEqual({
        locked: true,
        retryAfterSeconds: 30,
      });
    },
  );

  it.skipIf(skip)('locks an IP that fails across many accounts, IPv6 per /64', async () => {
    const { lock } = await lockout();
    for (let i = 0; i < 4; i++)
      expect((await lock.recordFailure(`user${i}@example.com`, `2001:db8:0:1::${i + 1}`)).locked).toBe(false);
    expect(await lock.recordFailure('user4@example.com', '2001:db8:0:1:ffff::9')).toEqual({
      locked: true,
      retryAfterSeconds: 30,
    });
    expect(await lock.check('new@example.com', '2001:db8:0:1::77')).toEqual({ locked: true, retryAfterSeconds: 30 });
    expect(await lock.check('new@example.com', '2001:db8:0:2::1')).toEqual({ locked: false, retryAfterSeconds: 0 });
    expect(await lock.check('user0@example.com', '203.0.113.1')).toEqual({ locked: false, retryAfterSeconds: 0 });
  });

  it.skipIf(skip)('never locks what is turned off', async () => {
    const { lock } = await lockout({ ...LOCKOUT, accountThreshold: null, ipThreshold: null });
    expect(await fail(lock, 50, 'ann@example.com', '192.0.2.1')).toEqual({ locked: false, retryAfterSeconds: 0 });
    expect(await lock.check('ann@example.com', '192.0.2.1')).toEqual({ locked: false, retryAfterSeconds: 0 });
    const accountsOnly = (await lockout({ ...LOCKOUT, ipThreshold: null })).lock;
    for (let i = 0; i < 10; i++) await accountsOnly.recordFailure(`u${i}@example.com`, '192.0.2.1');
    expect(await accountsOnly.check('fresh@example.com', '192.0.2.1')).toEqual({ locked: false, retryAfterSeconds: 0 });
  });

  it.skipIf(skip)('ends a lock on the real clock', async () => {
    const lock = new LoginLockout({ ...LOCKOUT, accountThreshold: 1, baseSeconds: 1 }, await redis(), newPrefix());
    expect(await lock.recordFailure('ann@example.com', '192.0.2.1')).toEqual({ locked: true, retryAfterSeconds: 1 });
    await pollUntil(
      'the lock to end',
      () => lock.check('ann@example.com', '192.0.2.1'),
      (s) => !s.locked,
      3000,
    );
  });
});

describe('login lockout history (memory store)', () => {
  it('forgets the lock count after a quiet history period', async () => {
    const clock = fakeClock();
    const lock = new LoginLockout(LOCKOUT, null, newPrefix(), { now: clock.now, historySeconds: 600 });
    expect((await lock.recordFailure('a@example.com', '192.0.2.1')).locked).toBe(false);
    await lock.recordFailure('a@example.com', '192.0.2.1');
    expect((await lock.recordFailure('a@example.com', '192.0.2.1')).retryAfterSeconds).toBe(30);
    clock.advance(601);
    await lock.recordFailure('a@example.com', '192.0.2.1');
    await lock.recordFailure('a@example.com', '192.0.2.1');
    expect((await lock.recordFailure('a@example.com', '192.0.2.1')).retryAfterSeconds).toBe(30);
  });
});

describe.skipIf(!redisUp)('login lockout across nodes (redis)', () => {
  let admin: Redis;
  beforeAll(async () => {
    admin = await redisClient();
  });

  it('shares state between nodes, keeps no email in key names and expires its keys', async () => {
    const prefix = newPrefix();
    const clock = fakeClock();
    const nodeA = new LoginLockout(LOCKOUT, await redisClient(), prefix, { now: clock.now });
    const nodeB = new LoginLockout(LOCKOUT, await redisClient(), prefix, { now: clock.now });
    await nodeA.recordFailure('ann@example.com', '192.0.2.1');
    await nodeB.recordFailure('ann@example.com', '192.0.2.2');
    expect(await nodeA.recordFailure('ann@example.com', '192.0.2.3')).toEqual({ locked: true, retryAfterSeconds: 30 });
    expect(await nodeB.check('ann@example.com', '192.0.2.1')).toEqual({ locked: true, retryAfterSeconds: 30 });
    expect(await nodeB.check('ann@example.com', '192.0.2.9')).toEqual({ locked: false, retryAfterSeconds: 0 });

    // One account key, one key per account and address, one per address.
    const keys = (await admin.keys(`${prefix}:*`)).sort();
    expect(keys).toHaveLength(7);
    expect(keys.join(' ')).not.toContain('ann');
    expect(keys.filter((k) => k.startsWith(`${prefix}:lockout:ip:`)).sort()).toEqual(
      ['192.0.2.1', '192.0.2.2', '192.0.2.3'].map((ip) => `${prefix}:lockout:ip:${ip}`),
    );
    for (const key of keys) {
      const ttl = await admin.pttl(key);
      expect(ttl).toBeGreaterThan(86_000_000);
      expect(ttl).toBeLessThanOrEqual(86_400_000);
    }
  });

  it('loads its scripts when Redis answers NOSCRIPT (first use, restart, SCRIPT FLUSH)', async () => {
    // A client whose script cache is always empty, without flushing the Redis that other tests share.
    const calls: string[] = [];
    const forgetful = {
      evalsha: (...args: unknown[]) => {
        calls.push('evalsha');
        return Promise.reject(new Error(`NOSCRIPT No matching script. ${args.length}`));
      },
      eval: (script: string, numKeys: number, ...rest: (string | number)[]) => {
        calls.push('eval');
        return admin.eval(script, numKeys, ...rest);
      },
    } as unknown as Redis;
    const lock = new LoginLockout(LOCKOUT, forgetful, newPrefix());
    await lock.recordFailure('ann@example.com', '192.0.2.1');
    await lock.recordFailure('ann@example.com', '192.0.2.1');
    expect(await lock.recordFailure('ann@example.com', '192.0.2.1')).toEqual({ locked: true, retryAfterSeconds: 30 });
    expect(await lock.check('ann@example.com', '192.0.2.1')).toEqual({ locked: true, retryAfterSeconds: 30 });
    expect(calls).toEqual(Array(4).fill(['evalsha', 'eval']).flat());
  });
});
