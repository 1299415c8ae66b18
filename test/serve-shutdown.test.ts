import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { freshStore, type TestStore } from './helpers/cli-server.js';
import { MAIN, startServerProcess, type ServerProcess } from './helpers/process.js';
import { redisAvailable } from './helpers/realtime.js';

const redisUp = await redisAvailable();

/** A TCP relay to the test Redis that the test can pull the plug on: Redis "goes down" for the server only. */
async function redisRelay(): Promise<{ url: string; cut(): void }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = createConnection(6379, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => {});
      s.once('close', () => sockets.delete(s));
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `redis://127.0.0.1:${port}`,
    cut() {
      // Refused from now on, and every open connection dropped: what a crashed Redis looks like to clients.
      server.close();
      for (const s of sockets) s.destroy();
    },
  };
}

/** JSON log lines of a process's output. */
const logLines = (output: string) =>
  output
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { level: string; msg: string; limitMs?: number; role?: string; process?: string });

/**
 * Waits until the process (not its supervised worker) has logged that both of its event-bus connections to Redis
 * failed: the outage is noticed, so SIGTERM meets a Redis known to be down rather than racing the news of it (a
 * fixed pause was not always enough on a loaded machine).
 */
async function outageNoticed(output: () => string): Promise<void> {
  for (const deadline = Date.now() + 20_000; ;) {
    const roles = new Set(
      logLines(output())
        .filter((l) => l.msg === 'event bus: Redis connection error' && l.process !== 'worker')
        .map((l) => l.role),
    );
    if (roles.has('publisher') && roles.has('subscriber')) return;
    if (Date.now() > deadline) throw new Error(`the Redis outage was not noticed:\n${output().slice(-2000)}`);
    await sleep(25);
  }
}

describe.skipIf(!redisUp)('shutdown without Redis', () => {
  let store: TestStore;
  let server: ServerProcess | undefined;

  beforeEach(async () => {
    store = await freshStore();
  });
  afterEach(async () => {
    if (server && server.child.exitCode === null && server.child.signalCode === null) server.child.kill('SIGKILL');
    server = undefined;
    await store.remove();
  });

  it('SIGTERM while Redis is unreachable ends the process within its bound, with exit code 1 and an error line', async () => {
    const relay = await redisRelay();
    const tag = randomBytes(4).toString('hex');
    const shutdownTimeoutMs = 500;
    server = await startServerProcess({
      ...store.env,
      WEIR_REDIS_URL: relay.url,
      WEIR_SHUTDOWN_TIMEOUT_MS: String(shutdownTimeoutMs),
      WEIR_JOB_QUEUE_PREFIX: `weirtest-${tag}`,
      WEIR_BUS_CHANNEL_PREFIX: `weirtest-${tag}:`,
    });
    relay.cut();
    await outageNoticed(server.output);
    const asked = Date.now();
    server.child.kill('SIGTERM');
    // The bound is WEIR_SHUTDOWN_TIMEOUT_MS plus 10 s for closing connections (src/serve.ts CLOSE_TIMEOUT_MS).
    const code = await Promise.race([
      server.exited,
      sleep(shutdownTimeoutMs + 10_000 + 5000).then(() => 'still running' as const),
    ]);
    expect(code, server.output().slice(-2000)).toBe(1);
    expect(Date.now() - asked).toBeGreaterThanOrEqual(shutdownTimeoutMs + 10_000 - 100);
    expect(logLines(server.output())).toContainEqual(
      expect.objectContaining({
        level: 'error',
        msg: 'shutdown did not finish in time (is a backing service such as Redis unreachable?); exiting',
        limitMs: shutdownTimeoutMs + 10_000,
      }),
    );
  }, 60_000);

  it('weir worker: SIGTERM while Redis is unreachable ends the process within its bound, with exit code 1', async () => {
    const relay = await redisRelay();
    const tag = randomBytes(4).toString('hex');
    const shutdownTimeoutMs = 500;
    const child = spawn(process.execPath, [MAIN, 'worker'], {
      env: {
        ...process.env,
        ...store.env,
        WEIR_REDIS_URL: relay.url,
        WEIR_SHUTDOWN_TIMEOUT_MS: String(shutdownTimeoutMs),
        WEIR_LOG_LEVEL: 'info',
        WEIR_JOB_QUEUE_PREFIX: `weirtest-${tag}`,
        WEIR_BUS_CHANNEL_PREFIX: `weirtest-${tag}:`,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      for (const deadline = Date.now() + 20_000; !out.includes('weir worker is running');) {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`worker did not start: ${out}`);
        await sleep(50);
      }
      relay.cut();
      await outageNoticed(() => out);
      const asked = Date.now();
      child.kill('SIGTERM');
      const code = await Promise.race([
        exited,
        sleep(shutdownTimeoutMs + 10_000 + 5000).then(() => 'still running' as const),
      ]);
      expect(code, out.slice(-2000)).toBe(1);
      expect(Date.now() - asked).toBeGreaterThanOrEqual(shutdownTimeoutMs + 10_000 - 100);
      expect(logLines(out)).toContainEqual(
        expect.objectContaining({
          level: 'error',
          msg: 'worker shutdown did not finish in time (is a backing service such as Redis unreachable?); exiting',
        }),
      );
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    }
  }, 60_000);
});
