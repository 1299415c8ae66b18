import { SignJWT, generateKeyPair, exportSPKI, UnsecuredJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, startTestApp, type TestApp } from './helpers/app.js';
import { actor, apiKey, bearer, eventually, workspace } from './helpers/identity.js';
import { problemOf, upload } from './helpers/upload.js';

const SECRET = 'test-secret-of-at-least-thirty-two-characters!';
let t: TestApp;

beforeAll(async () => {
  t = await startTestApp({ WEIR_JWT_SECRET: SECRET });
});
afterAll(async () => {
  await t?.close();
});

const me = (headers: Record<string, string>) => fetch(`${t.api}/auth/me`, { headers });
const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${t.api}${path}`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

async function loginBody(email: string, password: string) {
  const res = await post('/auth/login', { email, password });
  return {
    res,
    body: (await res.json()) as { accessToken: string; refreshToken: string; expiresIn: number; user: { id: string } },
  };
}

describe('login', () => {
  it('answers an access token, a refresh token and an httpOnly SameSite cookie', async () => {
    const { res, body } = await loginBody(ADMIN.email.toUpperCase(), ADMIN.password);
    expect(res.status).toBe(200);
    expect(body.expiresIn).toBe(900);
    expect(body.accessToken.split('.')).toHaveLength(3);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const cookie = res.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(
      /^weir_refresh=[A-Za-z0-9_-]{43}; Path=\/api\/v1\/auth; Max-Age=\d+; HttpOnly; SameSite=Strict/,
    );
    expect(cookie).toContain(body.refreshToken);
    const who = await me(bearer(body.accessToken));
    expect(who.status).toBe(200);
    expect(await who.json()).toMatchObject({
      user: { email: ADMIN.email, instanceAdmin: true },
      workspace: { id: 'ws_default', role: 'owner' },
      via: 'jwt',
    });
  });

  it('answers the same 401 for an unknown email and a wrong password', async () => {
    const unknown = await post('/auth/login', { email: 'nobody@weir.test', password: 'whatever it is' });
    const wrong = await post('/auth/login', { email: ADMIN.email, password: 'not the password' });
    expect(unknown.status).toBe(401);
    expect(wrong.status).toBe(401);
    const a = await problemOf(unknown);
    const b = await problemOf(wrong);
    expect(a.detail).toBe(b.detail);
    expect(a.code).toBe(b.code);
  });

  it('takes as long for an unknown email as for a wrong password (no enumeration by timing)', async () => {
    const time = async (email: string) => {
      const start = performance.now();
      await post('/auth/login', { email, password: 'not the password' });
      return performance.now() - start;
    };
    const known: number[] = [];
    const unknown: number[] = [];
    for (let i = 0; i < 5; i++) {
      known.push(await time(ADMIN.email));
      unknown.push(await time(`ghost${i}@weir.test`));
    }
    const median = (xs: number[]) => xs.sort((x, y) => x - y)[2]!;
    // Without the decoy verification an unknown email answers ~20x faster; the bound leaves room for noise.
    expect(median(unknown)).toBeGreaterThan(median(known) * 0.4);
  });

  it('refuses a form or a text body with the content type it takes', async () => {
    const form = await fetch(`${t.api}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ email: ADMIN.email, password: ADMIN.password }),
    });
    expect(form.status).toBe(415);
    expect(await problemOf(form)).toMatchObject({
      code: 'unsupported_media_type',
      accepts: ['application/json'],
      detail:
        'POST /api/v1/auth/login takes an application/json body, not application/x-www-form-urlencoded: send it as application/json (`Content-Type: application/json`)',
    });
    // text/plain has a parser (the body arrives as a string): still the body's type is what is wrong, not its fields.
    const text = await fetch(`${t.api}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: JSON.stringify({ email: ADMIN.email, password: ADMIN.password }),
    });
    expect(text.status).toBe(415);
    expect((await problemOf(text)).detail).toMatch(
      /^POST \/api\/v1\/auth\/login takes an application\/json body, not text\/plain/,
    );
  });

  it('validates the body', async () => {
    const res = await post('/auth/login', { email: 'x@y', password: 'p', extra: 1 });
    expect(res.status).toBe(400);
    expect((await problemOf(res)).code).toBe('validation_failed');
  });
});

describe('access tokens', () => {
  let userId: string;
  beforeAll(async () => {
    userId = (await loginBody(ADMIN.email, ADMIN.password)).body.user.id;
  });
  const sign = (
    claims: Record<string, unknown>,
    opts: { secret?: string; alg?: string; iss?: string; aud?: string; exp?: number } = {},
  ) =>
    new SignJWT({ sid: 'ses_x', ws: 'ws_default', ...claims })
      .setProtectedHeader({ alg: opts.alg ?? 'HS256' })
      .setSubject(userId)
      .setIssuer(opts.iss ?? 'weir')
      .setAudience(opts.aud ?? 'weir-api')
      .setIssuedAt()
      .setExpirationTime(opts.exp ?? Math.floor(Date.now() / 1000) + 600)
      .sign(new TextEncoder().encode(opts.secret ?? SECRET));

  it('refuses missing, malformed and garbage tokens with 401 and WWW-Authenticate', async () => {
    const cases: Record<string, string>[] = [
      {},
      { authorization: 'Bearer' },
      { authorization: 'Bearer not-a-token' },
      { authorization: 'Basic Zm9vOmJhcg==' },
      { authorization: 'Bearer a.b.c' },
    ];
    for (const headers of cases) {
      const res = await me(headers);
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer realm="weir"');
      expect((await problemOf(res)).code).toBe('unauthorized');
    }
  });

  it('says what is wrong with a malformed Authorization header, never repeating it', async () => {
    const token = t.auth.authorization!.slice('Bearer '.length);
    const { token: key } = await apiKey(t, ['datasets:read']);
    const cases: [Record<string, string>, RegExp][] = [
      [{}, /^This request needs an access token or API key: send it as `Authorization: Bearer <token>`/],
      [
        { authorization: token },
        /^The Authorization header lacks the `Bearer ` prefix: send it as `Authorization: Bearer <token>`$/,
      ],
      [{ authorization: key }, /lacks the `Bearer ` prefix/],
      [
        { authorization: 'Basic b3duZXJAd2Vpci50ZXN0OnNlY3JldA==' },
        /^Weir does not take `Basic` credentials: use an access token \(POST \/api\/v1\/auth\/login\) or an API key/,
      ],
      [{ authorization: '' }, /^The Authorization header is empty/],
      [{ authorization: 'Bearer ' }, /^The Authorization header has no token after `Bearer`/],
      [
        { authorization: `Bearer ${token} ${key}` },
        /^The Authorization header carries more than one token: send exactly one/,
      ],
    ];
    for (const [headers, detail] of cases) {
      const res = await me(headers);
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer realm="weir"');
      const problem = await problemOf(res);
      expect(problem.code).toBe('unauthorized');
      expect(problem.detail, JSON.stringify(headers)).toMatch(detail);
      expect(problem.detail).not.toContain(token);
      expect(problem.detail).not.toContain(key);
      expect(problem.detail).not.toContain('b3duZXJAd2Vpci50ZXN0');
    }
    // The streaming routes also take ?access_token=, and say so.
    const events = await fetch(`${t.api}/jobs/job_01J00000000000000000000000/events`);
    expect((await problemOf(events)).detail).toContain('(or as ?access_token=<token> on this route)');
  });

  it('refuses an expired token', async () => {
    // A real session so that only the expiry is wrong.
    const fresh = (await loginBody(ADMIN.email, ADMIN.password)).body.accessToken;
    const sid = JSON.parse(Buffer.from(fresh.split('.')[1]!, 'base64url').toString()).sid as string;
    const ok = await sign({ sid });
    expect((await me(bearer(ok))).status).toBe(200);
    const expired = await sign({ sid }, { exp: Math.floor(Date.now() / 1000) - 5 });
    const res = await me(bearer(expired));
    expect(res.status).toBe(401);
    expect((await problemOf(res)).detail).toMatch(/expired/);
  });

  it('refuses forged, alg:none, RS256 (HS/RS confusion), wrong audience and wrong issuer tokens', async () => {
    const fresh = (await loginBody(ADMIN.email, ADMIN.password)).body.accessToken;
    const sid = JSON.parse(Buffer.from(fresh.split('.')[1]!, 'base64url').toString()).sid as string;
    const forged = await sign({ sid }, { secret: 'another-secret-that-is-long-enough-to-sign-with' });
    const none = new UnsecuredJWT({ sid, ws: 'ws_default' })
      .setSubject(userId)
      .setIssuer('weir')
      .setAudience('weir-api')
      .setExpirationTime('10m')
      .encode();
    const { privateKey, publicKey } = await generateKeyPair('RS256');
    const rs = await new SignJWT({ sid, ws: 'ws_default' })
      .setProtectedHeader({ alg: 'RS256' })
      .setSubject(userId)
      .setIssuer('weir')
      .setAudience('weir-api')
      .setExpirationTime('10m')
      .sign(privateKey);
    // The classic confusion: HS256 keyed with the public key's PEM, hoping the server verifies with "its" key.
    const confused = await sign({ sid }, { secret: await exportSPKI(publicKey) });
    const wrongAud = await sign({ sid }, { aud: 'someone-else' });
    const wrongIss = await sign({ sid }, { iss: 'evil' });
    const hs512 = await new SignJWT({ sid, ws: 'ws_default' })
      .setProtectedHeader({ alg: 'HS512' })
      .setSubject(userId)
      .setIssuer('weir')
      .setAudience('weir-api')
      .setExpirationTime('10m')
      .sign(new TextEncoder().encode(SECRET));
    for (const token of [forged, none, rs, confused, wrongAud, wrongIss, hs512]) {
      const res = await me(bearer(token));
      expect(res.status, token).toBe(401);
    }
  });

  it('refuses a correctly signed token for a session that does not exist', async () => {
    expect((await me(bearer(await sign({ sid: 'ses_does_not_exist' })))).status).toBe(401);
  });
});

describe('tokens in query strings', () => {
  it('are accepted only by the streaming routes browsers cannot set headers on, and never logged', async () => {
    const token = t.auth.authorization!.slice('Bearer '.length);
    const missingJob = `${t.api}/jobs/job_01J00000000000000000000000/events`;
    expect((await fetch(missingJob)).status).toBe(401);
    expect((await fetch(`${missingJob}?access_token=${token}`)).status).toBe(404);
    expect((await fetch(`${t.api}/datasets?access_token=${token}`)).status).toBe(401);
    const logged = JSON.stringify(t.logs);
    expect(logged).toContain('access_token=[redacted]');
    expect(logged).not.toContain(token);
  });
});

describe('sessions: logout and refresh rotation', () => {
  it('a token is refused after logout, and so is its refresh token', async () => {
    const { body } = await loginBody(ADMIN.email, ADMIN.password);
    expect((await me(bearer(body.accessToken))).status).toBe(200);
    const out = await fetch(`${t.api}/auth/logout`, { method: 'POST', headers: bearer(body.accessToken) });
    expect(out.status).toBe(204);
    expect(out.headers.get('set-cookie')).toMatch(/^weir_refresh=; .*Max-Age=0/);
    const after = await me(bearer(body.accessToken));
    expect(after.status).toBe(401);
    expect((await post('/auth/refresh', { refreshToken: body.refreshToken })).status).toBe(401);
  });

  it('rotates refresh tokens; reusing a rotated one revokes the whole session', async () => {
    const first = (await loginBody(ADMIN.email, ADMIN.password)).body;
    const r1 = await post('/auth/refresh', { refreshToken: first.refreshToken });
    expect(r1.status).toBe(200);
    const second = (await r1.json()) as { accessToken: string; refreshToken: string };
    expect(second.refreshToken).not.toBe(first.refreshToken);
    expect((await me(bearer(second.accessToken))).status).toBe(200);

    // The first refresh token is presented again: it leaked. The family dies, including the newest tokens.
    const reuse = await post('/auth/refresh', { refreshToken: first.refreshToken });
    expect(reuse.status).toBe(401);
    expect((await problemOf(reuse)).detail).toMatch(/already used/);
    expect((await me(bearer(second.accessToken))).status).toBe(401);
    expect((await post('/auth/refresh', { refreshToken: second.refreshToken })).status).toBe(401);

    const audit = await eventually(
      async () =>
        (await (await t.fetch(`${t.api}/audit?action=auth.refresh_reuse&scope=instance`)).json()) as {
          items: { outcome: string; detail: unknown }[];
        },
      (b) => b.items.length > 0,
    );
    expect(audit.items[0]).toMatchObject({ outcome: 'denied', detail: { sessionRevoked: true } });
  });

  it('refreshes from the cookie', async () => {
    const res = await post('/auth/login', { email: ADMIN.email, password: ADMIN.password });
    const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0]!;
    const refreshed = await fetch(`${t.api}/auth/refresh`, { method: 'POST', headers: { cookie } });
    expect(refreshed.status).toBe(200);
    expect(((await refreshed.json()) as { accessToken: string }).accessToken).toBeTruthy();
    expect((await fetch(`${t.api}/auth/refresh`, { method: 'POST' })).status).toBe(401);
  });
});

describe('API keys', () => {
  it('is shown once, stored hashed, works as a bearer, and records its last use', async () => {
    const res = await t.fetch(`${t.api}/keys`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'ci', scopes: ['datasets:read'] }),
    });
    expect(res.status).toBe(201);
    const { key, token } = (await res.json()) as {
      key: { id: string; prefix: string; scopes: string[]; lastUsedAt: string | null };
      token: string;
    };
    expect(token).toMatch(/^weir_key_[0-9A-Z]{26}_[A-Za-z0-9_-]{43}$/);
    expect(token.startsWith(key.prefix)).toBe(true);
    expect(key.scopes).toEqual(['datasets:read']);
    const rows = await t.context.store.db.selectFrom('api_keys').selectAll().where('id', '=', key.id).execute();
    // The secret is base64url and may itself contain '_': cut it by position, not by splitting on '_'.
    const secret = /^weir_key_[0-9A-Z]{26}_(.{43})$/.exec(token)![1]!;
    expect(JSON.stringify(rows)).not.toContain(secret);

    const who = await me(bearer(token));
    expect(who.status).toBe(200);
    expect(await who.json()).toMatchObject({
      via: 'apiKey',
      apiKeyId: key.id,
      workspace: { id: 'ws_default', role: 'machine', permissions: ['datasets:read'] },
    });
    const listed = (await (await t.fetch(`${t.api}/keys`)).json()) as {
      items: { id: string; lastUsedAt: string | null }[];
    };
    expect(JSON.stringify(listed)).not.toContain(token);
    const mine = await eventually(
      async () =>
        (
          (await (await t.fetch(`${t.api}/keys`)).json()) as { items: { id: string; lastUsedAt: string | null }[] }
        ).items.find((k) => k.id === key.id),
      (k) => k?.lastUsedAt !== null,
    );
    expect(mine?.lastUsedAt).not.toBeNull();
  });

  it("answers who am I as the key: its name and scopes, its creator, none of the creator's instance-wide rights", async () => {
    const { id, token } = await apiKey(t, ['datasets:read'], t.auth, { name: 'nightly export' });
    const res = await me(bearer(token));
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      user: { email: string };
      workspace: { permissions: string[] };
      apiKey: Record<string, unknown> | null;
    };
    expect(body).toMatchObject({
      via: 'apiKey',
      apiKeyId: id,
      user: { email: ADMIN.email },
      workspace: { id: 'ws_default', role: 'machine', permissions: ['datasets:read'] },
      apiKey: { id, name: 'nightly export', scopes: ['datasets:read'], workspaceId: 'ws_default', expiresAt: null },
    });
    // The creator is an instance administrator; the key is not.
    expect(body.workspace.permissions).not.toContain('system:admin');
    expect((await fetch(`${t.api}/users`, { headers: bearer(token) })).status).toBe(403);
    expect(JSON.stringify(body)).not.toContain(token);
    const session = (await (await me(t.auth)).json()) as { apiKey: unknown; workspace: { permissions: string[] } };
    expect(session.apiKey).toBeNull();
    expect(session.workspace.permissions).toContain('system:admin');
  });

  it('tells a scope that does not exist apart from one that cannot be granted, and suggests the nearest', async () => {
    const post = (scopes: string[]) =>
      t.fetch(`${t.api}/keys`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'typo', scopes }),
      });
    const typo = await post(['datasets:raed']);
    expect(typo.status).toBe(400);
    expect(await problemOf(typo)).toMatchObject({
      code: 'validation_failed',
      detail: "Scope 'datasets:raed' does not exist; did you mean 'datasets:read' or 'datasets:write'?",
      errors: [
        {
          pointer: '/body/scopes/0',
          message: "Scope 'datasets:raed' does not exist; did you mean 'datasets:read' or 'datasets:write'?",
        },
      ],
    });
    // members:manage exists but no key may hold it: that is a refusal, not a typo.
    const refused = await post(['members:manage']);
    expect((await problemOf(refused)).detail).toBe('Some scopes cannot be granted to an API key by you');
    const keys = (await (await t.fetch(`${t.api}/keys`)).json()) as { items: { name: string }[] };
    expect(keys.items.filter((k) => k.name === 'typo')).toEqual([]);
  });

  it('holds only its scopes', async () => {
    const { token } = await apiKey(t, ['datasets:read']);
    expect((await fetch(`${t.api}/datasets`, { headers: bearer(token) })).status).toBe(200);
    const res = await upload({ api: t.api, auth: bearer(token) }, 'a\n1\n');
    expect(res.status).toBe(403);
    expect(await problemOf(res)).toMatchObject({ code: 'forbidden', permission: 'datasets:write' });
  });

  it('refuses scopes beyond the machine role or the creator, naming them', async () => {
    const res = await t.fetch(`${t.api}/keys`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'x', scopes: ['datasets:read', 'members:manage', 'nope:nope'] }),
    });
    expect(res.status).toBe(400);
    const p = await problemOf(res);
    expect(p.errors.map((e) => e.pointer)).toEqual(['/body/scopes/1', '/body/scopes/2']);
    const viewer = await actor(t, 'viewer');
    expect(
      (
        await fetch(`${t.api}/keys`, {
          method: 'POST',
          headers: { ...viewer.headers, 'content-type': 'application/json' },
          body: '{"name":"v"}',
        })
      ).status,
    ).toBe(403);
  });

  it('revocation takes effect on the next request', async () => {
    const { id, token } = await apiKey(t, ['datasets:read']);
    expect((await fetch(`${t.api}/datasets`, { headers: bearer(token) })).status).toBe(200);
    const revoked = await t.fetch(`${t.api}/keys/${id}`, { method: 'DELETE' });
    expect(revoked.status).toBe(200);
    expect(((await revoked.json()) as { revokedAt: string | null }).revokedAt).not.toBeNull();
    const res = await fetch(`${t.api}/datasets`, { headers: bearer(token) });
    expect(res.status).toBe(401);
    expect((await problemOf(res)).detail).toMatch(/revoked/);
  });

  it('expires', async () => {
    const { token } = await apiKey(t, ['datasets:read'], t.auth, {
      expiresAt: new Date(Date.now() + 1500).toISOString(),
    });
    expect((await fetch(`${t.api}/datasets`, { headers: bearer(token) })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1700));
    expect((await fetch(`${t.api}/datasets`, { headers: bearer(token) })).status).toBe(401);
  });

  it('stops working when its creator leaves the workspace', async () => {
    const maint = await actor(t, 'admin');
    const { token } = await apiKey(t, ['datasets:read'], maint.headers);
    expect((await fetch(`${t.api}/datasets`, { headers: bearer(token) })).status).toBe(200);
    expect((await t.fetch(`${t.api}/workspaces/ws_default/members/${maint.userId}`, { method: 'DELETE' })).status).toBe(
      204,
    );
    expect((await fetch(`${t.api}/datasets`, { headers: bearer(token) })).status).toBe(401);
  });

  it('refuses a tampered key', async () => {
    const { token } = await apiKey(t, ['datasets:read']);
    const tampered = token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A');
    expect((await fetch(`${t.api}/datasets`, { headers: bearer(tampered) })).status).toBe(401);
  });
});

describe('roles and workspaces', () => {
  it('viewer reads but cannot write; uploader writes but cannot delete', async () => {
    const viewer = await actor(t, 'viewer');
    const uploader = await actor(t, 'uploader');
    expect((await fetch(`${t.api}/datasets`, { headers: viewer.headers })).status).toBe(200);
    expect((await upload({ api: t.api, auth: viewer.headers }, 'v\n1\n')).status).toBe(403);
    const made = await upload({ api: t.api, auth: uploader.headers }, `u\n${Date.now()}\n`, { name: 'by uploader' });
    expect(made.status).toBe(201);
    const { id } = (await made.json()) as { id: string };
    const del = await fetch(`${t.api}/datasets/${id}`, { method: 'DELETE', headers: uploader.headers });
    expect(del.status).toBe(403);
    expect((await problemOf(del)).detail).toMatch(/datasets:delete/);
  });

  it('objects of a workspace the caller does not belong to answer 404', async () => {
    const outsider = await actor(t, 'owner', await workspace(t, `Other ${Date.now()}`));
    const res = await upload(t, `secret\n${Date.now()}\n`, { name: 'private' });
    const { id } = (await res.json()) as { id: string };
    for (const path of [
      `/datasets/${id}`,
      `/datasets/${id}/preview`,
      `/datasets/${id}/profile`,
      `/datasets/${id}/versions`,
      `/datasets/${id}/download`,
    ]) {
      const r = await fetch(`${t.api}${path}`, { headers: outsider.headers });
      expect(r.status, path).toBe(404);
    }
    expect((await fetch(`${t.api}/datasets/${id}`, { method: 'DELETE', headers: outsider.headers })).status).toBe(404);
    expect(
      (
        await fetch(`${t.api}/datasets/${id}`, {
          method: 'PATCH',
          headers: { ...outsider.headers, 'content-type': 'application/json' },
          body: '{"name":"x"}',
        })
      ).status,
    ).toBe(404);
    // Naming the workspace explicitly does not help.
    const named = await fetch(`${t.api}/datasets/${id}`, {
      headers: { ...outsider.headers, 'x-weir-workspace': 'ws_default' },
    });
    expect(named.status).toBe(404);
    for (const path of ['/workspaces/ws_default', '/workspaces/ws_default/members'])
      expect((await fetch(`${t.api}${path}`, { headers: outsider.headers })).status).toBe(404);
    // Nor for an API key of the other workspace.
    const { token } = await apiKey(t, ['datasets:read'], outsider.headers);
    expect((await fetch(`${t.api}/datasets/${id}`, { headers: bearer(token) })).status).toBe(404);
    expect(
      (await fetch(`${t.api}/datasets/${id}`, { headers: { ...bearer(token), 'x-weir-workspace': 'ws_default' } }))
        .status,
    ).toBe(404);
    // Keys and audit rows are per workspace too.
    const keys = (await (await fetch(`${t.api}/keys`, { headers: outsider.headers })).json()) as {
      items: { workspaceId: string }[];
    };
    expect(keys.items.every((k) => k.workspaceId !== 'ws_default')).toBe(true);
    const audit = (await (await fetch(`${t.api}/audit`, { headers: outsider.headers })).json()) as {
      items: { workspaceId: string }[];
    };
    expect(audit.items.length).toBeGreaterThan(0);
    expect(audit.items.every((a) => a.workspaceId !== 'ws_default')).toBe(true);
    expect((await fetch(`${t.api}/audit?scope=instance`, { headers: outsider.headers })).status).toBe(403);
  });

  it('a member of two workspaces switches with x-weir-workspace', async () => {
    const second = await workspace(t, `Second ${Date.now()}`);
    const inSecond = await upload(
      { api: t.api, auth: { ...t.auth, 'x-weir-workspace': second } },
      `w2\n${Date.now()}\n`,
      { name: 'in second' },
    );
    expect(inSecond.status).toBe(201);
    const { id, workspaceId } = (await inSecond.json()) as { id: string; workspaceId: string };
    expect(workspaceId).toBe(second);
    expect((await t.fetch(`${t.api}/datasets/${id}`)).status).toBe(404);
    expect((await t.fetch(`${t.api}/datasets/${id}`, { headers: { 'x-weir-workspace': second } })).status).toBe(200);
    expect((await t.fetch(`${t.api}/datasets`, { headers: { 'x-weir-workspace': 'ws_nope' } })).status).toBe(404);
    expect((await t.fetch(`${t.api}/datasets`, { headers: { 'x-weir-workspace': '../etc' } })).status).toBe(404);
  });

  it('nobody grants a role above their own, and a workspace keeps an owner', async () => {
    const admin = await actor(t, 'admin');
    // An existing account (only instance admins create accounts), added by a workspace admin.
    const email = `existing-${Date.now()}@weir.test`;
    expect(
      (
        await t.fetch(`${t.api}/users`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ email, password: 'a long enough password' }),
        })
      ).status,
    ).toBe(201);
    const add = (headers: Record<string, string>, role: string) =>
      fetch(`${t.api}/workspaces/ws_default/members`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify({ email, role }),
      });
    expect((await add(admin.headers, 'owner')).status).toBe(403);
    // Adding an existing account invites it (test/identity-hardening.test.ts covers the invitations themselves).
    const made = await add(admin.headers, 'analyst');
    expect(made.status).toBe(202);
    expect(await made.json()).toMatchObject({ role: 'analyst', email, status: 'pending' });

    const owner = (await (await t.fetch(`${t.api}/auth/me`)).json()) as { user: { id: string } };
    expect(
      (
        await fetch(`${t.api}/workspaces/ws_default/members/${owner.user.id}`, {
          method: 'DELETE',
          headers: admin.headers,
        })
      ).status,
    ).toBe(403);
    const demote = await t.fetch(`${t.api}/workspaces/ws_default/members/${owner.user.id}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: '{"role":"viewer"}',
    });
    expect(demote.status).toBe(409);
    expect((await problemOf(demote)).detail).toMatch(/at least one owner/);

    const change = await t.fetch(`${t.api}/workspaces/ws_default/members/${admin.userId}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: '{"role":"viewer"}',
    });
    expect(change.status).toBe(200);
    // The new role applies to the very next request of the same token.
    expect(
      (
        await fetch(`${t.api}/workspaces/ws_default/members`, {
          method: 'POST',
          headers: { ...admin.headers, 'content-type': 'application/json' },
          body: '{"email":"a@b.c","role":"viewer"}',
        })
      ).status,
    ).toBe(403);
  });

  it('only an instance admin creates accounts through a workspace, so an owner cannot claim an address', async () => {
    // Any user can create a workspace and own it; owning one must not let them choose another person's password.
    const plain = await actor(t, 'viewer');
    const ws = (await (
      await fetch(`${t.api}/workspaces`, {
        method: 'POST',
        headers: { ...plain.headers, 'content-type': 'application/json' },
        body: JSON.stringify({ name: `Own ${Date.now()}` }),
      })
    ).json()) as { id: string };
    const victim = `victim-${Date.now()}@weir.test`;
    const claim = await fetch(`${t.api}/workspaces/${ws.id}/members`, {
      method: 'POST',
      headers: { ...plain.headers, 'content-type': 'application/json' },
      body: JSON.stringify({ email: victim, role: 'viewer', password: 'chosen by somebody else' }),
    });
    expect(claim.status).toBe(403);
    expect((await problemOf(claim)).detail).toMatch(/instance administrator/);
    expect(
      (
        await fetch(`${t.api}/auth/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ email: victim, password: 'chosen by somebody else' }),
        })
      ).status,
    ).toBe(401);
    // The instance admin may.
    const byAdmin = await t.fetch(`${t.api}/workspaces/ws_default/members`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: victim, role: 'viewer', password: 'a long enough password' }),
    });
    expect(byAdmin.status).toBe(201);
  });

  it('instance administration is for instance admins only', async () => {
    const owner = await actor(t, 'owner');
    expect((await fetch(`${t.api}/users`, { headers: owner.headers })).status).toBe(403);
    const list = await t.fetch(`${t.api}/users?limit=500`);
    expect(list.status).toBe(200);
    const body = (await list.json()) as { items: { email: string }[]; total: number };
    expect(body.items.map((u) => u.email)).toContain(ADMIN.email);
    expect(JSON.stringify(body)).not.toMatch(/argon2|password/i);
  });

  it('duplicate emails are refused case-insensitively', async () => {
    const res = await t.fetch(`${t.api}/users`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: ADMIN.email.toUpperCase(), password: 'a long enough password' }),
    });
    expect(res.status).toBe(409);
  });
});

describe('audit', () => {
  it('records auth events with actor, ip, user agent, request id and outcome; filters and pages', async () => {
    await post(
      '/auth/login',
      { email: ADMIN.email, password: 'wrong password!' },
      { 'user-agent': 'audit-test/1', 'x-request-id': 'audit-fail-1' },
    );
    await post('/auth/login', { email: ADMIN.email, password: ADMIN.password }, { 'x-request-id': 'audit-ok-1' });
    const rows = await eventually(
      async () =>
        (
          (await (await t.fetch(`${t.api}/audit?action=auth.login&scope=instance&limit=500`)).json()) as {
            items: Record<string, unknown>[];
          }
        ).items,
      (items) => items.some((i) => i.requestId === 'audit-ok-1'),
    );
    const failed = rows.find((r) => r.requestId === 'audit-fail-1');
    expect(failed).toMatchObject({
      action: 'auth.login',
      outcome: 'denied',
      statusCode: 401,
      ip: '127.0.0.1',
      userAgent: 'audit-test/1',
      detail: { email: ADMIN.email },
    });
    const ok = rows.find((r) => r.requestId === 'audit-ok-1');
    expect(ok).toMatchObject({ outcome: 'success', actorType: 'user', targetType: 'user' });
    expect(ok?.actorId).toMatch(/^usr_/);

    const page = (await (await t.fetch(`${t.api}/audit?action=auth.*&scope=instance&limit=1&offset=1`)).json()) as {
      items: unknown[];
      total: number;
      limit: number;
    };
    expect(page.items).toHaveLength(1);
    expect(page.total).toBeGreaterThanOrEqual(2);
    expect((await t.fetch(`${t.api}/audit?outcome=maybe`)).status).toBe(400);
  });

  it('cannot be changed: no route writes it, and the database refuses updates', async () => {
    const routes = t.app.routeCatalog.filter((r) => r.url.startsWith('/api/v1/audit'));
    expect(routes.map((r) => r.method)).toEqual(['GET']);
    await expect(t.context.store.db.updateTable('audit_events').set({ outcome: 'success' }).execute()).rejects.toThrow(
      /append-only/,
    );
  });
});
