import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, utimes, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { login } from './helpers/app.js';
import { runCli, startTestServer, type CliResult, type TestServer } from './helpers/cli-server.js';

/** `weir storage stats|sweep` against a real `weir serve`, as an instance administrator and as a workspace owner. */
let server: TestServer;
let dir: string;
const weir = (...args: string[]): Promise<CliResult> =>
  runCli(args, { url: server.url, token: server.token, cwd: dir });
const DAY = 86_400_000;

beforeAll(async () => {
  server = await startTestServer({ env: { WEIR_STORAGE_SWEEP_CRON: '0 0 1 1 *' } });
  dir = await mkdtemp(path.join(tmpdir(), 'weir-storage-cli-'));
});
afterAll(async () => {
  await server?.stop();
  await rm(dir, { recursive: true, force: true });
});

/** An object written straight into the server's local blob store, last modified `ageMs` ago. */
async function blob(key: string, bytes: number, ageMs: number): Promise<void> {
  const file = path.join(server.store.dataDir, 'blobs', ...key.split('/'));
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, randomBytes(bytes));
  const when = new Date(Date.now() - ageMs);
  await utimes(file, when, when);
}

describe('weir storage', () => {
  it('stats: a table per area and workspace, the disk, the policy and the last sweep', async () => {
    const csv = path.join(dir, 'a.csv');
    await writeFile(csv, `x,y\n1,${randomBytes(4).toString('hex')}\n`);
    expect((await weir('upload', csv, '--name', 'A')).code).toBe(0);
    await blob('cache/ws_default/old.bin', 2048, 8 * DAY);

    const r = await weir('storage', 'stats');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^AREA\s+WORKSPACE\s+OBJECTS\s+BYTES\s+OLDEST$/m);
    expect(r.stdout).toMatch(/^datasets\s+ws_default\s+1\s+\d+(\.\d)? (B|KiB)\s+\d{4}-\d\d-\d\d \d\d:\d\d$/m);
    expect(r.stdout).toMatch(/^cache\s+ws_default\s+1\s+2\.0 KiB/m);
    expect(r.stdout).toMatch(/^models\s+-\s+0\s+0 B\s+-$/m);
    expect(r.stdout).toMatch(/^store\s+local; disk .+ free of .+$/m);
    expect(r.stdout).toMatch(
      /^retention\s+uploads 1 d, exports 3 d, cache 7 d, logs 7 d, tmp 1 h; job artifacts 3 d; datasets, models kept$/m,
    );
    expect(r.stdout).toMatch(/^sweeps\s+0 0 1 1 \* \(UTC\), next /m);
    expect(r.stdout).toMatch(/^last sweep\s+never$/m);

    const j = await weir('storage', 'stats', '--json', '--fresh');
    expect(j.code).toBe(0);
    const stats = JSON.parse(j.stdout) as { driver: string; areas: { area: string; objects: number }[] };
    expect(stats.driver).toBe('local');
    expect(stats.areas.find((a) => a.area === 'cache')?.objects).toBe(1);
  });

  it('sweep --dry-run reports what would go and deletes nothing; sweep deletes it', async () => {
    await blob('logs/ws_default/old.log', 100, 8 * DAY);
    const dry = await weir('storage', 'sweep', '--dry-run');
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stderr).toMatch(/^storage sweep job_\w+ started \(dry run\)$/m);
    expect(dry.stdout).toMatch(/^Would delete \(dry run; nothing was deleted\):$/m);
    expect(dry.stdout).toMatch(/^cache\s+1\s+2\.0 KiB$/m);
    expect(dry.stdout).toMatch(/^logs\s+1\s+100 B$/m);
    expect(dry.stdout).toMatch(/^total\s+2\s+2\.1 KiB$/m);
    expect(dry.stdout).toMatch(/^expired uploads\s+0 /m);
    expect(dry.stdout).toMatch(/^pruned versions\s+0 of 0 datasets/m);
    expect(dry.stdout).toMatch(/^orphaned models\s+0 files/m);

    const json = await weir('storage', 'sweep', '--dry-run', '--json');
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({
      dryRun: true,
      total: { objects: 2, bytes: 2148 },
      areas: { cache: { objects: 1 }, logs: { objects: 1 } },
    });

    const real = await weir('storage', 'sweep');
    expect(real.code, real.stderr).toBe(0);
    expect(real.stdout).toMatch(/^Deleted:$/m);
    expect(real.stdout).toMatch(/^total\s+2\s+2\.1 KiB$/m);
    const after = JSON.parse((await weir('storage', 'sweep', '--json')).stdout) as { total: { objects: number } };
    expect(after.total.objects).toBe(0);

    const stats = await weir('storage', 'stats');
    expect(stats.stdout).toMatch(/^last sweep\s+succeeded .* \(started by hand\) — deleted 0 objects, 0 B$/m);
    expect(stats.stdout).toMatch(/^cache\s+-\s+0\s+0 B/m);
  });

  it('needs an instance administrator: a workspace owner gets the reason and exit 1', async () => {
    const email = `storage-owner-${Date.now()}@weir.test`;
    const res = await fetch(`${server.url}/api/v1/users`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ email, password: 'a long enough password', workspaceId: 'ws_default', role: 'owner' }),
    });
    expect(res.status).toBe(201);
    const token = await login(`${server.url}/api/v1`, email, 'a long enough password');
    for (const args of [
      ['storage', 'stats'],
      ['storage', 'sweep', '--dry-run'],
    ]) {
      const r = await runCli(args, { url: server.url, token, cwd: dir });
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr).toContain("weir: This action needs the permission 'system:admin'");
      expect(r.stdout).toBe('');
    }
  });
});
