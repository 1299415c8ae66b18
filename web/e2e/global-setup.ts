import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { ADMIN } from './support';

/**
 * Starts one Weir server for the browser suite: the built bundle (`npm test` builds it first) with the built
 * dashboard, on a free port, with a fresh data directory and a bootstrap administrator. Its URL reaches the tests
 * as WEIR_E2E_URL. With WEIR_TEST_DATABASE_URL set (CI's PostgreSQL pass) the server's metadata lives in a fresh
 * PostgreSQL database made from that admin URL (and dropped afterwards) instead of SQLite.
 */
export default async function globalSetup(): Promise<() => Promise<void>> {
  const chromium = process.env.WEIR_CHROMIUM ?? '/usr/bin/chromium';
  if (!existsSync(chromium))
    throw new Error(
      `The browser suite drives Chromium at ${chromium}, which is not there: install Debian's (\`apt install chromium\`) or set WEIR_CHROMIUM to a Chromium or Chrome executable. (Playwright's own browser download is not used.)`,
    );
  const root = fileURLToPath(new URL('../..', import.meta.url));
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'weir-e2e-'));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    WEIR_DATA_DIR: dataDir,
    WEIR_PORT: '0',
    WEIR_HOST: '127.0.0.1',
    WEIR_LOG_FORMAT: 'json',
    WEIR_LOG_LEVEL: 'info',
    WEIR_BOOTSTRAP_ADMIN_EMAIL: ADMIN.email,
    WEIR_BOOTSTRAP_ADMIN_PASSWORD: ADMIN.password,
    // The suite signs in many times from one address.
    WEIR_RATE_LIMIT_LOGIN: '1000/min',
    // jobs.spec.ts cancels a long test.sleep job, enqueued through POST /api/v1/jobs/test (src/jobs/test-routes.ts).
    WEIR_TEST_JOB_KINDS: '1',
    // The connectors spec's fake ThingSpeak listens on 127.0.0.1, which connectors refuse by default (SSRF).
    WEIR_CONNECTORS_ALLOW_PRIVATE: 'true',
  };
  delete env.WEIR_DATABASE_URL;
  const database = process.env.WEIR_TEST_DATABASE_URL ? await createDatabase(process.env.WEIR_TEST_DATABASE_URL) : null;
  if (database) env.WEIR_DATABASE_URL = database.url;
  let url: string | null = null;
  const child = spawn(process.execPath, [path.join(root, 'dist', 'weir.mjs'), 'serve'], {
    cwd: root,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // The server's log is kept for the whole run (beside Playwright's output directory, which Playwright empties when
  // it starts): a failed test is diagnosed from what the server and its worker said, here and in CI's summary.
  const logFile = path.join(root, 'test-results', 'browser-server.log');
  mkdirSync(path.dirname(logFile), { recursive: true });
  const serverLog = createWriteStream(logFile);
  let output = '';
  for (const stream of [child.stdout, child.stderr])
    stream.on('data', (chunk: Buffer) => {
      serverLog.write(chunk);
      output += chunk.toString();
    });

  const deadline = Date.now() + 60_000;
  while (url === null) {
    if (child.exitCode !== null) throw new Error(`weir serve exited early:\n${output}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`weir serve did not listen in time:\n${output}`);
    }
    url = listeningUrl(output);
    if (url === null) await new Promise((resolve) => setTimeout(resolve, 50));
  }
  for (;;) {
    const ready = await fetch(`${url}/health/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) break;
    if (Date.now() > deadline) throw new Error(`weir serve not ready in time:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  process.env.WEIR_E2E_URL = url;
  process.env.WEIR_E2E_DATA_DIR = dataDir;

  return async () => {
    child.kill('SIGTERM');
    await new Promise((resolve) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        resolve(undefined);
      }, 10_000);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve(undefined);
      });
    });
    await new Promise((resolve) => serverLog.end(resolve));
    await rm(dataDir, { recursive: true, force: true });
    await database?.drop();
  };
}

async function createDatabase(adminUrl: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `weir_e2e_${randomBytes(6).toString('hex')}`;
  const run = async (sql: string) => {
    const client = new pg.Client({ connectionString: adminUrl });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await run(`CREATE DATABASE ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => run(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

function listeningUrl(output: string): string | null {
  for (const line of output.split('\n')) {
    if (!line.includes('"weir is listening"')) continue;
    try {
      const { url } = JSON.parse(line) as { url?: unknown };
      if (typeof url === 'string') return url;
    } catch {
      // an unfinished line
    }
  }
  return null;
}
