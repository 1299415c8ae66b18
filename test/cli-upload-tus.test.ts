import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IngestResponse, Problem } from '../src/cli/api-types.js';
import { MAIN, runCli, startTestServer, type CliResult, type TestServer } from './helpers/cli-server.js';
import { PNG } from './helpers/files.js';
import { TUS, csvOf } from './helpers/tus.js';

/** GET /api/v1/uploads/:id, the parts these tests read. */
interface UploadView {
  id: string;
  status: string;
  filename: string;
  offset: number;
  length: number | null;
  datasetId: string | null;
  versionId: string | null;
  jobId: string | null;
  error: { code: string; message: string } | null;
}

/** A Node stack frame as printed by an uncaught error. */
const STACK_FRAME = /^\s+at .+:\d+:\d+\)?$/m;

let server: TestServer;
let dir: string;
/** WEIR_CONFIG_DIR shared by every run, so resume records survive from one `weir` process to the next. */
let configDir: string;
const file = (name: string) => path.join(dir, name);
const cliEnv = () => ({ url: server.url, token: server.token, cwd: dir, configDir });
const weir = (...args: string[]): Promise<CliResult> => runCli(args, cliEnv());
const parse = <T>(r: CliResult): T => JSON.parse(r.stdout) as T;

async function api<T>(p: string, init: RequestInit = {}): Promise<{ status: number; body: T; headers: Headers }> {
  const res = await fetch(`${server.url}/api/v1${p}`, {
    ...init,
    headers: { authorization: `Bearer ${server.token}`, ...init.headers },
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : null) as T, headers: res.headers };
}

const uploads = async () => (await api<{ items: UploadView[]; total: number }>('/uploads?limit=500')).body;
const uploadOf = async (filename: string) => (await uploads()).items.filter((u) => u.filename === filename);
const records = async () =>
  (await readdir(path.join(configDir, 'uploads')).catch(() => [] as string[])).filter((n) => n.endsWith('.json'));

/** `weir upload …` as a child process we can signal; `settled` resolves with its exit code and output. */
function startCli(args: string[]) {
  const child = spawn(process.execPath, [MAIN, 'upload', ...args], {
    cwd: dir,
    env: {
      ...process.env,
      WEIR_URL: server.url,
      WEIR_TOKEN: server.token,
      WEIR_CONFIG_DIR: configDir,
      WEIR_WORKSPACE: '',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const settled = once(child, 'close').then(([code]) => ({ code: code as number | null, stdout, stderr }));
  return { child, settled };
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await probe();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The Upload-Offset a tus HEAD answers. */
async function headOffset(id: string): Promise<number> {
  const { status, headers } = await api(`/uploads/${id}`, { method: 'HEAD', headers: TUS });
  expect(status).toBe(200);
  return Number(headers.get('upload-offset'));
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'weir-cli-tus-'));
  configDir = await mkdtemp(path.join(tmpdir(), 'weir-cli-tus-config-'));
  // Every tus PATCH counts against the per-user API rate limit (600/min by default); these tests send hundreds of small ones.
  server = await startTestServer({ env: { WEIR_RATE_LIMIT_USER: 'off' } });
});

afterAll(async () => {
  await server?.stop();
  for (const d of [dir, configDir]) if (d) await rm(d, { recursive: true, force: true });
});

describe('weir upload over tus', () => {
  it('sends a file above --tus-threshold over tus and follows the ingest to a dataset', async () => {
    const data = csvOf(150_000);
    await writeFile(file('sensors.csv'), data);
    expect(data.length).toBeGreaterThan(2e6);

    const r = await weir(
      'upload',
      file('sensors.csv'),
      '--tus-threshold',
      '1MB',
      '--chunk-size',
      '1MiB',
      '--name',
      'Sensors',
      '--tags',
      'iot,raw',
    );
    expect(r.stderr).not.toMatch(STACK_FRAME);
    expect(r.code).toBe(0);
    const created = /^Created dataset (ds_\w+) "Sensors"\./.exec(r.stdout);
    expect(created).not.toBeNull();
    expect(r.stdout).toMatch(/rows\s+150,000\n/);
    expect(r.stdout).toMatch(/columns\s+3: id BIGINT, name VARCHAR, value DOUBLE/);
    expect(r.stderr).toContain('validating and converting');
    // stderr is a pipe: no progress bar redraws.
    expect(r.stderr).not.toContain('\r');

    const [u, ...others] = await uploadOf('sensors.csv');
    expect(others).toHaveLength(0);
    expect(u).toMatchObject({ status: 'done', length: data.length, offset: data.length, datasetId: created?.[1] });
    const dataset = await api<{ name: string; tags: string[] }>(`/datasets/${created?.[1]}`);
    expect(dataset.body).toMatchObject({ name: 'Sensors', tags: ['iot', 'raw'] });
    expect(await records()).toEqual([]);
  });

  it('prints the ingest result with --json, and the upload and job ids with --no-wait', async () => {
    const data = csvOf(60_000);
    await writeFile(file('readings.csv'), data);
    const r = await weir('upload', file('readings.csv'), '--tus', '--json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const body = parse<IngestResponse & { uploadId: string }>(r);
    expect(body.id).toMatch(/^ds_/);
    expect(body.duplicateOf).toBeNull();
    expect(body.version.rowCount).toBe(60_000);
    expect(body.version.sourceBytes).toBe(data.length);
    expect(body.uploadId).toMatch(/^up_/);

    const again = await weir('upload', file('readings.csv'), '--tus', '--no-wait', '--json');
    expect(again.code).toBe(0);
    const queued = parse<{ uploadId: string; jobId: string; datasetId: string; status: string }>(again);
    expect(queued).toMatchObject({
      uploadId: expect.stringMatching(/^up_/),
      jobId: expect.stringMatching(/^job_/),
      status: 'queued',
    });
    expect(queued.uploadId).not.toBe(body.uploadId);

    // The same bytes again, in words: a duplicate is still exit code 0.
    const human = await weir('upload', file('readings.csv'), '--tus');
    expect(human.code).toBe(0);
    expect(human.stdout).toContain(`Already stored: identical bytes are version 1 of dataset ${body.id}`);
  });

  it('resumes an interrupted upload with --resume from where the server stopped', async () => {
    // ~4.6 MB in 16 KiB requests: seconds on loopback, time enough to interrupt it half-way.
    const data = csvOf(200_000);
    await writeFile(file('big.csv'), data);
    const run = startCli([file('big.csv'), '--tus', '--chunk-size', '16KiB']);
    const id = await until('bytes on the server', async () => {
      const u = (await uploadOf('big.csv'))[0];
      return u && u.offset > 0 ? u.id : undefined;
    });
    run.child.kill('SIGINT');
    const interrupted = await run.settled;
    expect(interrupted.code).toBe(130);
    expect(interrupted.stderr).toContain(`npx weir upload --resume ${file('big.csv')}`);
    expect(interrupted.stderr).not.toMatch(STACK_FRAME);

    const offset = await headOffset(id);
    expect(offset).toBeGreaterThan(0);
    expect(offset).toBeLessThan(data.length);
    const [record] = await records();
    expect(record).toBeDefined();
    expect((await stat(path.join(configDir, 'uploads', record!))).mode & 0o777).toBe(0o600);

    // Without --resume: a hint, then a new upload (here refused at creation: the dataset does not exist).
    const fresh = await weir('upload', file('big.csv'), '--tus', '--dataset', 'ds_00000000000000000000000000');
    expect(fresh.code).toBe(1);
    expect(fresh.stderr).toContain(`(${id}) can be continued with \`npx weir upload --resume ${file('big.csv')}\``);
    expect(fresh.stderr).toMatch(/^weir: Dataset 'ds_0+' does not exist/m);

    const resumed = await weir('upload', '--resume', file('big.csv'), '--chunk-size', '8MiB');
    expect(resumed.stderr).not.toMatch(STACK_FRAME);
    expect(resumed.code).toBe(0);
    const from = Number(new RegExp(`resuming upload ${id} at byte (\\d+) of ${data.length}`).exec(resumed.stderr)?.[1]);
    expect(from).toBeGreaterThanOrEqual(offset);
    expect(resumed.stdout).toMatch(/^Created dataset ds_\w+ "big\.csv"\./);
    expect(resumed.stdout).toMatch(/rows\s+200,000\n/);
    const all = await uploadOf('big.csv');
    expect(all.map((u) => [u.id, u.status])).toEqual([[id, 'done']]);
    expect(await records()).toEqual([]);
  });

  it('says so when the server no longer has the upload to resume', async () => {
    await writeFile(file('gone.csv'), csvOf(150_000));
    const run = startCli([file('gone.csv'), '--tus', '--chunk-size', '16KiB']);
    await until('a resume record', async () => ((await records()).length > 0 ? true : undefined));
    run.child.kill('SIGINT');
    expect((await run.settled).code).toBe(130);
    const [u] = await uploadOf('gone.csv');
    expect((await api(`/uploads/${u!.id}`, { method: 'DELETE', headers: TUS })).status).toBe(204);

    const r = await weir('upload', '--resume', file('gone.csv'));
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `weir: upload ${u!.id} is no longer on the server (deleted), so there is nothing to resume; run \`npx weir upload ${file('gone.csv')}\` to upload the file again\n`,
    );
    expect(await records()).toEqual([]);
  });

  it('refuses a PNG named .csv: exit 1, the problem printed, the upload rejected', async () => {
    await writeFile(file('image.csv'), PNG);
    const r = await weir('upload', file('image.csv'), '--tus');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^weir: The file content is image\/png/m);
    expect(r.stderr).not.toMatch(STACK_FRAME);
    expect(r.stdout).toBe('');

    const json = await weir('upload', file('image.csv'), '--tus', '--json');
    expect(json.code).toBe(1);
    expect(parse<Problem>(json)).toMatchObject({ status: 415, code: 'unsupported_format' });

    const refused = await uploadOf('image.csv');
    expect(refused.map((u) => [u.status, u.error?.code])).toEqual([
      ['rejected', 'unsupported_format'],
      ['rejected', 'unsupported_format'],
    ]);
    expect(await records()).toEqual([]);
  });

  it('refuses a big non-CSV from its first bytes without waiting through retries', async () => {
    await writeFile(file('photo.csv'), Buffer.concat([PNG, Buffer.alloc(3 * 1024 * 1024, 7)]));
    const started = Date.now();
    const r = await weir('upload', file('photo.csv'), '--tus-threshold', '1MB', '--chunk-size', '1MiB');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^weir: The file content is image\/png/m);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect((await uploadOf('photo.csv')).map((u) => u.status)).toEqual(['rejected']);
    expect(await records()).toEqual([]);
  });

  it('fails clearly on --resume when nothing was interrupted', async () => {
    await writeFile(file('small.csv'), 'a,b\n1,2\n');
    const r = await weir('upload', '--resume', file('small.csv'));
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `weir: nothing to resume: no interrupted upload of ${file('small.csv')} to ${server.url} is recorded; run \`npx weir upload ${file('small.csv')}\` to start one\n`,
    );
  });

  it('keeps the single multipart request below the threshold', async () => {
    const before = (await uploads()).total;
    await writeFile(file('tiny.csv'), 'city,pop\nOslo,700000\nBergen,290000\n');
    const r = await weir('upload', file('tiny.csv'));
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Created dataset ds_\w+ "tiny\.csv"\./);
    expect((await uploads()).total).toBe(before);

    // --no-tus wins over the threshold.
    await writeFile(file('medium.csv'), csvOf(70_000));
    const forced = await weir('upload', file('medium.csv'), '--tus-threshold', '1KB', '--no-tus', '--json');
    expect(forced.code).toBe(0);
    expect(parse<IngestResponse>(forced).version.rowCount).toBe(70_000);
    expect((await uploads()).total).toBe(before);
  });
});

describe('weir upload over tus under a tight API rate limit', () => {
  it('waits out 429 answers and the spent window, then follows the ingest', async () => {
    // 16 KiB requests run far faster than 25 a second on loopback: the limit is hit several times.
    const limited = await startTestServer({ env: { WEIR_RATE_LIMIT_USER: '25/1s' } });
    try {
      await writeFile(file('paced.csv'), csvOf(25_000));
      const r = await runCli(['upload', file('paced.csv'), '--tus', '--chunk-size', '16KiB'], {
        url: limited.url,
        token: limited.token,
        cwd: dir,
      });
      expect(r.stderr).not.toMatch(STACK_FRAME);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/rows\s+25,000\n/);
    } finally {
      await limited.stop();
    }
  });
});
