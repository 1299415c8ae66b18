import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import pg from 'pg';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config.js';
import { createContext, type AppContext } from '../../src/context.js';
import { createLogger } from '../../src/logger.js';

/**
 * Boots a real Weir app on a loopback port with a fresh data dir. With WEIR_TEST_DATABASE_URL set
 * (postgres://…), each app gets a fresh PostgreSQL database, dropped again on close; otherwise SQLite.
 */
export interface TestApp {
  url: string;
  api: string;
  app: FastifyInstance;
  context: AppContext;
  config: Config;
  dataDir: string;
  /** Log lines written so far (parsed pino JSON). */
  logs: Record<string, unknown>[];
  close(): Promise<void>;
}

export const pgAdminUrl = process.env.WEIR_TEST_DATABASE_URL;
export const dialectUnderTest = pgAdminUrl ? 'postgres' : 'sqlite';

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

export async function startTestApp(env: Record<string, string> = {}): Promise<TestApp> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'weir-test-'));
  const database = pgAdminUrl ? await createTestDatabase(pgAdminUrl) : null;
  const config = loadConfig({
    WEIR_DATA_DIR: dataDir,
    WEIR_LOG_LEVEL: 'info',
    WEIR_DUCKDB_THREADS: '2',
    ...(database ? { WEIR_DATABASE_URL: database.url } : {}),
    ...env,
  });
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) logs.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const log = createLogger(config.logLevel, sink);
  const context = await createContext(config, log);
  const app = await buildApp(context);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    api: `${url}/api/v1`,
    app,
    context,
    config,
    dataDir,
    logs,
    async close() {
      await app.close();
      await database?.drop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
