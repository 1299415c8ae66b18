import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { weirCommand } from '../weir-command.js';
import { ApiError, WeirClient, type TokenSource } from './client.js';

/**
 * What `weir login` leaves behind: one session per server, in `<configDir>/credentials.json`, and the
 * TokenSource that turns it into an Authorization header (refreshing the access token as it runs out).
 */

export interface StoredCredentials {
  accessToken: string;
  refreshToken: string;
  /** ISO time; computed from the server's `expiresIn` and this machine's clock. */
  accessExpiresAt: string;
  refreshExpiresAt: string;
  email: string;
}

/** What POST /auth/login and POST /auth/refresh answer (the parts the CLI keeps). */
export interface TokenAnswer {
  accessToken: string;
  /** Seconds. */
  expiresIn: number;
  refreshToken: string;
  refreshExpiresAt: string;
  user: { email: string };
}

export function credentialsFrom(answer: TokenAnswer, now = Date.now()): StoredCredentials {
  return {
    accessToken: answer.accessToken,
    refreshToken: answer.refreshToken,
    accessExpiresAt: new Date(now + answer.expiresIn * 1000).toISOString(),
    refreshExpiresAt: answer.refreshExpiresAt,
    email: answer.user.email,
  };
}

type CredentialsFile = Record<string, StoredCredentials>;

/** `HTTP://Host:8080/` and `http://host:8080` are one server. */
export function serverKey(url: string): string {
  const u = new URL(url);
  return `${u.origin}${u.pathname.replace(/\/+$/, '')}`;
}

function isCredentials(v: unknown): v is StoredCredentials {
  if (typeof v !== 'object' || v === null) return false;
  const c = v as Record<string, unknown>;
  return ['accessToken', 'refreshToken', 'accessExpiresAt', 'refreshExpiresAt', 'email'].every(
    (k) => typeof c[k] === 'string',
  );
}

const LOCK_WAIT_MS = 10_000;
/** A lock older than this belongs to a process that died holding it. */
const LOCK_STALE_MS = 30_000;

/**
 * The credentials file: directory 0700, file 0600, always replaced whole (temp file + rename) so a crash or a
 * concurrent reader never sees half a file.
 */
export class CredentialsStore {
  readonly file: string;
  private readonly lockFile: string;

  constructor(readonly dir: string) {
    this.file = path.join(dir, 'credentials.json');
    this.lockFile = path.join(dir, 'credentials.lock');
  }

  async get(url: string): Promise<StoredCredentials | undefined> {
    return (await this.readAll())[serverKey(url)];
  }

  async set(url: string, credentials: StoredCredentials): Promise<void> {
    const all = await this.readAll();
    all[serverKey(url)] = credentials;
    await this.writeAll(all);
  }

  /** True when there was something to remove. */
  async remove(url: string): Promise<boolean> {
    const all = await this.readAll();
    const key = serverKey(url);
    if (!(key in all)) return false;
    delete all[key];
    await this.writeAll(all);
    return true;
  }

  /**
   * Runs `fn` while holding an exclusive lock on the file. Refresh tokens work once: two `weir` processes that
   * refreshed the same token at the same moment would look like token theft, and the server would end the session.
   */
  async locked<T>(fn: () => Promise<T>): Promise<T> {
    await this.ensureDir();
    const deadline = Date.now() + LOCK_WAIT_MS;
    for (;;) {
      try {
        await (await open(this.lockFile, 'wx', 0o600)).close();
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        const age = await stat(this.lockFile).then(
          (s) => Date.now() - s.mtimeMs,
          () => 0,
        );
        if (age > LOCK_STALE_MS) await unlink(this.lockFile).catch(() => {});
        else if (Date.now() > deadline)
          throw new Error(`${this.lockFile} is held by another weir process; delete it if none is running`);
        else await new Promise((r) => setTimeout(r, 50));
      }
    }
    try {
      return await fn();
    } finally {
      await unlink(this.lockFile).catch(() => {});
    }
  }

  private async readAll(): Promise<CredentialsFile> {
    let text: string;
    try {
      const s = await stat(this.file);
      // Tokens are passwords: tighten a file someone (or an old version) left readable by others.
      if ((s.mode & 0o077) !== 0) await chmod(this.file, 0o600);
      text = await readFile(this.file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw e;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new Error(`${this.file} is not valid JSON; delete it and run \`${weirCommand('login')}\``);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      throw new Error(`${this.file} is not a credentials file; delete it and run \`${weirCommand('login')}\``);
    const all: CredentialsFile = {};
    for (const [key, value] of Object.entries(parsed)) if (isCredentials(value)) all[key] = value;
    return all;
  }

  private async writeAll(all: CredentialsFile): Promise<void> {
    await this.ensureDir();
    const tmp = `${this.file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      await writeFile(tmp, `${JSON.stringify(all, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
      await rename(tmp, this.file);
    } catch (e) {
      await unlink(tmp).catch(() => {});
      throw e;
    }
  }

  private async ensureDir(): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
  }
}

/** The stored session is gone for good (refresh refused, or past its end): the user must log in again. */
export class SessionEndedError extends Error {
  constructor() {
    super(`your session has ended; run \`${weirCommand('login')}\``);
    this.name = 'SessionEndedError';
  }
}

/** Refresh the access token this long before it expires, so it does not run out in flight (ms). */
const REFRESH_MARGIN_MS = 30_000;

export interface SessionTokensOptions {
  url: string;
  store: CredentialsStore;
  /** WEIR_TOKEN: sent as is, and stored credentials are not used at all. */
  envToken: string | null;
  /** POST /auth/refresh; an ApiError with status 401 means the refresh token was refused. */
  refresh(refreshToken: string): Promise<TokenAnswer>;
  now?: () => number;
}

/** WEIR_TOKEN, else the stored session's access token, refreshed (and stored again) before it expires. */
export class SessionTokens implements TokenSource {
  private readonly now: () => number;
  private usedStored = false;

  constructor(private readonly options: SessionTokensOptions) {
    this.now = options.now ?? Date.now;
  }

  async authorization(): Promise<string | undefined> {
    if (this.options.envToken) return `Bearer ${this.options.envToken}`;
    const stored = await this.options.store.get(this.options.url);
    if (!stored) return undefined;
    this.usedStored = true;
    if (Date.parse(stored.accessExpiresAt) - this.now() > REFRESH_MARGIN_MS) return `Bearer ${stored.accessToken}`;
    return `Bearer ${(await this.refreshed(stored.accessToken)).accessToken}`;
  }

  async renew(rejected: string): Promise<boolean> {
    if (this.options.envToken) return false;
    const stored = await this.options.store.get(this.options.url);
    if (!stored) return false;
    // Another weir process refreshed since this request was sent: its token is the one to retry with.
    if (`Bearer ${stored.accessToken}` !== rejected) return true;
    await this.refreshed(stored.accessToken);
    return true;
  }

  rejected(detail: string): string {
    if (this.options.envToken) return `WEIR_TOKEN was refused: ${detail}`;
    if (this.usedStored) return `the server refused your session (${detail}); run \`${weirCommand('login')}\``;
    return `not logged in: run \`${weirCommand('login')}\` or set WEIR_TOKEN`;
  }

  /**
   * Refreshes under the file lock. `stale` is the access token the caller found wanting; when the file no longer
   * holds it, another process has refreshed in the meantime and its tokens are used as they are.
   */
  private refreshed(stale: string): Promise<StoredCredentials> {
    const { store, url } = this.options;
    return store.locked(async () => {
      const current = await store.get(url);
      if (!current) throw new SessionEndedError();
      if (current.accessToken !== stale) return current;
      if (Date.parse(current.refreshExpiresAt) <= this.now()) {
        await store.remove(url);
        throw new SessionEndedError();
      }
      let answer: TokenAnswer;
      try {
        answer = await this.options.refresh(current.refreshToken);
      } catch (e) {
        if (e instanceof ApiError && e.problem.status === 401) {
          await store.remove(url);
          throw new SessionEndedError();
        }
        throw e;
      }
      const next = credentialsFrom(answer, this.now());
      await store.set(url, next);
      return next;
    });
  }
}

/** The token source of client commands against `url`: refreshes go through POST /api/v1/auth/refresh. */
export function sessionTokens(url: string, store: CredentialsStore, envToken: string | null): SessionTokens {
  const anonymous = new WeirClient(url);
  return new SessionTokens({
    url,
    store,
    envToken,
    refresh: (refreshToken) =>
      anonymous.postJson<TokenAnswer>('/api/v1/auth/refresh', {
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ refreshToken }),
      }),
  });
}
