import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ADMIN, createTestDatabase, login, pgAdminUrl } from './app.js';
import { freePort, TEST_SERVER_ENV } from './process.js';

/** The compiled entry point (`npm test` builds before running vitest). */
export const MAIN = fileURLToPath(new URL('../../dist/weir.mjs', import.meta.url));

export { freePort };

export interface TestServer {
  url: string;
  /** An access token of `loginAs` (default: the bootstrap owner ADMIN, owner of ws_default and instance administrator). */
  token: string;
  store: TestStore;
  stop(): Promise<void>;
}

/** A data directory and, with WEIR_TEST_DATABASE_URL, a PostgreSQL database of its own. */
export interface TestStore {
  dataDir: string;
  /** WEIR_DATA_DIR (and WEIR_DATABASE_URL): points `weir serve` or `weir admin …` at this store. */
  env: Record<string, string>;
  remove(): Promise<void>;
}

export async function freshStore(): Promise<TestStore> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'weir-cli-server-'));
  const database = pgAdminUrl ? await createTestDatabase(pgAdminUrl) : null;
  return {
    dataDir,
    env: { WEIR_DATA_DIR: dataDir, ...(database ? { WEIR_DATABASE_URL: database.url } : {}) },
    async remove() {
      await database?.drop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export interface TestServerOptions {
  env?: Record<string, string>;
  /** Serve this store instead of a fresh one; the caller removes it. */
  store?: TestStore;
  loginAs?: { email: string; password: string };
}

/**
 * `weir serve` as a real process over a fresh store (data directory, and PostgreSQL database in PG mode),
 * bootstrapped with ADMIN (which only acts on an empty database); resolves once /health/ready answers 200 and
 * `loginAs` has logged in.
 */
export async function startTestServer(opts: TestServerOptions = {}): Promise<TestServer> {
  const store = opts.store ?? (await freshStore());
  const port = await freePort();
  const env: Record<string, string | undefined> = {
    ...process.env,
    WEIR_PORT: String(port),
    WEIR_HOST: '127.0.0.1',
    WEIR_LOG_LEVEL: 'warn',
    WEIR_URL: '',
    WEIR_BOOTSTRAP_ADMIN_EMAIL: ADMIN.email,
    WEIR_BOOTSTRAP_ADMIN_PASSWORD: ADMIN.password,
    ...TEST_SERVER_ENV,
    ...store.env,
    ...opts.env,
  };
  const child: ChildProcess = spawn(process.execPath, [MAIN, 'serve'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout?.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    if (!opts.store) await store.remove();
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`weir serve exited early:\n${log}`);
    }
    try {
      if ((await fetch(`${url}/health/ready`)).status === 200) break;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`weir serve not ready within 30 s:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const who = opts.loginAs ?? ADMIN;
  const token = await login(`${url}/api/v1`, who.email, who.password).catch(async (e: unknown) => {
    await stop();
    throw e;
  });
  return { url, token, store, stop };
}

export interface CliResult {
  code: number | null;
  stdout: string;
  /** stdout as bytes, for binary downloads. */
  stdoutBytes: Buffer;
  stderr: string;
}

export interface CliOptions {
  /** WEIR_URL, or null to leave it unset. */
  url: string | null;
  /** WEIR_TOKEN (an access token or API key); unset when not given. */
  token?: string;
  /** WEIR_CONFIG_DIR, where `weir login` stores credentials; default: a fresh empty directory for this one run. */
  configDir?: string;
  /** Written to stdin, which is then closed. */
  input?: string;
  cwd?: string;
  env?: Record<string, string>;
}

/**
 * Runs `weir <args>` as a child process, stdin/stdout/stderr all pipes (so: not a terminal). The developer's own
 * WEIR_TOKEN, WEIR_WORKSPACE and credentials never leak in: the config dir is always a temporary one.
 */
export async function runCli(args: string[], opts: CliOptions): Promise<CliResult> {
  const ownConfigDir = opts.configDir === undefined ? await mkdtemp(path.join(tmpdir(), 'weir-cli-config-')) : null;
  const env: Record<string, string | undefined> = {
    ...process.env,
    WEIR_URL: opts.url ?? undefined,
    WEIR_CONFIG_DIR: opts.configDir ?? ownConfigDir!,
    ...opts.env,
  };
  if (opts.url === null) delete env.WEIR_URL;
  delete env.WEIR_TOKEN;
  delete env.WEIR_WORKSPACE;
  if (opts.token !== undefined) env.WEIR_TOKEN = opts.token;
  if (opts.env?.WEIR_WORKSPACE !== undefined) env.WEIR_WORKSPACE = opts.env.WEIR_WORKSPACE;
  try {
    const child = spawn(process.execPath, [MAIN, ...args], { env, cwd: opts.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    child.stdin.end(opts.input);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (c) => resolve(c));
    });
    const stdoutBytes = Buffer.concat(out);
    return { code, stdout: stdoutBytes.toString('utf8'), stdoutBytes, stderr: Buffer.concat(err).toString('utf8') };
  } finally {
    if (ownConfigDir) await rm(ownConfigDir, { recursive: true, force: true });
  }
}
