import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ADMIN } from './support';

/**
 * Starts one Weir server for the browser suite: the built bundle (`npm test` builds it first) with the built
 * dashboard, on a free port, with a fresh data directory and a bootstrap administrator. Its URL reaches the tests
 * as WEIR_E2E_URL. With WEIR_TEST_DATABASE_URL set (CI's PostgreSQL pass) it uses that database instead of SQLite.
 */
export default async function globalSetup(): Promise<() => Promise<void>> {
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
    WEIR_RATE_LIMIT_LOGIN_PER_MINUTE: process.env.WEIR_RATE_LIMIT_LOGIN_PER_MINUTE ?? '1000',
  };
  delete env.WEIR_DATABASE_URL;
  const child = spawn(process.execPath, [path.join(root, 'dist', 'weir.mjs'), 'serve'], {
    cwd: root,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));

  const deadline = Date.now() + 60_000;
  let url: string | null = null;
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
    await rm(dataDir, { recursive: true, force: true });
  };
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
