import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApiError } from './client.js';
import {
  CredentialsStore,
  SessionEndedError,
  SessionTokens,
  serverKey,
  type StoredCredentials,
  type TokenAnswer,
} from './credentials.js';
import { parseExpiry } from './keys.js';

const URL_A = 'http://127.0.0.1:8080';
const NOW = Date.parse('2030-01-01T00:00:00Z');

let root: string;
let store: CredentialsStore;

beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'weir-credentials-'));
  store = new CredentialsStore(path.join(root, 'nested', 'weir'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const session = (accessToken: string, accessInMs: number, refreshInMs = 86_400_000): StoredCredentials => ({
  accessToken,
  refreshToken: `r-${accessToken}`,
  accessExpiresAt: new Date(NOW + accessInMs).toISOString(),
  refreshExpiresAt: new Date(NOW + refreshInMs).toISOString(),
  email: 'a@weir.test',
});

function tokens(refresh: (token: string) => Promise<TokenAnswer>, envToken: string | null = null) {
  const calls: string[] = [];
  const source = new SessionTokens({
    url: URL_A,
    store,
    envToken,
    now: () => NOW,
    refresh: (t) => (calls.push(t), refresh(t)),
  });
  return { source, calls };
}

const answer = (accessToken: string): TokenAnswer => ({
  accessToken,
  expiresIn: 900,
  refreshToken: `r-${accessToken}`,
  refreshExpiresAt: new Date(NOW + 86_400_000).toISOString(),
  user: { email: 'a@weir.test' },
});

const unauthorized = () =>
  new ApiError({
    type: 'about:blank',
    title: 'Unauthorized',
    status: 401,
    detail: 'The refresh token is not valid',
    code: 'unauthorized',
    errors: [],
    requestId: 'r',
  });

describe('CredentialsStore', () => {
  it('keeps one session per server, in a 0600 file inside a 0700 directory, leaving no temp files', async () => {
    await store.set('HTTP://127.0.0.1:8080/', session('a', 1000));
    await store.set('http://other:1', session('b', 1000));
    expect((await store.get(URL_A))?.accessToken).toBe('a');
    expect((await stat(store.file)).mode & 0o777).toBe(0o600);
    expect((await stat(store.dir)).mode & 0o777).toBe(0o700);
    expect(await readdir(store.dir)).toEqual(['credentials.json']);
    expect(await store.remove(URL_A)).toBe(true);
    expect(await store.remove(URL_A)).toBe(false);
    expect((await store.get('http://other:1'))?.accessToken).toBe('b');
  });

  it('normalizes server URLs', () => {
    expect(serverKey('HTTP://Example.COM:80/weir/')).toBe('http://example.com/weir');
    expect(serverKey('http://127.0.0.1:8080')).toBe(URL_A);
  });
});

describe('SessionTokens', () => {
  it('WEIR_TOKEN wins and is never renewed', async () => {
    await store.set(URL_A, session('stored', 60_000));
    const { source, calls } = tokens(() => Promise.resolve(answer('new')), 'weir_key_x');
    expect(await source.authorization()).toBe('Bearer weir_key_x');
    expect(await source.renew('Bearer weir_key_x')).toBe(false);
    expect(source.rejected('The API key has been revoked')).toBe(
      'WEIR_TOKEN was refused: The API key has been revoked',
    );
    expect(calls).toEqual([]);
  });

  it('sends nothing without credentials, and says how to log in', async () => {
    const { source } = tokens(() => Promise.resolve(answer('new')));
    expect(await source.authorization()).toBeUndefined();
    expect(source.rejected('Authentication required')).toBe('not logged in: run `npx weir login` or set WEIR_TOKEN');
  });

  it('uses a token with more than 30 s left as it is, and refreshes one with less', async () => {
    await store.set(URL_A, session('fresh', 31_000));
    const { source, calls } = tokens(() => Promise.resolve(answer('next')));
    expect(await source.authorization()).toBe('Bearer fresh');
    await store.set(URL_A, session('old', 29_000));
    expect(await source.authorization()).toBe('Bearer next');
    expect(calls).toEqual(['r-old']);
    expect(await store.get(URL_A)).toEqual({
      ...session('next', 900_000),
      refreshExpiresAt: answer('next').refreshExpiresAt,
    });
  });

  it('forgets the session when the refresh token is refused, or already past its end', async () => {
    await store.set(URL_A, session('old', 0));
    const refused = tokens(() => Promise.reject(unauthorized()));
    await expect(refused.source.authorization()).rejects.toBeInstanceOf(SessionEndedError);
    expect(await store.get(URL_A)).toBeUndefined();

    await store.set(URL_A, session('old', 0, -1));
    const expired = tokens(() => Promise.resolve(answer('never')));
    await expect(expired.source.authorization()).rejects.toThrow('your session has ended; run `npx weir login`');
    expect(expired.calls).toEqual([]);
    expect(await store.get(URL_A)).toBeUndefined();
  });

  it('keeps the session when the refresh fails for another reason (server down)', async () => {
    await store.set(URL_A, session('old', 0));
    const { source } = tokens(() => Promise.reject(new Error('cannot reach Weir')));
    await expect(source.authorization()).rejects.toThrow('cannot reach Weir');
    expect((await store.get(URL_A))?.accessToken).toBe('old');
  });

  it('after a 401, renews once; a token another process already refreshed is used without refreshing again', async () => {
    await store.set(URL_A, session('rejected', 600_000));
    const { source, calls } = tokens(() => Promise.resolve(answer('renewed')));
    expect(await source.authorization()).toBe('Bearer rejected');
    expect(await source.renew('Bearer rejected')).toBe(true);
    expect(await source.authorization()).toBe('Bearer renewed');
    expect(await source.renew('Bearer rejected')).toBe(true);
    expect(calls).toEqual(['r-rejected']);
    expect(source.rejected('The access token is no longer valid')).toBe(
      'the server refused your session (The access token is no longer valid); run `npx weir login`',
    );
  });
});

describe('parseExpiry', () => {
  it('takes a duration from now or a future ISO date', () => {
    expect(parseExpiry('30d', NOW)).toBe('2030-01-31T00:00:00.000Z');
    expect(parseExpiry('12h', NOW)).toBe('2030-01-01T12:00:00.000Z');
    expect(parseExpiry('2031-06-01', NOW)).toBe('2031-06-01T00:00:00.000Z');
    expect(parseExpiry('2031-06-01T10:00:00+02:00', NOW)).toBe('2031-06-01T08:00:00.000Z');
  });

  it.each([
    ['tomorrow', 'expected a duration'],
    ['30', 'expected a duration'],
    ['2029-12-31', 'must be in the future'],
  ])('refuses %j', (raw, message) => {
    expect(() => parseExpiry(raw, NOW)).toThrow(message);
  });
});
