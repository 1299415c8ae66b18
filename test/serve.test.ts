import { execFile, spawn } from 'node:child_process';
import { request } from 'node:http';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { freshStore, type TestStore } from './helpers/cli-server.js';
import { eventually } from './helpers/jobs.js';
import { freePort, MAIN, startServerProcess } from './helpers/process.js';
import { upload } from './helpers/upload.js';

const run = promisify(execFile);
let store: TestStore;

beforeEach(async () => {
  store = await freshStore();
});
afterEach(async () => {
  await store.remove();
});

describe('weir serve', () => {
  it('a wrong variable stops start-up with one line naming it', async () => {
    const err = await run(process.execPath, [MAIN, 'serve'], {
      env: { ...process.env, WEIR_DATA_DIR: store.dataDir, WEIR_PORT: 'eighty' },
    }).then(
      () => null,
      (e: { code: number; stderr: string }) => e,
    );
    expect(err?.code).toBe(2);
    expect(err?.stderr.trim()).toBe(
      'weir: configuration error: WEIR_PORT: expected an integer from 0 to 65535, got "eighty"',
    );
  });

  it('weir migrate applies migrations once', async () => {
    const env = { ...process.env, ...store.env };
    const first = await run(process.execPath, [MAIN, 'migrate', '--json'], { env });
    const { applied } = JSON.parse(first.stdout) as { applied: string[] };
    expect(applied[0]).toBe('0001_datasets');
    expect(applied).toContain('0002_identity');
    const second = await run(process.execPath, [MAIN, 'migrate'], { env });
    expect(second.stdout.trim()).toBe('database is up to date');
  });

  it("on a pipe it writes JSON lines only, its worker process's too; the ready line says how to create the first user and log in, and those commands work", async () => {
    const server = await startFirstRun({ WEIR_LOG_FORMAT: 'auto' });
    const ready = await server.waitForLine((l) => l.msg === 'weir is listening');
    await server.waitForLine((l) => l.process === 'worker' && l.msg === 'job workers started');
    expect(server.lines().every((l) => l.service === 'weir')).toBe(true);
    expect(server.lines().filter((l) => String(l.msg).startsWith('no users exist yet'))).toHaveLength(1);
    const next = ready.next as { firstUser: string; login: string; docs: string };
    expect(next.docs).toBe(`${server.url}/docs`);
    expect(next.login).toBe(`npx weir login --url ${server.url} --email you@example.com`);
    expect(next.firstUser).toMatch(/(^|\s)npx weir admin create-user --email you@example\.com$/);

    // The hints, run as a newcomer would from the checkout (with a password on stdin instead of the prompt). The
    // data directory comes from the hint alone; only a PostgreSQL URL is the user's to set.
    const password = 'a newcomer password';
    const shell = (command: string, extra: Record<string, string>) =>
      run('sh', ['-c', `printf '%s\\n' "$PASSWORD" | ${command} --password-stdin`], {
        env: { ...withoutStore(process.env), PASSWORD: password, ...extra },
      });
    await shell(next.firstUser, store.env.WEIR_DATABASE_URL ? { WEIR_DATABASE_URL: store.env.WEIR_DATABASE_URL } : {});
    const configDir = path.join(store.dataDir, 'cli-config');
    const loggedIn = await shell(next.login, { WEIR_CONFIG_DIR: configDir });
    expect(loggedIn.stdout).toContain('you@example.com');
    const me = await run(process.execPath, [MAIN, 'whoami', '--json'], {
      env: { ...withoutStore(process.env), WEIR_CONFIG_DIR: configDir, WEIR_URL: server.url },
    });
    expect(JSON.parse(me.stdout)).toMatchObject({ user: { email: 'you@example.com', instanceAdmin: true } });

    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    expect(
      server
        .stdout()
        .trim()
        .split('\n')
        .every((line) => line.startsWith('{') && JSON.parse(line) !== null),
    ).toBe(true);
    // A server, its worker process and three CLI processes (two through npx) on a shared two-core machine.
  }, 120_000);

  it("WEIR_LOG_FORMAT=pretty: readable lines, its worker process's too, and the next steps as text", async () => {
    const server = await startFirstRun({ WEIR_LOG_FORMAT: 'pretty' });
    await eventually(
      () =>
        /^\d\d:\d\d:\d\d\.\d{3} INFO {2}\[worker\] job workers started {2}driver=embedded /m.test(server.stdout())
          ? true
          : undefined,
      'a readable worker line',
    );
    const out = server.stdout();
    expect(out).toMatch(
      /^\d\d:\d\d:\d\d\.\d{3} WARN {2}no users exist yet: create the first owner with `npx weir admin create-user --email you@example\.com`/m,
    );
    expect(out).toContain(`Weir is ready at ${server.url}`);
    expect(out).toMatch(/^ {2}first user {2}(\S+ )?npx weir admin create-user --email you@example\.com {3}\(/m);
    expect(out).toContain(`  dashboard   ${server.url}/   (sign in in a browser)\n`);
    expect(out).toContain(`  CLI log in  npx weir login --url ${server.url} --email you@example.com\n`);
    expect(out).toContain(`  API docs    ${server.url}/docs\n`);
    expect(out).not.toMatch(/^\{/m);
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
  });

  it('SIGTERM lets an in-flight upload finish, then exits 0; data survives a restart', async () => {
    const env = { ...store.env };
    const server = await startServerProcess(env);
    // A multipart upload sent slowly, so SIGTERM arrives while it is in flight.
    const boundary = 'weirtestboundary';
    const head = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="slow.csv"\r\nContent-Type: text/csv\r\n\r\nid,value\n`;
    const tail = `\r\n--${boundary}--\r\n`;
    const rows = Array.from({ length: 20 }, (_, i) => `${i},${i * 10}\n`);
    const total =
      Buffer.byteLength(head) + rows.reduce((s, r) => s + Buffer.byteLength(r), 0) + Buffer.byteLength(tail);
    const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(
        `${server.url}/api/v1/datasets?wait=true`,
        {
          method: 'POST',
          headers: {
            ...server.auth,
            'content-type': `multipart/form-data; boundary=${boundary}`,
            'content-length': total,
          },
        },
        (res) => {
          let body = '';
          res.on('data', (d: Buffer) => (body += d.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on('error', reject);
      req.write(head);
      let i = 0;
      const timer = setInterval(() => {
        if (i < rows.length) req.write(rows[i++]);
        else {
          clearInterval(timer);
          req.end(tail);
        }
      }, 50);
    });
    await new Promise((r) => setTimeout(r, 300));
    server.child.kill('SIGTERM');
    const done = await response;
    expect(done.status).toBe(201);
    const created = JSON.parse(done.body) as { id: string; version: { rowCount: number } };
    expect(created.version.rowCount).toBe(20);
    expect(await server.exited).toBe(0);
    expect(server.output()).toContain('shutdown complete');
    // New connections are refused once it has stopped.
    await expect(fetch(`${server.url}/health/live`)).rejects.toThrow();

    const again = await startServerProcess(env);
    try {
      const res = await fetch(`${again.url}/api/v1/datasets/${created.id}/preview?limit=100`, { headers: again.auth });
      expect(res.status).toBe(200);
      expect(((await res.json()) as { total: number }).total).toBe(20);
      // Same bytes again after restart: still deduplicated.
      const dup = await upload(
        { api: `${again.url}/api/v1`, auth: again.auth },
        'id,value\n' + Array.from({ length: 20 }, (_, i) => `${i},${i * 10}\n`).join(''),
        { filename: 'slow.csv' },
      );
      expect(dup.status).toBe(200);
    } finally {
      again.child.kill('SIGTERM');
      expect(await again.exited).toBe(0);
    }
  });

  it('a SIGKILL mid-upload leaves no partial data behind after restart', async () => {
    const env = { ...store.env };
    const server = await startServerProcess(env);
    const boundary = 'killboundary';
    const req = request(`${server.url}/api/v1/datasets?wait=true`, {
      method: 'POST',
      headers: {
        ...server.auth,
        'content-type': `multipart/form-data; boundary=${boundary}`,
        'content-length': 10_000_000,
      },
    });
    req.on('error', () => {});
    req.write(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="k.csv"\r\n\r\na,b\n`);
    for (let i = 0; i < 1000; i++) req.write(`${i},${i}\n`);
    await new Promise((r) => setTimeout(r, 300));
    server.child.kill('SIGKILL');
    await server.exited;
    const again = await startServerProcess(env);
    try {
      const list = (await (await fetch(`${again.url}/api/v1/datasets`, { headers: again.auth })).json()) as {
        total: number;
      };
      expect(list.total).toBe(0);
      const { filesUnder } = await import('./helpers/disk.js');
      expect(await filesUnder(path.join(store.dataDir, 'tmp'))).toEqual([]);
      expect(await filesUnder(path.join(store.dataDir, 'blobs', 'datasets'))).toEqual([]);
    } finally {
      again.child.kill('SIGTERM');
      await again.exited;
    }
  });
});

/** What `npm start` runs, on a fresh store with no user and no bootstrap settings: a newcomer's first start. */
async function startFirstRun(env: Record<string, string>) {
  const port = await freePort();
  const child = spawn(process.execPath, [MAIN, 'serve'], {
    env: { ...withoutStore(process.env), ...store.env, WEIR_PORT: String(port), WEIR_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const lines = () =>
    stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  const waitForLine = (match: (line: Record<string, unknown>) => boolean) =>
    eventually(
      () => {
        if (child.exitCode !== null) throw new Error(`weir serve exited: ${stdout}${stderr}`);
        return lines().find(match);
      },
      'a log line of weir serve',
      30_000,
    );
  await eventually(
    async () =>
      (await fetch(`http://127.0.0.1:${port}/health/live`).then(
        (r) => r.ok,
        () => false,
      )) || undefined,
    'weir serve to listen',
    30_000,
  );
  return { child, url: `http://127.0.0.1:${port}`, exited, stdout: () => stdout, lines, waitForLine };
}

/** The environment without the variables that would point the CLI at a store (so a hint has to). */
function withoutStore(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env))
    if (
      v !== undefined &&
      !/^WEIR_(DATA_DIR|DATABASE_URL|BOOTSTRAP_ADMIN_\w+|URL|TOKEN|WORKSPACE|CONFIG_DIR|LOG_FORMAT)$/.test(k)
    )
      out[k] = v;
  return out;
}
