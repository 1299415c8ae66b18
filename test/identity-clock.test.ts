import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/clock.js';
import { login, startTestApp, type TestApp } from './helpers/app.js';
import { apiKey, bearer, eventually } from './helpers/identity.js';
import { problemOf } from './helpers/upload.js';

const HOUR = 3_600_000;

/**
 * Identity's expiries go by the server's clock (src/clock.ts): moving a ManualClock ends invitations, API keys and
 * sessions without waiting for them. The tests share one clock and run in order; each moves it further on, so the
 * session test (which outlives the bootstrap owner's session) comes last.
 */
describe('identity expiry by the server clock', () => {
  const clock = new ManualClock();
  let t: TestApp;
  let counter = 0;
  const json = { 'content-type': 'application/json' };
  const password = 'a long enough password';

  beforeAll(async () => {
    t = await startTestApp(
      { WEIR_INVITATION_TTL: '1h', WEIR_REFRESH_TOKEN_TTL_SECONDS: String(24 * 3600) },
      { clock, jobs: 'inline' },
    );
  });
  afterAll(async () => t?.close());

  /** An account in no workspace, logged in: its access token and the whole login answer. */
  async function account() {
    const email = `clock-${++counter}-${Date.now()}@weir.test`;
    const res = await t.fetch(`${t.api}/users`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ email, password }),
    });
    expect(res.status, await res.clone().text()).toBe(201);
    return { email, headers: bearer(await login(t.api, email, password)) };
  }

  it('an invitation is open until its TTL has passed on the clock, then expired', async () => {
    const invitee = await account();
    const sent = await t.fetch(`${t.api}/workspaces/ws_default/invitations`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ email: invitee.email, role: 'viewer' }),
    });
    expect(sent.status, await sent.clone().text()).toBe(202);
    const invitation = (await sent.json()) as { id: string; expiresAt: string };
    expect(invitation.expiresAt).toBe(new Date(clock.nowMs() + HOUR).toISOString());
    const mine = async () =>
      (
        (await (await fetch(`${t.api}/invitations`, { headers: invitee.headers })).json()) as {
          items: { id: string }[];
        }
      ).items;

    clock.advance(HOUR - 60_000);
    expect((await mine()).map((i) => i.id)).toEqual([invitation.id]);
    clock.advance(2 * 60_000);
    expect(await mine()).toEqual([]);
    const late = await fetch(`${t.api}/invitations/${invitation.id}/accept`, {
      method: 'POST',
      headers: invitee.headers,
    });
    expect(late.status).toBe(410);
    expect((await problemOf(late)).code).toBe('invitation_expired');
  });

  it('an API key records its use at the clock time and stops at its expiry on the clock', async () => {
    const key = await apiKey(t, ['datasets:read'], t.auth, {
      expiresAt: new Date(clock.nowMs() + HOUR).toISOString(),
    });
    const usedAt = clock.now().toISOString();
    expect((await fetch(`${t.api}/datasets`, { headers: bearer(key.token) })).status).toBe(200);
    const listed = await eventually(
      async () =>
        ((await (await t.fetch(`${t.api}/keys`)).json()) as { items: { id: string; lastUsedAt: string | null }[] })
          .items,
      (items) => items.find((k) => k.id === key.id)?.lastUsedAt !== null,
    );
    expect(listed.find((k) => k.id === key.id)?.lastUsedAt).toBe(usedAt);

    clock.advance(HOUR);
    const expired = await fetch(`${t.api}/datasets`, { headers: bearer(key.token) });
    expect(expired.status).toBe(401);
    expect((await problemOf(expired)).detail).toMatch(/expired/);
  });

  it('a session ends when its refresh lifetime has passed on the clock: rotation does not extend it', async () => {
    const person = await account();
    const res = await fetch(`${t.api}/auth/login`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ email: person.email, password }),
    });
    const first = (await res.json()) as { refreshToken: string; refreshExpiresAt: string };
    expect(first.refreshExpiresAt).toBe(new Date(clock.nowMs() + 24 * HOUR).toISOString());

    clock.advance(23 * HOUR);
    const rotated = await fetch(`${t.api}/auth/refresh`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ refreshToken: first.refreshToken }),
    });
    expect(rotated.status).toBe(200);
    // The cookie lasts as long as the session has left by the clock: one hour.
    expect(rotated.headers.get('set-cookie')).toMatch(/Max-Age=3600;/);
    const second = (await rotated.json()) as { accessToken: string; refreshToken: string; refreshExpiresAt: string };
    expect(second.refreshExpiresAt).toBe(first.refreshExpiresAt);
    expect((await fetch(`${t.api}/auth/me`, { headers: bearer(second.accessToken) })).status).toBe(200);

    clock.advance(HOUR);
    const ended = await fetch(`${t.api}/auth/me`, { headers: bearer(second.accessToken) });
    expect(ended.status).toBe(401);
    expect((await problemOf(ended)).detail).toMatch(/session has ended/);
    const refused = await fetch(`${t.api}/auth/refresh`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ refreshToken: second.refreshToken }),
    });
    expect(refused.status).toBe(401);
  });
});
