import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RateLimiterMemory } from 'rate-limiter-flexible';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FakeThingSpeak } from '../../test/helpers/fake-thingspeak.js';
import { ManualClock } from '../clock.js';
import type { Log } from '../logger.js';
import { SourceResponseCache } from './response-cache.js';
import { createSourceLimiter, SourceGuard, type BreakerState, type SourceGuardOptions } from './safety.js';
import { redactUrl, requestSecrets, SourceError } from './source-error.js';

let fake: FakeThingSpeak;
const guards: SourceGuard[] = [];

beforeEach(async () => {
  fake = await FakeThingSpeak.start();
  fake.route('/ok', () => ({ body: { ok: true } }));
});

afterEach(async () => {
  for (const guard of guards.splice(0)) guard.dispose();
  await fake.close();
});

function guard(options: Partial<SourceGuardOptions> = {}): SourceGuard {
  const created = new SourceGuard({
    connectorId: 'c1',
    // The fake source listens on loopback; the policy's own tests name what they refuse.
    network: { allowPrivate: true },
    limiter: null,
    retryInitialDelayMs: 1,
    retryMaxDelayMs: 5,
    ...options,
  });
  guards.push(created);
  return created;
}

async function failure(promise: Promise<unknown>): Promise<SourceError> {
  const error = await promise.then(
    () => null,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(SourceError);
  return error as SourceError;
}

function recordingLog(): Log & { lines: string[] } {
  const lines: string[] = [];
  const record = (...args: unknown[]): void => void lines.push(JSON.stringify(args));
  return { lines, info: record, warn: record, error: record, debug: record } as unknown as Log & { lines: string[] };
}

describe('SourceGuard: Retry-After', () => {
  it('a 429 blocks every request until the time it names, then lets one through', async () => {
    const clock = new ManualClock(Date.parse('2026-12-06T18:00:00Z'));
    const g = guard({ clock });
    fake.script({ kind: 'respond', status: 429, headers: { 'retry-after': '30' } });
    const first = await failure(g.fetch({ url: `${fake.url}/ok` }));
    expect(first).toMatchObject({ kind: 'rate_limited', status: 429, retryAfterMs: 30_000 });
    expect(fake.count('/ok')).toBe(1);

    clock.advance(29_000);
    const blocked = await failure(g.fetch({ url: `${fake.url}/ok` }));
    expect(blocked.kind).toBe('rate_limited');
    expect(blocked.retryAfterMs).toBe(1000);
    expect(fake.count('/ok')).toBe(1);

    clock.advance(1000);
    const response = await g.fetch({ url: `${fake.url}/ok` });
    expect(JSON.parse(response.body)).toEqual({ ok: true });
    expect(fake.count('/ok')).toBe(2);
  });

  it('reads an HTTP date, and a 503 with Retry-After is a rate limit, not retried', async () => {
    const clock = new ManualClock(Date.parse('2026-12-06T18:00:00Z'));
    const g = guard({ clock });
    const at = new Date(clock.nowMs() + 120_000).toUTCString();
    fake.script({ kind: 'respond', status: 503, headers: { 'retry-after': at } });
    const error = await failure(g.fetch({ url: `${fake.url}/ok` }));
    expect(error).toMatchObject({ kind: 'rate_limited', status: 503, retryAfterMs: 120_000 });
    expect(fake.count('/ok')).toBe(1);
  });
});

describe('SourceGuard: retries and the breaker', () => {
  it('retries 5xx and succeeds when the source recovers', async () => {
    const g = guard({ retries: 2 });
    fake.script({ kind: 'respond', status: 502, body: 'bad gateway' }, 2);
    const response = await g.fetch({ url: `${fake.url}/ok` });
    expect(response.status).toBe(200);
    expect(fake.count('/ok')).toBe(3);
  });

  it('gives up after the configured retries with the last error', async () => {
    const g = guard({ retries: 2 });
    fake.script({ kind: 'respond', status: 500 }, 5);
    const error = await failure(g.fetch({ url: `${fake.url}/ok` }));
    expect(error).toMatchObject({ kind: 'http', status: 500 });
    expect(fake.count('/ok')).toBe(3);
  });

  it('does not retry a 4xx nor count it toward the breaker', async () => {
    const g = guard({ retries: 2, breakerThreshold: 2 });
    fake.script({ kind: 'respond', status: 404, body: '{"error":"nope"}' }, 4);
    for (let i = 0; i < 4; i += 1) {
      const error = await failure(g.fetch({ url: `${fake.url}/ok` }));
      expect(error).toMatchObject({ kind: 'http', status: 404, body: '{"error":"nope"}' });
    }
    expect(fake.count('/ok')).toBe(4);
    expect(g.breakerState()).toBe('closed');
  });

  it('opens after consecutive failures, fails fast, then half-opens and closes on a success', async () => {
    const states: [BreakerState, BreakerState][] = [];
    const g = guard({ retries: 0, breakerThreshold: 3, halfOpenAfterMs: 200 });
    g.onStateChange((state, previous) => states.push([state, previous]));
    fake.script({ kind: 'respond', status: 500 }, 3);
    for (let i = 0; i < 3; i += 1) await failure(g.fetch({ url: `${fake.url}/ok` }));
    expect(g.breakerState()).toBe('open');

    const refused = await failure(g.fetch({ url: `${fake.url}/ok` }));
    expect(refused.kind).toBe('breaker_open');
    expect(refused.retryAfterMs).toBeGreaterThan(0);
    expect(refused.message).toContain('c1');
    expect(fake.count('/ok')).toBe(3);

    // Polls until the half-open trial is let through (after halfOpenAfterMs); the fake now answers 200.
    await vi.waitFor(
      async () => {
        const response = await g.fetch({ url: `${fake.url}/ok` });
        expect(response.status).toBe(200);
      },
      { timeout: 5000, interval: 20 },
    );
    expect(g.breakerState()).toBe('closed');
    expect(fake.count('/ok')).toBe(4);
    expect(states).toEqual([
      ['open', 'closed'],
      ['half-open', 'open'],
      ['closed', 'half-open'],
    ]);
  });

  it('a failed half-open trial opens the breaker again', async () => {
    const g = guard({ retries: 0, breakerThreshold: 1, halfOpenAfterMs: 100 });
    fake.script({ kind: 'respond', status: 500 }, 2);
    await failure(g.fetch({ url: `${fake.url}/ok` }));
    expect(g.breakerState()).toBe('open');
    await vi.waitFor(
      async () => {
        const error = await failure(g.fetch({ url: `${fake.url}/ok` }));
        expect(error.kind).toBe('http');
      },
      { timeout: 5000, interval: 20 },
    );
    expect(g.breakerState()).toBe('open');
    expect(fake.count('/ok')).toBe(2);
  });
});

describe('SourceGuard: timeouts, sizes, network errors', () => {
  it('times out a slow response and a hanging one, retrying timeouts', async () => {
    const g = guard({ retries: 1, timeoutMs: 150 });
    fake.script({ kind: 'delay', ms: 3000 });
    fake.script({ kind: 'hang' });
    const started = Date.now();
    const error = await failure(g.fetch({ url: `${fake.url}/ok` }));
    expect(error.kind).toBe('timeout');
    expect(error.message).toMatch(/timed out after 150 ms/);
    expect(fake.count('/ok')).toBe(2);
    expect(Date.now() - started).toBeLessThan(2500);
  });

  it('refuses a body over the cap, declared or streamed', async () => {
    fake.route('/big', () => ({ body: 'x'.repeat(5000) }));
    const g = guard({ maxBodyBytes: 1024 });
    expect((await failure(g.fetch({ url: `${fake.url}/big` }))).kind).toBe('too_large');

    // Chunked, no Content-Length: the cap stops reading mid-stream.
    let stopped: () => void = () => undefined;
    const streamStopped = new Promise<void>((resolve) => (stopped = resolve));
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const timer = setInterval(() => res.write('y'.repeat(512)), 1);
      res.on('close', () => {
        clearInterval(timer);
        stopped();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const error = await failure(g.fetch({ url: `http://127.0.0.1:${port}/stream` }));
      expect(error.kind).toBe('too_large');
      await streamStopped;
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('reports a refused connection as a network error, retried', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const log = recordingLog();
    const g = guard({ retries: 1, log });
    const error = await failure(g.fetch({ url: `http://127.0.0.1:${port}/x` }));
    expect(error.kind).toBe('network');
    expect(error.message).toContain('ECONNREFUSED');
    expect(log.lines.some((line) => line.includes('retrying'))).toBe(true);
  });

  it("stops at the caller's abort without counting it as a failure", async () => {
    const g = guard({ retries: 0, breakerThreshold: 1 });
    fake.script({ kind: 'hang' });
    const controller = new AbortController();
    const pending = g.fetch({ url: `${fake.url}/ok` }, controller.signal);
    await vi.waitFor(() => expect(fake.count('/ok')).toBe(1));
    controller.abort(new Error('shutting down'));
    await expect(pending).rejects.toThrow('shutting down');
    expect(g.breakerState()).toBe('closed');
  });
});

describe('SourceGuard: secrets', () => {
  it('never puts a key in messages, error bodies or logs', async () => {
    const log = recordingLog();
    const g = guard({ retries: 1, log, secrets: ['s3cr3t-token'] });
    fake.route('/echo', (url) => ({ status: 500, body: `failed for ${url.toString()} with s3cr3t-token` }));
    const error = await failure(
      g.fetch({ url: `${fake.url}/echo?api_key=TOPSECRET&x=1`, headers: { authorization: 'Bearer s3cr3t-token' } }),
    );
    const everything = [error.message, error.body ?? '', ...log.lines].join('\n');
    expect(everything).toContain('api_key=redacted');
    expect(everything).not.toContain('TOPSECRET');
    expect(everything).not.toContain('s3cr3t-token');
    expect(error.body).toContain('[redacted]');
  });

  it("hides a request's own credentials without being told them", async () => {
    const log = recordingLog();
    const g = guard({ retries: 1, log });
    fake.route('/echo', (url, request) => ({
      status: 500,
      body: `key ${url.searchParams.get('api_key')} auth ${request.headers.authorization}`,
    }));
    const request = { url: `${fake.url}/echo?api_key=K3Y-VALUE`, headers: { authorization: 'Bearer T0KEN-VALUE' } };
    expect(requestSecrets(request)).toEqual(['K3Y-VALUE', 'Bearer T0KEN-VALUE', 'T0KEN-VALUE']);
    const error = await failure(g.fetch(request));
    const everything = [error.message, error.body ?? '', ...log.lines].join('\n');
    expect(error.body).toBe('key [redacted] auth [redacted]');
    expect(everything).not.toMatch(/K3Y-VALUE|T0KEN-VALUE/);
  });

  it('redactUrl hides credential-like parameters and user info only', () => {
    expect(redactUrl('https://u:p@example.test/a?api_key=1&token=2&results=3')).toBe(
      'https://redacted@example.test/a?api_key=redacted&token=redacted&results=3',
    );
  });
});

describe('SourceGuard: cache', () => {
  it('answers cacheable requests from the cache within the TTL and counts hits and misses', async () => {
    const clock = new ManualClock();
    const g = guard({ clock, cacheTtlMs: 60_000 });
    const first = await g.fetch({ url: `${fake.url}/ok`, cacheable: true });
    const second = await g.fetch({ url: `${fake.url}/ok`, cacheable: true });
    expect([first.fromCache, second.fromCache]).toEqual([false, true]);
    expect(second.body).toBe(first.body);
    await g.fetch({ url: `${fake.url}/ok` });
    expect(fake.count('/ok')).toBe(2);
    clock.advance(60_000);
    expect((await g.fetch({ url: `${fake.url}/ok`, cacheable: true })).fromCache).toBe(false);
    expect(g.cacheStats()).toEqual({ hits: 1, misses: 2, hitRate: 1 / 3 });
  });

  it('is off at TTL 0, keeps connectors apart, and never caches errors', async () => {
    const shared = new SourceResponseCache();
    const off = guard({ cacheTtlMs: 0, cache: shared });
    await off.fetch({ url: `${fake.url}/ok`, cacheable: true });
    await off.fetch({ url: `${fake.url}/ok`, cacheable: true });
    expect(fake.count('/ok')).toBe(2);
    const a = guard({ connectorId: 'a', cache: shared, retries: 0 });
    const b = guard({ connectorId: 'b', cache: shared });
    fake.script({ kind: 'respond', status: 500 });
    await failure(a.fetch({ url: `${fake.url}/ok`, cacheable: true }));
    await a.fetch({ url: `${fake.url}/ok`, cacheable: true });
    await b.fetch({ url: `${fake.url}/ok`, cacheable: true });
    expect(fake.count('/ok')).toBe(5);
    expect(shared.size).toBe(2);
  });

  it('is bounded, dropping the least recently used entry', () => {
    const cache = new SourceResponseCache(2);
    const response = { status: 200, headers: {}, body: '', fromCache: false };
    cache.set('c\na', response, 0);
    cache.set('c\nb', response, 0);
    expect(cache.get('c\na', 1000, 1)).not.toBeNull();
    cache.set('c\nc', response, 0);
    expect(cache.get('c\nb', 1000, 1)).toBeNull();
    expect(cache.get('c\na', 1000, 1)).not.toBeNull();
    expect(cache.size).toBe(2);
    cache.forget('c');
    expect(cache.size).toBe(0);
  });
});

describe('SourceGuard: rate limit', () => {
  it('refuses past the budget without reaching the source, and reports use', async () => {
    const g = guard({
      limiter: createSourceLimiter({ redis: null, keyPrefix: 'rl-test', requestsPerMinute: 2 }),
      maxRateLimitWaitMs: 0,
    });
    await g.fetch({ url: `${fake.url}/ok` });
    await g.fetch({ url: `${fake.url}/ok` });
    const error = await failure(g.fetch({ url: `${fake.url}/ok` }));
    expect(error.kind).toBe('rate_limited');
    expect(error.retryAfterMs).toBeGreaterThan(50_000);
    expect(error.message).toContain('2 requests per 60 s');
    expect(fake.count('/ok')).toBe(2);
    expect(await g.rateLimitUse()).toEqual({ used: 2, limit: 2 });
  });

  it('waits for the next token when it comes soon enough', async () => {
    const limiter = new RateLimiterMemory({ keyPrefix: 'rl-wait', points: 1, duration: 1 });
    const g = guard({ limiter, maxRateLimitWaitMs: 5000 });
    await g.fetch({ url: `${fake.url}/ok` });
    await g.fetch({ url: `${fake.url}/ok` });
    expect(fake.count('/ok')).toBe(2);
    const [a, b] = fake.requests;
    // The second request waited for the next one-second window.
    expect(b!.atMs - a!.atMs).toBeGreaterThanOrEqual(900);
    expect(await g.rateLimitUse()).toEqual({ used: 1, limit: 1 });
  });
});
