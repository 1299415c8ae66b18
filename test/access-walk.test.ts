import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_PERMISSIONS, permissionsOf, type Permission } from '../src/identity/permissions.js';
import { login, startTestApp, ADMIN, type TestApp } from './helpers/app.js';
import { actor, apiKey, bearer, eventually, workspace, type Actor } from './helpers/identity.js';

/**
 * Walks every registered route, so routes added later are covered without touching this file: an unauthenticated
 * call gets 401, a caller without the route's permission 403 (or 404), an outsider 404 on workspace routes, and
 * every mutating request leaves an audit row. Only the explicit public list below is exempt.
 */
const PUBLIC = new Set([
  'GET /health/live',
  'GET /health/ready',
  'GET /metrics',
  'GET /openapi.json',
  'POST /api/v1/auth/login',
  'POST /api/v1/auth/refresh',
]);

let t: TestApp;
let viewer: Actor;
let owner: Actor;
let outsider: Actor;
const keyWithout = new Map<Permission, string>();

beforeAll(async () => {
  t = await startTestApp();
  viewer = await actor(t, 'viewer');
  owner = await actor(t, 'owner');
  outsider = await actor(t, 'owner', await workspace(t, 'Outside'));
  const machine = permissionsOf('machine');
  for (const p of machine) keyWithout.set(p, (await apiKey(t, [...machine].filter((q) => q !== p))).token);
});
afterAll(async () => {
  await t?.close();
});

/** A concrete URL for a route template: ids that look real but exist nowhere. */
function concrete(url: string): string {
  return url
    .replace(':workspaceId', 'ws_default')
    .replace(':userId', 'usr_01J00000000000000000000000')
    .replace(/:(\w+)/g, (_m, name: string) => (name === 'id' ? 'x_01J00000000000000000000000' : `p_${name}`));
}

function call(method: string, url: string, headers: Record<string, string> = {}) {
  const withBody = method === 'POST' || method === 'PUT' || method === 'PATCH';
  return fetch(`${t.url}${concrete(url)}`, { method, headers: { ...headers, ...(withBody ? { 'content-type': 'application/json' } : {}) }, body: withBody ? '{}' : undefined });
}

describe('every route is protected', () => {
  it('declares public access only for the known public list', () => {
    const declared = t.app.routeCatalog.filter((r) => r.access === 'public').map((r) => `${r.method} ${r.url}`);
    expect(declared.filter((r) => !PUBLIC.has(r))).toEqual([]);
    expect(t.app.routeCatalog.length).toBeGreaterThan(20);
    // The matrix names only known permissions.
    for (const r of t.app.routeCatalog) if (r.access !== 'public' && r.access !== 'authenticated') expect(ALL_PERMISSIONS).toContain(r.access);
  });

  it('answers 401 to unauthenticated and badly authenticated calls on every non-public route', async () => {
    for (const r of t.app.routeCatalog) {
      if (r.access === 'public') continue;
      for (const headers of [{}, bearer('garbage'), bearer('weir_key_01J00000000000000000000000_' + 'A'.repeat(43))]) {
        const res = await call(r.method, r.url, headers);
        expect(res.status, `${r.method} ${r.url} ${JSON.stringify(headers)}`).toBe(401);
        expect(res.headers.get('content-type')).toContain('application/problem+json');
      }
    }
  });

  it('answers 403 or 404 to a caller without the permission, on every route', async () => {
    for (const r of t.app.routeCatalog) {
      if (r.access === 'public' || r.access === 'authenticated') continue;
      const label = `${r.method} ${r.url} (${r.access})`;
      if (r.access === 'system:admin') {
        // A workspace owner is not an instance admin.
        expect((await call(r.method, r.url, owner.headers)).status, label).toBe(403);
        continue;
      }
      const token = keyWithout.get(r.access);
      const credential = token ? bearer(token) : viewer.headers;
      if (!token) expect(permissionsOf('viewer').has(r.access), `${label}: the viewer must lack it`).toBe(false);
      const res = await call(r.method, r.url, credential);
      expect([403, 404], label).toContain(res.status);
      if (res.status === 403) expect(((await res.json()) as { permission?: string }).permission, label).toBe(r.access);
    }
  });

  it('answers 404 to a member of another workspace on every workspace-scoped route', async () => {
    for (const r of t.app.routeCatalog) {
      if (r.access === 'public' || r.access === 'authenticated' || r.access === 'system:admin') continue;
      // The outsider owns its own workspace: naming the default one must look like nothing is there.
      const res = await call(r.method, r.url, { ...outsider.headers, 'x-weir-workspace': 'ws_default' });
      expect(res.status, `${r.method} ${r.url}`).toBe(404);
    }
  });
});

describe('every mutating route is audited', () => {
  it('writes one audit row per mutating request, whatever its outcome', async () => {
    const all = t.app.routeCatalog.filter((r) => ['POST', 'PUT', 'PATCH', 'DELETE'].includes(r.method));
    // The one exception: a tus PATCH is one chunk of an upload, whose creation and termination are audited.
    expect(all.filter((r) => !r.audited).map((r) => `${r.method} ${r.url}`)).toEqual(['PATCH /api/v1/uploads/:id']);
    const mutating = all.filter((r) => r.audited);
    expect(mutating.length).toBeGreaterThan(8);
    const ids: string[] = [];
    for (const [i, r] of mutating.entries()) {
      const requestId = `walk-${i}-${Date.now()}`;
      // Logging out would end the session the other calls use: that one gets its own login.
      const headers = r.url === '/api/v1/auth/logout' ? bearer(await login(t.api, ADMIN.email, ADMIN.password)) : t.auth;
      await call(r.method, r.url, { ...headers, 'x-request-id': requestId });
      ids.push(requestId);
    }
    const found = await eventually(
      async () => ((await (await t.fetch(`${t.api}/audit?scope=instance&limit=500`)).json()) as { items: { requestId: string; action: string; outcome: string; ip: string }[] }).items,
      (items) => ids.every((id) => items.some((a) => a.requestId === id)),
    );
    for (const [i, id] of ids.entries()) {
      const rows = found.filter((a) => a.requestId === id);
      expect(rows, `${mutating[i]!.method} ${mutating[i]!.url}`).toHaveLength(1);
      expect(rows[0]!.ip).toBe('127.0.0.1');
    }
  });
});
