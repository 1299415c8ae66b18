import { Redis } from 'ioredis';
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { ADMIN, startTestApp, type TestApp } from './helpers/app.js';
import { actor, apiKey, bearer, eventually } from './helpers/identity.js';
import { problemOf } from './helpers/upload.js';

/** Rate limits, login lockout, IP rules, trusted proxies and security headers, through real HTTP. */

const REDIS_URL = 'redis://127.0.0.1:6379';
async function redisUp(): Promise<boolean> {
  const r = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  try {
    await r.connect();
    await r.ping();
    return true;
  } catch {
    return false;
  } finally {
    r.disconnect();
  }
}
const haveRedis = await redisUp();
if (!haveRedis && process.env.WEIR_TEST_REQUIRE_REDIS === '1')
  throw new Error('Redis at 127.0.0.1:6379 is required (WEIR_TEST_REQUIRE_REDIS=1) but does not answer');

const apps: TestApp[] = [];
afterAll(async () => {
  for (const a of apps) await a.close();
});
async function app(env: Record<string, string>): Promise<TestApp> {
  const t = await startTestApp(env);
  apps.push(t);
  return t;
}
const login = (t: TestApp, email: string, password: string, headers: Record<string, string> = {}) =>
  fetch(`${t.api}/auth/login`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });

const STORES = [
  { store: 'memory', env: {} as Record<string, string> },
  ...(haveRedis ? [{ store: 'redis', env: { WEIR_REDIS_URL: REDIS_URL } as Record<string, string> }] : []),
];

describe.each(STORES)('rate limits and lockout ($store store)', ({ env }) => {
  const isolated = () => ({ ...env, WEIR_REDIS_PREFIX: `weir-test-${randomBytes(4).toString('hex')}` });

  it('sends RateLimit headers and answers 429 with Retry-After past the per-user budget, per user', async () => {
    const t = await app({ ...isolated(), WEIR_RATE_LIMIT_USER: '4/min' });
    const counted = await actor(t, 'viewer');
    const other = await actor(t, 'viewer');
    const seen: Response[] = [];
    for (let i = 0; i < 5; i++) seen.push(await fetch(`${t.api}/datasets`, { headers: counted.headers }));
    expect(seen.slice(0, 4).map((r) => r.status)).toEqual([200, 200, 200, 200]);
    expect(seen[0]!.headers.get('ratelimit-limit')).toBe('4');
    expect(seen[3]!.headers.get('ratelimit-remaining')).toBe('0');
    expect(Number(seen[0]!.headers.get('ratelimit-reset'))).toBeGreaterThan(0);
    const denied = seen[4]!;
    expect(denied.status).toBe(429);
    expect(Number(denied.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(Number(denied.headers.get('retry-after'))).toBeLessThanOrEqual(60);
    expect((await problemOf(denied)).code).toBe('rate_limited');
    // Another user has a budget of their own.
    expect((await fetch(`${t.api}/datasets`, { headers: other.headers })).status).toBe(200);
  });

  it('limits API keys and anonymous callers separately; health checks are never limited', async () => {
    const t = await app({ ...isolated(), WEIR_RATE_LIMIT_API_KEY: '2/min', WEIR_RATE_LIMIT_IP: '3/min' });
    const { token } = await apiKey(t, ['datasets:read']);
    const keyed = [];
    for (let i = 0; i < 3; i++) keyed.push((await fetch(`${t.api}/datasets`, { headers: bearer(token) })).status);
    expect(keyed).toEqual([200, 200, 429]);
    const anonymous = [];
    for (let i = 0; i < 4; i++) anonymous.push((await fetch(`${t.api}/datasets`)).status);
    expect(anonymous).toEqual([401, 401, 401, 429]);
    for (let i = 0; i < 10; i++) expect((await fetch(`${t.url}/health/live`)).status).toBe(200);
  });

  it('limits login attempts per address', async () => {
    const t = await app({ ...isolated(), WEIR_RATE_LIMIT_LOGIN: '3/min' });
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await login(t, ADMIN.email, ADMIN.password)).status);
    // The test app's own login at start spent the first attempt.
    expect(statuses).toEqual([200, 200, 429]);
  });

  it('locks an account out after repeated failures, for a doubling time, and lets it back in after', async () => {
    const t = await app({
      ...isolated(),
      WEIR_LOGIN_LOCKOUT_THRESHOLD: '3',
      WEIR_LOGIN_LOCKOUT_BASE_SECONDS: '1',
      WEIR_LOGIN_LOCKOUT_MAX_SECONDS: '60',
    });
    const fail = () => login(t, ADMIN.email, 'wrong password');
    expect((await fail()).status).toBe(401);
    expect((await fail()).status).toBe(401);
    const third = await fail();
    expect(third.status).toBe(429);
    expect(third.headers.get('retry-after')).toBe('1');
    // While locked even the right password is refused.
    const locked = await login(t, ADMIN.email, ADMIN.password);
    expect(locked.status).toBe(429);
    expect((await problemOf(locked)).detail).toMatch(/failed logins/);
    // An account that does not exist locks the same way: lockouts do not reveal which emails exist.
    for (let i = 0; i < 2; i++) expect((await login(t, 'ghost@weir.test', 'x')).status).toBe(401);
    expect((await login(t, 'ghost@weir.test', 'x')).status).toBe(429);

    await new Promise((r) => setTimeout(r, 1100));
    for (let i = 0; i < 2; i++) expect((await fail()).status).toBe(401);
    const again = await fail();
    expect(again.status).toBe(429);
    expect(again.headers.get('retry-after')).toBe('2');
    await new Promise((r) => setTimeout(r, 2100));
    expect((await login(t, ADMIN.email, ADMIN.password)).status).toBe(200);
  });

  it("a stranger's failed logins from one address slow that address down, never the owner logging in from another", async () => {
    const t = await app({
      ...isolated(),
      WEIR_TRUST_PROXY: 'loopback',
      WEIR_LOGIN_LOCKOUT_THRESHOLD: '5',
      WEIR_LOGIN_LOCKOUT_BASE_SECONDS: '3',
      WEIR_LOGIN_LOCKOUT_MAX_SECONDS: '60',
    });
    const from = (ip: string) => ({ 'x-forwarded-for': ip });
    const stranger = from('203.0.113.66');
    const statuses = [];
    for (let i = 0; i < 5; i++) statuses.push((await login(t, ADMIN.email, `guess ${i}`, stranger)).status);
    expect(statuses).toEqual([401, 401, 401, 401, 429]);
    // The stranger is refused even with the right password; the owner, from an address without failures, is not.
    expect((await login(t, ADMIN.email, ADMIN.password, stranger)).status).toBe(429);
    expect((await login(t, ADMIN.email, ADMIN.password, from('192.0.2.10'))).status).toBe(200);
    // An address that failed against the account while it is locked waits too (a guess spread over addresses).
    const locked = await login(t, ADMIN.email, 'one guess', from('198.51.100.7'));
    expect(locked.status).toBe(429);
    expect((await login(t, ADMIN.email, ADMIN.password, from('198.51.100.7'))).status).toBe(429);

    // The stranger keeps going once its lock ends: the next lock is twice as long.
    // Probes while locked are refused before the password is checked, and do not count.
    expect(
      await eventually(
        () => login(t, ADMIN.email, 'probe', stranger).then((r) => r.status),
        (s) => s === 401,
        10_000,
      ),
    ).toBe(401);
    const again: Response[] = [];
    for (let i = 0; i < 4; i++) again.push(await login(t, ADMIN.email, `guess again ${i}`, stranger));
    expect(again.map((r) => r.status)).toEqual([401, 401, 401, 429]);
    expect(again[3]!.headers.get('retry-after')).toBe('6');
    expect((await login(t, ADMIN.email, ADMIN.password, from('192.0.2.10'))).status).toBe(200);
  });

  it('locks an address out after failures across accounts', async () => {
    const t = await app({ ...isolated(), WEIR_LOGIN_LOCKOUT_IP_THRESHOLD: '4', WEIR_LOGIN_LOCKOUT_BASE_SECONDS: '30' });
    const statuses = [];
    for (let i = 0; i < 5; i++) statuses.push((await login(t, `user${i}@weir.test`, 'nope')).status);
    expect(statuses).toEqual([401, 401, 401, 429, 429]);
    expect((await login(t, ADMIN.email, ADMIN.password)).status).toBe(429);
  });
});

describe.runIf(haveRedis)('shared budgets across nodes (Redis)', () => {
  it('two servers on one Redis draw from one per-user budget', async () => {
    const prefix = `weir-test-${randomBytes(4).toString('hex')}`;
    const a = await app({ WEIR_REDIS_URL: REDIS_URL, WEIR_REDIS_PREFIX: prefix, WEIR_RATE_LIMIT_USER: '3/min' });
    // Same user id on both nodes: the second node reads the first node's database (same users table) only in
    // PostgreSQL mode, so here the budget key is what is shared. Count with the same user on node a twice and b once.
    const b = await app({ WEIR_REDIS_URL: REDIS_URL, WEIR_REDIS_PREFIX: prefix, WEIR_RATE_LIMIT_USER: '3/min' });
    const key = `${prefix}:rl:user:`;
    const redis = new Redis(REDIS_URL);
    try {
      expect((await a.fetch(`${a.api}/datasets`)).status).toBe(200);
      expect((await a.fetch(`${a.api}/datasets`)).status).toBe(200);
      const userA = ((await (await a.fetch(`${a.api}/auth/me`)).json()) as { user: { id: string } }).user.id;
      expect(Number(await redis.get(`${key}${userA}`))).toBeGreaterThanOrEqual(3);
      expect((await a.fetch(`${a.api}/datasets`)).status).toBe(429);
      expect((await b.fetch(`${b.api}/datasets`)).status).toBe(200);
    } finally {
      redis.disconnect();
    }
  });
});

describe('network rules', () => {
  it('refuses addresses outside the global allow list, and denied ones, everywhere', async () => {
    const noLogin = { WEIR_BOOTSTRAP_ADMIN_EMAIL: '', WEIR_BOOTSTRAP_ADMIN_PASSWORD: '' };
    const t = await app({ ...noLogin, WEIR_IP_ALLOW: '10.0.0.0/8' });
    const res = await fetch(`${t.url}/health/live`);
    expect(res.status).toBe(403);
    expect((await problemOf(res)).code).toBe('ip_blocked');
    expect((await fetch(`${t.api}/auth/login`, { method: 'POST' })).status).toBe(403);
    const denied = await app({ ...noLogin, WEIR_IP_DENY: '::1,127.0.0.0/8' });
    expect((await fetch(`${denied.url}/health/live`)).status).toBe(403);
  });

  it('believes X-Forwarded-For only from trusted proxies', async () => {
    const untrusting = await app({ WEIR_IP_DENY: '203.0.113.7' });
    expect(
      (await fetch(`${untrusting.url}/health/live`, { headers: { 'x-forwarded-for': '203.0.113.7' } })).status,
    ).toBe(200);
    const trusting = await app({ WEIR_IP_DENY: '203.0.113.7', WEIR_TRUST_PROXY: '127.0.0.1' });
    expect((await fetch(`${trusting.url}/health/live`, { headers: { 'x-forwarded-for': '203.0.113.7' } })).status).toBe(
      403,
    );
    expect((await fetch(`${trusting.url}/health/live`, { headers: { 'x-forwarded-for': '203.0.113.8' } })).status).toBe(
      200,
    );
    // The audit log records the client address the proxy reported.
    await trusting.fetch(`${trusting.api}/keys`, {
      method: 'POST',
      headers: { 'x-forwarded-for': '198.51.100.4', 'content-type': 'application/json', 'x-request-id': 'xff-1' },
      body: '{"name":"k"}',
    });
    const rows = (await (await trusting.fetch(`${trusting.api}/audit?action=apikey.create`)).json()) as {
      items: { requestId: string; ip: string }[];
    };
    expect(rows.items.find((r) => r.requestId === 'xff-1')?.ip).toBe('198.51.100.4');
  });

  it('applies a workspace allow list to that workspace only, and validates it', async () => {
    const t = await app({});
    const bad = await t.fetch(`${t.api}/workspaces/ws_default`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ipAllow: ['10.0.0.0/8', '300.1.1.1'] }),
    });
    expect(bad.status).toBe(400);
    expect((await problemOf(bad)).errors[0]?.pointer).toBe('/body/ipAllow/1');
    const other = await actor(t, 'owner');
    const set = await t.fetch(`${t.api}/workspaces/ws_default`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ipAllow: ['10.0.0.0/8', 'fd00::/8'] }),
    });
    expect(set.status).toBe(200);
    expect(await set.json()).toMatchObject({ ipAllow: ['10.0.0.0/8', 'fd00::/8'] });
    const blocked = await fetch(`${t.api}/datasets`, { headers: other.headers });
    expect(blocked.status).toBe(403);
    expect((await problemOf(blocked)).code).toBe('ip_blocked');
    expect((await fetch(`${t.api}/workspaces/ws_default/members`, { headers: other.headers })).status).toBe(403);
    // Requests outside the workspace (who am I, my workspaces, a new workspace) still work, so people can find out why.
    expect(
      (await fetch(`${t.api}/auth/me`, { headers: { ...other.headers, 'x-weir-workspace': 'ws_default' } })).status,
    ).toBe(200);
    const own = await fetch(`${t.api}/workspaces`, {
      method: 'POST',
      headers: { ...other.headers, 'content-type': 'application/json' },
      body: '{"name":"Elsewhere"}',
    });
    expect(own.status).toBe(201);
    const elsewhere = ((await own.json()) as { id: string }).id;
    expect(
      (await fetch(`${t.api}/datasets`, { headers: { ...other.headers, 'x-weir-workspace': elsewhere } })).status,
    ).toBe(200);
  });
});

describe('security headers', () => {
  it('sends API headers on API responses and a docs policy on /docs', async () => {
    const t = await app({});
    const res = await t.fetch(`${t.api}/datasets`);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('content-security-policy')).toBe("default-src 'none'; frame-ancestors 'none'");
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(res.headers.get('strict-transport-security')).toBeNull();
    const problem = await fetch(`${t.api}/datasets`);
    expect(problem.headers.get('x-frame-options')).toBe('DENY');
    const docs = await fetch(`${t.url}/docs/`, { redirect: 'follow' });
    expect(docs.status).toBe(200);
    expect(docs.headers.get('content-security-policy')).toContain("script-src 'self'");
    const hsts = await app({ WEIR_HSTS: 'true' });
    expect((await fetch(`${hsts.url}/health/live`)).headers.get('strict-transport-security')).toMatch(/max-age=\d+/);
  });
});
