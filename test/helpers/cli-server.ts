import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './process.js';

/** The compiled entry point (`npm test` builds before running vitest). */
export const MAIN = fileURLToPath(new URL('../../dist/weir.mjs', import.meta.url));

export { freePort };

export interface TestServer {
  url: string;
  stop(): Promise<void>;
}

/** `weir serve` as a real process over a fresh data directory; resolves once /health/ready answers 200. */
export async function startTestServer(): Promise<TestServer> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'weir-cli-server-'));
  const port = await freePort();
  const child: ChildProcess = spawn(process.execPath, [MAIN, 'serve'], {
    env: { ...process.env, WEIR_DATA_DIR: dataDir, WEIR_PORT: String(port), WEIR_HOST: '127.0.0.1', WEIR_LOG_LEVEL: 'warn', WEIR_URL: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
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
    await rm(dataDir, { recursive: true, force: true });
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
  return { url, stop };
}

export interface CliResult {
  code: number | null;
  stdout: string;
  /** stdout as bytes, for binary downloads. */
  stdoutBytes: Buffer;
  stderr: string;
}

/**
 * Runs `weir <args>` as a child process, stdin/stdout/stderr all pipes (so: not a terminal), with WEIR_URL set
 * to `url` (or unset when null).
 */
export async function runCli(args: string[], opts: { url: string | null; cwd?: string }): Promise<CliResult> {
  const env: Record<string, string | undefined> = { ...process.env, WEIR_URL: opts.url ?? undefined };
  if (opts.url === null) delete env.WEIR_URL;
  const child = spawn(process.execPath, [MAIN, ...args], { env, cwd: opts.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdin.end();
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
}
