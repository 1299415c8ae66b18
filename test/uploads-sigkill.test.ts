import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { blobsUnderTest, createTestDatabase, pgAdminUrl } from './helpers/app.js';
import { startServerProcess, type ServerProcess } from './helpers/process.js';
import { startS3Server } from './helpers/s3.js';
import { TUS, csvOf, tusUpload } from './helpers/tus.js';

/**
 * The durability promise of resumable uploads: `weir serve` is SIGKILLed in the middle of an upload; after a
 * restart on the same data dir (and database, and bucket) every byte it acknowledged is still there, and the
 * client resumes from the stored offset to a finished dataset.
 */
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function kill(server: ServerProcess): Promise<void> {
  if (server.child.exitCode === null && server.child.signalCode === null) server.child.kill('SIGKILL');
  await server.exited;
}

describe(`SIGKILL mid-upload (${blobsUnderTest} blobs)`, () => {
  it(
    'keeps every acknowledged byte across a kill and a restart; the client resumes and the upload becomes a dataset',
    { timeout: 120_000 },
    async () => {
      const dataDir = await mkdtemp(path.join(tmpdir(), 'weir-upkill-'));
      cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
      const db = pgAdminUrl ? await createTestDatabase(pgAdminUrl) : null;
      if (db) cleanups.push(() => db.drop());
      const s3 = blobsUnderTest === 's3' ? await startS3Server() : null;
      if (s3) cleanups.push(() => s3.close());
      const env = { WEIR_DATA_DIR: dataDir, ...(db ? { WEIR_DATABASE_URL: db.url } : {}), ...s3?.env };

      const first = await startServerProcess(env);
      cleanups.push(() => kill(first));
      const data = csvOf(400_000);
      let acknowledged = 0;
      let killed = false;
      const run = tusUpload(`${first.url}/api/v1/uploads`, data, {
        headers: first.auth,
        chunkSize: 512 * 1024,
        retryDelays: [],
        metadata: { filename: 'killed.csv', name: 'Survivor' },
        onChunkComplete: (_chunk, accepted) => {
          acknowledged = accepted;
          if (!killed && accepted > data.length / 2) {
            killed = true;
            // Mid-stream: the next PATCH is already on its way.
            setTimeout(() => first.child.kill('SIGKILL'), 5);
          }
        },
      });
      await expect(run.done).rejects.toThrow();
      await first.exited;
      expect(killed).toBe(true);
      const uploadPath = new URL(run.url!).pathname;

      const second = await startServerProcess(env);
      cleanups.push(() => kill(second));
      const head = await fetch(`${second.url}${uploadPath}`, { method: 'HEAD', headers: { ...TUS, ...second.auth } });
      expect(head.status).toBe(200);
      const stored = Number(head.headers.get('upload-offset'));
      expect(stored).toBeGreaterThanOrEqual(acknowledged);
      expect(stored).toBeLessThan(data.length);

      const resumed = tusUpload(`${second.url}/api/v1/uploads`, data, {
        headers: second.auth,
        uploadUrl: `${second.url}${uploadPath}`,
        chunkSize: 512 * 1024,
      });
      await resumed.done;
      expect(resumed.progress[0]).toBeGreaterThanOrEqual(stored);
      const deadline = Date.now() + 30_000;
      let view: { status: string; datasetId: string };
      for (;;) {
        view = (await (await fetch(`${second.url}${uploadPath}`, { headers: second.auth })).json()) as typeof view;
        if (view.status !== 'ingesting' && view.status !== 'uploading') break;
        if (Date.now() > deadline) throw new Error(`still ${view.status}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(view.status).toBe('done');
      const preview = (await (
        await fetch(`${second.url}/api/v1/datasets/${view.datasetId}/preview?limit=1&offset=399999`, {
          headers: second.auth,
        })
      ).json()) as { total: number; rows: unknown[][] };
      expect(preview.total).toBe(400_000);
      expect(preview.rows[0]).toEqual([399_999, 'row-399999', 599998.5]);
    },
  );
});
