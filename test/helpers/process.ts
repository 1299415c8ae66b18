import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import path from 'node:path';
import { ADMIN, login } from './app.js';

/** The `weir` bin, as users run it (the bundle `npm run build` writes). */
export const MAIN = path.resolve('dist/weir.mjs');

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Settings for server processes in tests: logins and lockouts relaxed (test/guards.test.ts covers them), so many
 * logins and failed logins in a row never lock the shared owner out.
 */
export const TEST_SERVER_ENV = {
  WEIR_RATE_LIMIT_LOGIN: '10000/min',
  WEIR_LOGIN_LOCKOUT_THRESHOLD: 'off',
  WEIR_LOGIN_LOCKOUT_IP_THRESHOLD: 'off',
};

export interface ServerProcess {
  child: ChildProcess;
  url: string;
  /** An access token of the bootstrap owner (ADMIN). */
  token: string;
  /** Headers that authenticate as ADMIN. */
  auth: Record<string, string>;
  output(): string;
  exited: Promise<number | null>;
}

/**
 * Starts `weir serve` as a real process (bootstrapped with ADMIN on an empty database), waits until
 * /health/ready answers 200 and logs ADMIN in.
 */
export async function startServerProcess(
  env: Record<string, string>,
  opts: { detached?: boolean } = {},
): Promise<ServerProcess> {
  // Port 0: the server binds a port of its own and names it in its "weir is listening" line. A port picked here
  // and bound there later could be taken in between by another process of a busy machine.
  const child = spawn(process.execPath, [MAIN, 'serve'], {
    env: {
      ...process.env,
      WEIR_PORT: '0',
      WEIR_LOG_LEVEL: 'info',
      WEIR_BOOTSTRAP_ADMIN_EMAIL: ADMIN.email,
      WEIR_BOOTSTRAP_ADMIN_PASSWORD: ADMIN.password,
      ...TEST_SERVER_ENV,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    // A process group of its own, so a test can kill the server and its worker process at once (a power cut).
    detached: opts.detached ?? false,
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + 20_000;
  let url: string | null = null;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited early: ${out}`);
    url ??= listeningUrl(out);
    try {
      if (url !== null && (await fetch(`${url}/health/ready`)).status === 200) break;
    } catch {
      // not answering yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`server not ready in time: ${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const token = await login(`${url}/api/v1`, ADMIN.email, ADMIN.password).catch((e: unknown) => {
    child.kill('SIGKILL');
    throw e;
  });
  return { child, url, token, auth: { authorization: `Bearer ${token}` }, output: () => out, exited };
}

/** The URL of the server's JSON log line "weir is listening", once it has been written. */
export function listeningUrl(output: string): string | null {
  for (const line of output.split('\n')) {
    if (!line.includes('"weir is listening"')) continue;
    try {
      const { msg, url } = JSON.parse(line) as { msg?: unknown; url?: unknown };
      if (msg === 'weir is listening' && typeof url === 'string') return url;
    } catch {
      // an unfinished line: the rest comes with the next chunk
    }
  }
  return null;
}
