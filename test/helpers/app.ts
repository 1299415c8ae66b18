import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Writable } from 'node:stream';
import pg from 'pg';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config.js';
import type { Clock } from '../../src/clock.js';
import { createContext, type AppContext } from '../../src/context.js';
import { setJobThreadEntry } from '../../src/jobs/threads/entry-url.js';
import { createLogger } from '../../src/logger.js';
import { startS3Server } from './s3.js';

/**
 * Boots a real Weir app on a loopback port with a fresh data dir. With WEIR_TEST_DATABASE_URL set
 * (postgres://…), each app gets a fresh PostgreSQL database, dropped again on close; otherwise SQLite.
 * With WEIR_TEST_BLOBS=s3, each app stores blobs in a bucket of its own S3 server (s3rver on loopback),
 * stopped again on close; otherwise in `<dataDir>/blobs`.
 */
export interface TestApp {
  url: string;
  api: string;
  app: FastifyInstance;
  context: AppContext;
  config: Config;
  dataDir: string;
  /** Headers that authenticate as the bootstrap owner of the default workspace. */
  auth: Record<string, string>;
  /** `fetch` that adds `auth` unless the call sets its own authorization header. */
  fetch: typeof fetch;
  /** Log lines written so far (parsed pino JSON). */
  logs: Record<string, unknown>[];
  close(): Promise<void>;
}

/** The owner every test app is bootstrapped with. */
export const ADMIN = { email: 'owner@weir.test', password: 'correct horse battery staple' };

/** Logs in through the API and answers the access token. */
export async function login(api: string, email: string, password: string): Promise<string> {
  const res = await fetch(`${api}/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
  if (res.status !== 200) throw new Error(`login as ${email} failed: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { accessToken: string }).accessToken;
}

export const pgAdminUrl = process.env.WEIR_TEST_DATABASE_URL;
export const dialectUnderTest = pgAdminUrl ? 'postgres' : 'sqlite';
export const blobsUnderTest = process.env.WEIR_TEST_BLOBS === 's3' ? 's3' : 'local';

export async function createTestDatabase(adminUrl: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `weir_t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

export interface TestAppOptions {
  /**
   * Where jobs run: `supervised` in a worker process started from dist/weir.mjs, as `weir serve` runs them, or
   * `inline` in the test process, as a `weir worker` of a cluster does. Default: as the mode under test runs them
   * (below).
   */
  jobs?: 'inline' | 'supervised';
  /** The time the API process's services go by (expiry, leases, retention); a supervised worker keeps the system's. */
  clock?: Clock;
}

/**
 * The embedded default (SQLite) runs jobs in the worker process `weir serve` supervises; the PostgreSQL pass in the
 * test process, like the `weir worker` processes of a cluster (about 15% faster). WEIR_TEST_JOBS=inline|supervised
 * overrides either.
 */
const defaultJobs: 'inline' | 'supervised' =
  process.env.WEIR_TEST_JOBS === 'inline' || process.env.WEIR_TEST_JOBS === 'supervised'
    ? process.env.WEIR_TEST_JOBS
    : pgAdminUrl
      ? 'inline'
      : 'supervised';

export async function startTestApp(env: Record<string, string> = {}, options: TestAppOptions = {}): Promise<TestApp> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'weir-test-'));
  const database = pgAdminUrl ? await createTestDatabase(pgAdminUrl) : null;
  const s3 = blobsUnderTest === 's3' ? await startS3Server() : null;
  const config = loadConfig({
    WEIR_DATA_DIR: dataDir,
    WEIR_LOG_LEVEL: 'info',
    WEIR_DUCKDB_THREADS: '2',
    WEIR_BOOTSTRAP_ADMIN_EMAIL: ADMIN.email,
    WEIR_BOOTSTRAP_ADMIN_PASSWORD: ADMIN.password,
    // Plain-HTTP tests read the cookie back; browsers accept Secure cookies on localhost anyway.
    WEIR_COOKIE_SECURE: 'false',
    // Tests log in (and fail to) far more often than people: login limits and lockouts have their own tests
    // (test/guards.test.ts) and are relaxed elsewhere.
    WEIR_RATE_LIMIT_LOGIN: '10000/min',
    WEIR_LOGIN_LOCKOUT_THRESHOLD: 'off',
    WEIR_LOGIN_LOCKOUT_IP_THRESHOLD: 'off',
    ...(database ? { WEIR_DATABASE_URL: database.url } : {}),
    ...s3?.env,
    ...env,
  });
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n'))
        if (line.trim()) logs.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const log = createLogger(config.logLevel, sink);
  const jobs = options.jobs ?? defaultJobs;
  if (jobs === 'supervised') setJobThreadEntry(pathToFileURL(path.resolve('dist/weir.mjs')));
  const context = await createContext(config, log, {
    jobs,
    connectors: true,
    workerLog: (line) => void sink.write(`${line}\n`),
    clock: options.clock,
  });
  const app = await buildApp(context);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const url = `http://127.0.0.1:${port}`;
  const auth: Record<string, string> = {};
  if (config.auth.bootstrapAdmin)
    auth.authorization = `Bearer ${await login(`${url}/api/v1`, config.auth.bootstrapAdmin.email, config.auth.bootstrapAdmin.password)}`;
  return {
    url,
    api: `${url}/api/v1`,
    auth,
    fetch: authedFetch(auth),
    app,
    context,
    config,
    dataDir,
    logs,
    async close() {
      await app.close();
      await database?.drop();
      await s3?.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export function authedFetch(auth: Record<string, string>): typeof fetch {
  return (input, init = {}) => {
    const headers = new Headers(init.headers);
    for (const [k, v] of Object.entries(auth)) if (!headers.has(k)) headers.set(k, v);
    return fetch(input, { ...init, headers });
  };
}
