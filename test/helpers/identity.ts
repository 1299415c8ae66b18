import { expect } from 'vitest';
import { login, type TestApp } from './app.js';

/** People and keys for access tests, made through the API as the bootstrap owner (an instance admin). */

export interface Actor {
  userId: string;
  email: string;
  token: string;
  headers: Record<string, string>;
}

let counter = 0;

/** A new user with `role` in `workspaceId` (default: the default workspace), logged in. */
export async function actor(
  t: TestApp,
  role: string,
  workspaceId = 'ws_default',
  password = 'a long enough password',
): Promise<Actor> {
  const email = `${role}-${++counter}-${Date.now()}@weir.test`;
  const res = await t.fetch(`${t.api}/users`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password, workspaceId, role }),
  });
  expect(res.status, await res.clone().text()).toBe(201);
  const { id } = (await res.json()) as { id: string };
  const token = await login(t.api, email, password);
  return { userId: id, email, token, headers: { authorization: `Bearer ${token}` } };
}

/** A workspace owned by `owner` (default: the bootstrap owner). */
export async function workspace(t: TestApp, name: string, headers: Record<string, string> = t.auth): Promise<string> {
  const res = await fetch(`${t.api}/workspaces`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json' },
    body: JSON.stringify({ name }),
  });
  expect(res.status, await res.clone().text()).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

/** An API key of the caller's workspace with the given scopes; answers the bearer token. */
export async function apiKey(
  t: TestApp,
  scopes?: string[],
  headers: Record<string, string> = t.auth,
  extra: Record<string, unknown> = {},
): Promise<{ id: string; token: string }> {
  const res = await fetch(`${t.api}/keys`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json' },
    body: JSON.stringify({ name: `key ${++counter}`, ...(scopes ? { scopes } : {}), ...extra }),
  });
  expect(res.status, await res.clone().text()).toBe(201);
  const body = (await res.json()) as { key: { id: string }; token: string };
  return { id: body.key.id, token: body.token };
}

export const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });

/** Polls until `check` passes or the deadline passes (audit rows are written just after the response). */
export async function eventually<T>(fn: () => Promise<T>, check: (v: T) => boolean, timeoutMs = 5000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (check(v) || Date.now() > until) return v;
    await new Promise((r) => setTimeout(r, 25));
  }
}
