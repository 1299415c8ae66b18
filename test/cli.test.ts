import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatasetList, IngestResponse, Dataset, Preview, Problem, Profile } from '../src/cli/api-types.js';
import { filenameFromDisposition } from '../src/cli/download.js';
import { clean, formatBytes, table } from '../src/cli/format.js';
import { freePort, runCli, startTestServer, type CliResult, type TestServer } from './helpers/cli-server.js';

const CSV = 'id,name,score\n1,alice,3.5\n2,bob,4.25\n3,carol,\n';
/** PNG signature + IHDR chunk: enough for content sniffing to call it image/png whatever the file is named. */
const PNG = Buffer.concat([
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
  Buffer.from('0000000d49484452000000010000000108060000001f15c489', 'hex'),
  Buffer.alloc(64, 1),
]);

/** A Node stack frame as printed by an uncaught error: "    at fn (file:///…:12:5)". */
const STACK_FRAME = /^\s+at .+:\d+:\d+\)?$/m;

let server: TestServer;
let dir: string;
const file = (name: string) => path.join(dir, name);
const weir = (...args: string[]): Promise<CliResult> => runCli(args, { url: server.url, token: server.token, cwd: dir });
const parse = <T>(r: CliResult): T => JSON.parse(r.stdout) as T;

/** The id of version `n` of a dataset, straight from the API (the CLI has no versions command). */
async function versionId(dataset: string, n: number): Promise<string> {
  const res = await fetch(`${server.url}/api/v1/datasets/${dataset}/versions`, { headers: { authorization: `Bearer ${server.token}` } });
  const { items } = (await res.json()) as { items: { id: string; number: number }[] };
  const id = items.find((v) => v.number === n)?.id;
  if (!id) throw new Error(`dataset ${dataset} has no version ${n}`);
  return id;
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'weir-cli-test-'));
  server = await startTestServer();
  await writeFile(file('people.csv'), CSV);
  await writeFile(file('x.csv'), PNG);
});

afterAll(async () => {
  await server?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('weir upload and weir datasets', () => {
  let datasetId = '';
  let citiesId = '';

  it('uploads a CSV and prints the API response with --json', async () => {
    const r = await weir('upload', file('people.csv'), '--name', 'People', '--tags', 'team,cli', '--json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const body = parse<IngestResponse>(r);
    expect(body.id).toMatch(/^ds_/);
    expect(body.name).toBe('People');
    expect(body.tags).toEqual(['cli', 'team']);
    expect(body.duplicateOf).toBeNull();
    expect(body.version.number).toBe(1);
    expect(body.version.rowCount).toBe(3);
    expect(body.version.sourceFilename).toBe('people.csv');
    expect(body.version.sourceBytes).toBe(Buffer.byteLength(CSV));
    expect(body.version.schema.map((c) => [c.name, c.type])).toEqual([['id', 'BIGINT'], ['name', 'VARCHAR'], ['score', 'DOUBLE']]);
    datasetId = body.id;
  });

  it('reports identical bytes as a duplicate, in JSON and in words', async () => {
    const json = await weir('upload', file('people.csv'), '--json');
    expect(json.code).toBe(0);
    const body = parse<IngestResponse>(json);
    expect(body.duplicateOf).toEqual({ datasetId, versionId: body.version.id });

    const human = await weir('upload', file('people.csv'));
    expect(human.code).toBe(0);
    expect(human.stdout).toContain('Already stored');
    expect(human.stdout).toContain(datasetId);
    expect(human.stdout).toContain('nothing new was written');
  });

  it('prints a human summary and a status line while the server converts', async () => {
    await writeFile(file('cities.csv'), 'city,pop\nOslo,700000\nBergen,290000\n');
    const r = await weir('upload', file('cities.csv'));
    expect(r.code).toBe(0);
    const created = /^Created dataset (ds_\w+) "cities\.csv"\./.exec(r.stdout);
    expect(created).not.toBeNull();
    citiesId = created?.[1] ?? '';
    expect(r.stdout).toMatch(/rows\s+2\n/);
    expect(r.stdout).toMatch(/columns\s+2: city VARCHAR, pop BIGINT/);
    expect(r.stdout).toMatch(/format\s+csv, utf-8/);
    expect(r.stderr).toContain('validating and converting');
    // stderr is a pipe here, so no progress bar (no carriage-return redraws).
    expect(r.stderr).not.toContain('\r');
  });

  it('adds a version to an existing dataset with --dataset', async () => {
    await writeFile(file('people-v2.csv'), `${CSV}4,dave,1.5\n`);
    const r = await weir('upload', file('people-v2.csv'), '--dataset', datasetId, '--json');
    expect(r.code).toBe(0);
    const body = parse<IngestResponse>(r);
    expect(body.id).toBe(datasetId);
    expect(body.version.number).toBe(2);
    expect(body.versionCount).toBe(2);
    expect(body.version.rowCount).toBe(4);
  });

  it('says so when --dataset gets bytes another dataset already holds', async () => {
    const r = await weir('upload', file('cities.csv'), '--dataset', datasetId);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^Not added to dataset ${datasetId}\\. Already stored: identical bytes are version 1 of dataset ${citiesId} `));
  });

  it('refuses --name together with --dataset (the server would ignore it)', async () => {
    const r = await weir('upload', file('people.csv'), '--dataset', datasetId, '--name', 'x');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("cannot be used with option '--name <name>'");
  });

  it('rejects a PNG named .csv: exit 1, the detail on stderr, no stack trace', async () => {
    const r = await weir('upload', file('x.csv'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^weir: The file content is image\/png/m);
    expect(r.stderr).toContain('/file');
    expect(r.stderr).not.toMatch(STACK_FRAME);
    expect(r.stdout).toBe('');
  });

  it('with --json also prints the problem document on stdout', async () => {
    const r = await weir('upload', file('x.csv'), '--json');
    expect(r.code).toBe(1);
    const problem = parse<Problem>(r);
    expect(problem.status).toBe(415);
    expect(problem.code).toBe('unsupported_format');
    expect(r.stderr).toMatch(/^weir: The file content is image\/png/);
  });

  it('fails clearly on a missing local file', async () => {
    const r = await weir('upload', file('nope.csv'));
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`weir: ${file('nope.csv')}: no such file\n`);
  });

  it('lists datasets', async () => {
    const json = await weir('datasets', 'ls', '--json');
    expect(json.code).toBe(0);
    const page = parse<DatasetList>(json);
    expect(page.total).toBe(2);
    const ours = page.items.find((d) => d.id === datasetId);
    expect(ours?.name).toBe('People');
    expect(ours?.versionCount).toBe(2);

    const human = await weir('datasets', 'ls', '--search', 'peo');
    expect(human.code).toBe(0);
    const lines = human.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID\s+NAME\s+FORMAT\s+ROWS\s+VERSIONS\s+SIZE\s+CREATED$/);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(new RegExp(`^${datasetId}\\s+People\\s+csv\\s+4\\s+2\\s+`));
  });

  it('passes filters and paging to the API', async () => {
    const r = await weir('datasets', 'ls', '--json', '--tag', 'team', '--limit', '1', '--offset', '0');
    const page = parse<DatasetList>(r);
    expect(page.limit).toBe(1);
    expect(page.items.map((d) => d.id)).toEqual([datasetId]);
    const bad = await weir('datasets', 'ls', '--limit', 'ten');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("option '--limit <n>' argument 'ten' is invalid");
  });

  it('shows a dataset', async () => {
    const json = await weir('datasets', 'show', datasetId, '--json');
    expect(json.code).toBe(0);
    const d = parse<Dataset>(json);
    expect(d.id).toBe(datasetId);
    expect(d.latestVersion?.number).toBe(2);

    const human = await weir('datasets', 'show', datasetId);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^name\s+People$/m);
    expect(human.stdout).toMatch(/^tags\s+cli, team$/m);
    expect(human.stdout).toMatch(/^rows\s+4$/m);
    expect(human.stdout).toMatch(/^score\s+DOUBLE\s+yes$/m);
  });

  it('previews a subset of rows and columns', async () => {
    const json = await weir('datasets', 'preview', datasetId, '--limit', '1', '--offset', '1', '--columns', 'name,score', '--json');
    expect(json.code).toBe(0);
    const p = parse<Preview>(json);
    expect(p.columns.map((c) => c.name)).toEqual(['name', 'score']);
    expect(p.rows).toEqual([['bob', 4.25]]);
    expect(p.total).toBe(4);

    const human = await weir('datasets', 'preview', datasetId, '--limit', '3', '--columns', 'score,name');
    expect(human.code).toBe(0);
    const lines = human.stdout.split('\n');
    expect(lines.slice(0, 4)).toEqual(['score  name', '  3.5  alice', ' 4.25  bob', ' NULL  carol']);
    expect(human.stdout).toContain('rows 1–3 of 4');
  });

  it('previews an older version with --version', async () => {
    const v1 = await versionId(datasetId, 1);
    const p = parse<Preview>(await weir('datasets', 'preview', datasetId, '--version', v1, '--json'));
    expect(p.versionId).toBe(v1);
    expect(p.total).toBe(3);
  });

  it('prints each errors[] entry of a problem', async () => {
    const r = await weir('datasets', 'preview', datasetId, '--columns', 'name,nope');
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("weir: Unknown column: nope\n  /query/columns: no column named 'nope'\n");
  });

  it('profiles a dataset', async () => {
    const json = await weir('datasets', 'profile', datasetId, '--json');
    expect(json.code).toBe(0);
    const p = parse<Profile>(json);
    expect(p.rowCount).toBe(4);
    const score = p.columns.find((c) => c.name === 'score');
    expect(score).toMatchObject({ type: 'DOUBLE', nulls: 1, min: 1.5, max: 4.25 });
    expect(p.columns.find((c) => c.name === 'id')).toMatchObject({ min: 1, max: 4, mean: 2.5 });

    const human = await weir('datasets', 'profile', datasetId);
    expect(human.stdout).toMatch(/^COLUMN\s+TYPE\s+NULLS\s+DISTINCT≈\s+MIN\s+MAX\s+MEAN$/m);
    expect(human.stdout).toMatch(/^id\s+BIGINT\s+0\s+4\s+1\s+4\s+2\.5$/m);
    expect(human.stdout).toMatch(/^name\s+VARCHAR\s+0\s+4\s+alice\s+dave$/m);
  });

  it('downloads CSV to a file', async () => {
    const v1 = await versionId(datasetId, 1);
    const r = await weir('datasets', 'download', datasetId, '--format', 'csv', '--version', v1, '--out', file('out.csv'));
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('saved');
    expect(await readFile(file('out.csv'), 'utf8')).toBe(CSV);
    await expect(readFile(file('out.csv.part'))).rejects.toThrow(/ENOENT/);
  });

  it('downloads Parquet to stdout when stdout is not a terminal', async () => {
    const r = await weir('datasets', 'download', datasetId, '--format', 'parquet');
    expect(r.code).toBe(0);
    expect(r.stdoutBytes.subarray(0, 4).toString('latin1')).toBe('PAR1');
    expect(r.stdoutBytes.subarray(-4).toString('latin1')).toBe('PAR1');
    expect(r.stderr).toBe('');
  });

  it('downloads NDJSON with --out - (stdout)', async () => {
    const r = await weir('datasets', 'download', datasetId, '--format', 'ndjson', '--out', '-');
    expect(r.code).toBe(0);
    const rows = r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as { name: string });
    expect(rows.map((x) => x.name)).toEqual(['alice', 'bob', 'carol', 'dave']);
  });

  it('rm without --yes refuses when it cannot ask', async () => {
    const r = await weir('datasets', 'rm', datasetId);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('refusing to delete without --yes');
    expect((await weir('datasets', 'show', datasetId)).code).toBe(0);
  });

  it('rm --yes deletes; show then fails with not found', async () => {
    const r = await weir('datasets', 'rm', datasetId, '--yes');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`deleted ${datasetId}\n`);
    const show = await weir('datasets', 'show', datasetId);
    expect(show.code).toBe(1);
    expect(show.stderr).toBe(`weir: Dataset '${datasetId}' does not exist\n`);
    expect(show.stdout).toBe('');
  });

  it('uploads a ~20 MB generated CSV by streaming it', { timeout: 180_000 }, async () => {
    const rows = 400_000;
    const out = createWriteStream(file('big.csv'));
    out.write('id,label,amount,day\n');
    for (let i = 0; i < rows; i++) {
      const line = `${i},label-${i % 997}-${'x'.repeat(20)},${(i * 1.25).toFixed(2)},2024-03-${String((i % 28) + 1).padStart(2, '0')}\n`;
      if (!out.write(line)) await once(out, 'drain');
    }
    out.end();
    await once(out, 'finish');
    const { size } = await stat(file('big.csv'));
    expect(size).toBeGreaterThan(20_000_000);

    const r = await weir('upload', file('big.csv'), '--json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const body = parse<IngestResponse>(r);
    expect(body.version.rowCount).toBe(rows);
    expect(body.version.sourceBytes).toBe(size);
    expect(body.version.schema.map((c) => c.type)).toEqual(['BIGINT', 'VARCHAR', 'DOUBLE', 'DATE']);
  });
});

describe('help', () => {
  const cases: [string[], string[]][] = [
    [['upload'], ['<file>', '--name', '--description', '--tags', '--dataset', '--json', '--url']],
    [['datasets', 'ls'], ['--search', '--tag', '--format', '--limit', '--offset', '--json', '--url']],
    [['datasets', 'show'], ['<id>', '--json', '--url']],
    [['datasets', 'preview'], ['<id>', '--limit', '--offset', '--columns', '--version', '--json', '--url']],
    [['datasets', 'profile'], ['<id>', '--version', '--json', '--url']],
    [['datasets', 'download'], ['<id>', '--format', '--out', '--version', '--json', '--url']],
    [['datasets', 'rm'], ['<id>', '--yes', '--json', '--url']],
    [['datasets'], ['ls', 'show', 'preview', 'profile', 'download', 'rm']],
  ];
  it.each(cases)('weir %j --help', async (command, mentions) => {
    const r = await runCli([...command, '--help'], { url: null });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Usage: weir ${command.join(' ')}`);
    for (const m of mentions) expect(r.stdout).toContain(m);
  });
});

describe('errors without a server', () => {
  it('says clearly when nothing listens at WEIR_URL', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const r = await runCli(['datasets', 'ls'], { url });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`weir: cannot reach Weir at ${url} (is the server running? set --url or WEIR_URL)\n`);
    expect(r.stderr).not.toMatch(STACK_FRAME);
  });

  it('--url overrides WEIR_URL', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const r = await runCli(['datasets', 'ls', '--url', url], { url: server.url });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`cannot reach Weir at ${url}`);
  });

  it('reports an invalid WEIR_URL as a configuration error', async () => {
    const r = await runCli(['datasets', 'ls'], { url: 'not a url' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('weir: configuration error: WEIR_URL');
  });
});

describe('CLI helpers', () => {
  it('takes a safe base name from content-disposition', () => {
    expect(filenameFromDisposition(`attachment; filename="a-v1.csv"; filename*=UTF-8''s%C3%B8k-v1.csv`)).toBe('søk-v1.csv');
    expect(filenameFromDisposition('attachment; filename="../../etc/passwd"')).toBe('passwd');
    expect(filenameFromDisposition(`attachment; filename*=UTF-8''..%2F.bashrc`)).toBe('bashrc');
    expect(filenameFromDisposition('attachment')).toBeUndefined();
    expect(filenameFromDisposition(null)).toBeUndefined();
  });

  it('escapes terminal control characters and aligns tables', () => {
    expect(clean('evil\u001b[31mred\nline')).toBe('evil\\u001b[31mred\\nline');
    expect(table(['A', 'NUM'], [['xx', '1'], ['y', '100']], ['left', 'right'])).toBe('A   NUM\nxx    1\ny   100');
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(20 * 1024 ** 2)).toBe('20 MiB');
  });
});
