import { execFile } from 'node:child_process';
import { request } from 'node:http';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { freshStore, type TestStore } from './helpers/cli-server.js';
import { MAIN, startServerProcess } from './helpers/process.js';
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
    const err = await run(process.execPath, [MAIN, 'serve'], { env: { ...process.env, WEIR_DATA_DIR: store.dataDir, WEIR_PORT: 'eighty' } }).then(
      () => null,
      (e: { code: number; stderr: string }) => e,
    );
    expect(err?.code).toBe(2);
    expect(err?.stderr.trim()).toBe('weir: configuration error: WEIR_PORT: expected an integer from 0 to 65535, got "eighty"');
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

  it('SIGTERM lets an in-flight upload finish, then exits 0; data survives a restart', async () => {
    const env = { ...store.env };
    const server = await startServerProcess(env);
    // A multipart upload sent slowly, so SIGTERM arrives while it is in flight.
    const boundary = 'weirtestboundary';
    const head = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="slow.csv"\r\nContent-Type: text/csv\r\n\r\nid,value\n`;
    const tail = `\r\n--${boundary}--\r\n`;
    const rows = Array.from({ length: 20 }, (_, i) => `${i},${i * 10}\n`);
    const total = Buffer.byteLength(head) + rows.reduce((s, r) => s + Buffer.byteLength(r), 0) + Buffer.byteLength(tail);
    const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(`${server.url}/api/v1/datasets?wait=true`, {
        method: 'POST', headers: { ...server.auth, 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': total },
      }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
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
      const dup = await upload({ api: `${again.url}/api/v1`, auth: again.auth }, 'id,value\n' + Array.from({ length: 20 }, (_, i) => `${i},${i * 10}\n`).join(''), { filename: 'slow.csv' });
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
      method: 'POST', headers: { ...server.auth, 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': 10_000_000 },
    });
    req.on('error', () => {});
    req.write(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="k.csv"\r\n\r\na,b\n`);
    for (let i = 0; i < 1000; i++) req.write(`${i},${i}\n`);
    await new Promise((r) => setTimeout(r, 300));
    server.child.kill('SIGKILL');
    await server.exited;
    const again = await startServerProcess(env);
    try {
      const list = (await (await fetch(`${again.url}/api/v1/datasets`, { headers: again.auth })).json()) as { total: number };
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
