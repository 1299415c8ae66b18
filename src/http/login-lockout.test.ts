import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { Writable } from 'node:stream';
import { Redis, type RedisOptions } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { redisAvailable } from '../../test/helpers/realtime.js';
import type { LoginLockoutConfig } from '../config.js';
import { createLogger } from '../logger.js';
import { LoginLockout } from './login-lockout.js';

// The lockout's state machine is tested on both stores in rate-limit.test.ts; this file covers whom a lock holds
// (the address that failed, never the owner elsewhere), the in-process store's size cap and the fallback to it
// while Redis fails.

const ACCOUNTS_ONLY: LoginLockoutConfig = {
  accountThreshold: 1,
  ipThreshold: null,
  windowSeconds: 60,
  baseSeconds: 30,
  maxSeconds: 100,
};
const LOCKOUT: LoginLockoutConfig = {
  accountThreshold: 3,
  ipThreshold: 5,
  windowSeconds: 60,
  baseSeconds: 30,
  maxSeconds: 100,
};
const UNLOCKED = { locked: false, retryAfterSeconds: 0 };

function fakeClock(): { now: () => number; advance: (seconds: number) => void } {
  let t = Date.UTC(2026, 0, 1);
  return {
    now: () => t,
    advance: (seconds) => {
      t += seconds * 1000;
    },
  };
}

/** A logger whose lines the test reads back. */
function capturedLog() {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n'))
        if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { log: createLogger('warn', sink), warnings: () => lines.filter((l) => l.level === 'warn') };
}

const clients: Redis[] = [];
afterAll(() => {
  for (const c of clients) c.disconnect();
});

/** The client options of src/http/guards.ts, with short timeouts so an unreachable Redis fails fast. */
function redisClient(options: RedisOptions): Redis {
  const client = new Redis({
    maxRetriesPerRequest: 2,
    enableOfflineQueue: false,
    lazyConnect: true,
    connectTimeout: 200,
    retryStrategy: () => 100,
    ...options,
  });
  client.on('error', () => undefined);
  clients.push(client);
  return client;
}

/** A loopback port that was free a moment ago, so nothing answers on it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

const redisUp = await redisAvailable();

const stores = [
  { name: 'memory', redis: (): Promise<Redis | null> => Promise.resolve(null), skip: false },
  {
    name: 'redis',
    // Connected before use: while it is not, the lockout falls back to memory and the test would pass on that.
    redis: async (): Promise<Redis | null> => {
      const client = redisClient({ host: '127.0.0.1', port: 6379 });
      await client.connect();
      return client;
    },
    skip: !redisUp,
  },
];

describe.each(stores)('whom a login lockout holds ($name store)', ({ redis, skip }) => {
  const written: { client: Redis; prefix: string }[] = [];
  afterAll(async () => {
    for (const { client, prefix } of written) {
      const keys = await client.keys(`${prefix}:*`);
      if (keys.length > 0) await client.del(...keys);
    }
  });
  const lockout = async (config: LoginLockoutConfig = LOCKOUT) => {
    const clock = fakeClock();
    const client = await redis();
    const prefix = `weir-test-${randomUUID()}`;
    if (client) written.push({ client, prefix });
    return { lock: new LoginLockout(config, client, prefix, { now: clock.now }), clock };
  };
  const fail = async (lock: LoginLockout, times: number, email: string, ip: string) => {
    let last = UNLOCKED;
    for (let i = 0; i < times; i++) last = await lock.recordFailure(email, ip);
    return last;
  };

  it.skipIf(skip)("a stranger's failures from one address do not stop the owner from another", async () => {
    const { lock } = await lockout();
    expect(await fail(lock, 3, 'owner@example.com', '203.0.113.66')).toEqual({ locked: true, retryAfterSeconds: 30 });
    expect(await lock.check('owner@example.com', '203.0.113.66')).toEqual({ locked: true, retryAfterSeconds: 30 });
    expect(await lock.check('owner@example.com', '192.0.2.10')).toEqual(UNLOCKED);
    await lock.recordSuccess('owner@example.com', '192.0.2.10');
    // The owner's success does not release the stranger.
    expect(await lock.check('owner@example.com', '203.0.113.66')).toEqual({ locked: true, retryAfterSeconds: 30 });
  });

  it.skipIf(skip)(
    'slows an address that keeps failing against an account exponentially, up to the maximum',
    async () => {
      const { lock, clock } = await lockout();
      const waits: number[] = [];
      for (let round = 0; round < 4; round++) {
        const status = await fail(lock, 3, 'owner@example.com', '203.0.113.66');
        waits.push(status.retryAfterSeconds);
        // Guesses while locked are refused before the password is checked, and do not count.
        expect(await lock.check('owner@example.com', '203.0.113.66')).toEqual(status);
        clock.advance(status.retryAfterSeconds);
      }
      expect(waits).toEqual([30, 60, 100, 100]);
      expect(await lock.check('owner@example.com', '192.0.2.10')).toEqual(UNLOCKED);
    },
  );

  it.skipIf(skip)(
    'while an account is locked, every address with failures against it waits; a new address gets one guess',
    async () => {
      const { lock, clock } = await lockout();
      // A guesser spread over addresses: below the per-address threshold on each, the account locks all the same.
      expect(await lock.recordFailure('owner@example.com', '198.51.100.1')).toEqual(UNLOCKED);
      expect(await lock.recordFailure('owner@example.com', '198.51.100.2')).toEqual(UNLOCKED);
      expect(await lock.recordFailure('owner@example.com', '198.51.100.3')).toEqual({
        locked: true,
        retryAfterSeconds: 30,
      });
      for (const ip of ['198.51.100.1', '198.51.100.2'])
        expect(await lock.check('owner@example.com', ip)).toEqual({ locked: true, retryAfterSeconds: 30 });
      // A fresh address passes the check; its first wrong guess puts it on record, and it waits too.
      expect(await lock.check('owner@example.com', '198.51.100.4')).toEqual(UNLOCKED);
      expect(await lock.recordFailure('owner@example.com', '198.51.100.4')).toEqual({
        locked: true,
        retryAfterSeconds: 30,
      });
      clock.advance(30);
      expect(await lock.check('owner@example.com', '198.51.100.1')).toEqual(UNLOCKED);
    },
  );

  it.skipIf(skip)(
    "holds an address with only failures in its window no longer than that window, whatever the account's lock",
    async () => {
      const { lock, clock } = await lockout({ ...LOCKOUT, baseSeconds: 100, maxSeconds: 100 });
      // The owner mistypes once at home; a stranger then locks the account for 100 s.
      await lock.recordFailure('owner@example.com', '192.0.2.10');
      clock.advance(10);
      // The stranger's two failures are below the per-address threshold: held until its own window ends, in 60 s.
      expect(await fail(lock, 2, 'owner@example.com', '203.0.113.66')).toEqual({ locked: true, retryAfterSeconds: 60 });
      // The owner's failure is forgotten when its window ends, 50 s from now, though the account stays locked for 100 s.
      expect(await lock.check('owner@example.com', '192.0.2.10')).toEqual({ locked: true, retryAfterSeconds: 50 });
      clock.advance(50);
      expect(await lock.check('owner@example.com', '192.0.2.10')).toEqual(UNLOCKED);
      expect(await lock.check('owner@example.com', '203.0.113.66')).toEqual({ locked: true, retryAfterSeconds: 10 });
    },
  );
});

describe('login lockout in-process store size', () => {
  // Each failure below writes two keys: the account's, and the account's from that address.
  it('holds at most maxEntries keys, dropping the least recently written first', async () => {
    const clock = fakeClock();
    const lock = new LoginLockout(ACCOUNTS_ONLY, null, 'weir-test', { now: clock.now, maxEntries: 10 });
    for (let i = 1; i <= 5; i++) {
      expect((await lock.recordFailure(`u${i}@example.com`, '192.0.2.1')).locked).toBe(true);
      clock.advance(1);
    }
    for (let i = 1; i <= 5; i++) expect((await lock.check(`u${i}@example.com`, '192.0.2.1')).locked).toBe(true);
    await lock.recordFailure('u6@example.com', '192.0.2.1');
    expect(await lock.check('u1@example.com', '192.0.2.1')).toEqual(UNLOCKED);
    for (let i = 2; i <= 6; i++) expect((await lock.check(`u${i}@example.com`, '192.0.2.1')).locked).toBe(true);
    // A success removes its key, which makes room: nothing else is evicted for the next one.
    await lock.recordSuccess('u2@example.com', '192.0.2.1');
    await lock.recordFailure('u7@example.com', '192.0.2.1');
    for (let i = 3; i <= 7; i++) expect((await lock.check(`u${i}@example.com`, '192.0.2.1')).locked).toBe(true);
  });

  it('drops expired keys before live ones', async () => {
    const clock = fakeClock();
    // History is at least max lock + window: 160 s here.
    const lock = new LoginLockout(ACCOUNTS_ONLY, null, 'weir-test', {
      now: clock.now,
      maxEntries: 8,
      historySeconds: 0,
    });
    await lock.recordFailure('old1@example.com', '192.0.2.1');
    await lock.recordFailure('old2@example.com', '192.0.2.1');
    clock.advance(161);
    for (const who of ['a', 'b', 'c', 'd'])
      expect((await lock.recordFailure(`${who}@example.com`, '192.0.2.1')).locked).toBe(true);
    for (const who of ['a', 'b', 'c', 'd'])
      expect((await lock.check(`${who}@example.com`, '192.0.2.1')).locked).toBe(true);
    // With the expired keys gone, the oldest live one makes room.
    await lock.recordFailure('e@example.com', '192.0.2.1');
    expect(await lock.check('a@example.com', '192.0.2.1')).toEqual(UNLOCKED);
    for (const who of ['b', 'c', 'd', 'e'])
      expect((await lock.check(`${who}@example.com`, '192.0.2.1')).locked).toBe(true);
  });

  it('caps a spray of accounts at 100,000 keys (two per account) by default', async () => {
    const clock = fakeClock();
    const lock = new LoginLockout(ACCOUNTS_ONLY, null, 'weir-test', { now: clock.now });
    expect((await lock.recordFailure('victim@example.com', '192.0.2.1')).locked).toBe(true);
    for (let i = 1; i < 50_000; i++) await lock.recordFailure(`spray${i}@example.com`, '192.0.2.1');
    expect((await lock.check('victim@example.com', '192.0.2.1')).locked).toBe(true);
    await lock.recordFailure('spray50000@example.com', '192.0.2.1');
    expect(await lock.check('victim@example.com', '192.0.2.1')).toEqual(UNLOCKED);
    expect((await lock.check('spray50000@example.com', '192.0.2.1')).locked).toBe(true);
    expect((await lock.check('spray49999@example.com', '192.0.2.1')).locked).toBe(true);
  });
});

describe('login lockout while Redis fails', () => {
  it('locks out in process when Redis is unreachable, and warns at most once a minute', async () => {
    const redis = redisClient({ host: '127.0.0.1', port: await closedPort() });
    await expect(redis.connect()).rejects.toThrow();
    const clock = fakeClock();
    const { log, warnings } = capturedLog();
    const lock = new LoginLockout(LOCKOUT, redis, `weir-test-${randomUUID()}`, { now: clock.now, log });

    expect(await lock.check('ann@example.com', '192.0.2.1')).toEqual(UNLOCKED);
    await lock.recordFailure('ann@example.com', '192.0.2.1');
    await lock.recordFailure('ann@example.com', '192.0.2.1');
    expect(await lock.recordFailure('ann@example.com', '192.0.2.1')).toEqual({ locked: true, retryAfterSeconds: 30 });
    expect(await lock.check('ann@example.com', '192.0.2.1')).toEqual({ locked: true, retryAfterSeconds: 30 });
    // An address without failures against the account is not held by the account's lock.
    expect(await lock.check('ann@example.com', '198.51.100.7')).toEqual(UNLOCKED);
    await lock.recordSuccess('bob@example.com', '198.51.100.7');
    expect(warnings()).toHaveLength(1);
    expect(warnings()[0]).toMatchObject({
      msg: expect.stringContaining('Redis') as unknown,
      failuresSinceLastWarning: 0,
    });

    clock.advance(61);
    expect(await lock.check('ann@example.com', '192.0.2.1')).toEqual(UNLOCKED);
    expect(warnings()).toHaveLength(2);
    // The calls that failed between the two warnings: three failures, two checks and one success.
    expect(warnings()[1]).toMatchObject({ failuresSinceLastWarning: 6 });
  });

  it.skipIf(!redisUp)('keeps honouring locks taken during an outage once Redis is back', async () => {
    const redis = redisClient({ host: '127.0.0.1', port: 6379 });
    await redis.connect();
    const prefix = `weir-test-${randomUUID()}`;
    const clock = fakeClock();
    const lock = new LoginLockout(LOCKOUT, redis, prefix, { now: clock.now });

    const ended = new Promise((resolve) => redis.once('end', resolve));
    redis.disconnect();
    await ended;
    for (let i = 0; i < 3; i++) await lock.recordFailure('ann@example.com', '192.0.2.1');
    await redis.connect();
    try {
      expect(await redis.keys(`${prefix}:*`)).toEqual([]);
      expect(await lock.check('ann@example.com', '192.0.2.1')).toEqual({ locked: true, retryAfterSeconds: 30 });
      // Back on Redis: the next failures count there.
      await lock.recordFailure('bob@example.com', '192.0.2.2');
      expect(await redis.keys(`${prefix}:*`)).toHaveLength(3);
      // A success clears that address's record against the account in both stores: the account's lock (still
      // in the in-process store) no longer holds it.
      await lock.recordSuccess('ann@example.com', '192.0.2.1');
      expect(await lock.check('ann@example.com', '192.0.2.1')).toEqual(UNLOCKED);
    } finally {
      const keys = await redis.keys(`${prefix}:*`);
      if (keys.length > 0) await redis.del(...keys);
    }
  });
});
