import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatasetList, IngestResponse, Dataset, Preview, Problem, Profile } from '../src/cli/api-types.js';
import { filenameFromDisposition } from '../src/cli/download.js';
import { clean, formatBytes, formatDate, table } from '../src/cli/format.js';
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
const weir = (...args: string[]): Promise<CliResult> =>
  runCli(args, { url: server.url, token: server.token, cwd: dir });
const parse = <T>(r: CliResult): T => JSON.parse(r.stdout) as T;

/** The id of version `n` of a dataset, straight from the API (the CLI has no versions command). */
async function versionId(dataset: string, n: number): Promise<string> {
  const res = await fetch(`${server.url}/api/v1/datasets/${dataset}/versions`, {
    headers: { authorization: `Bearer ${server.token}` },
  });
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
    expect(body.version.schema.map((c) => [c.name, c.type])).toEqual([
      ['id', 'BIGINT'],
      ['name', 'VARCHAR'],
      ['score', 'DOUBLE'],
    ]);
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
    expect(r.stdout).toMatch(
      new RegExp(
        `^Not added to dataset ${datasetId}\\. Already stored: identical bytes are version 1 of dataset ${citiesId} `,
      ),
    );
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
    const json = await weir(
      'datasets',
      'preview',
      datasetId,
      '--limit',
      '1',
      '--offset',
      '1',
      '--columns',
      'name,score',
      '--json',
    );
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
    expect(human.stdout).toMatch(/^COLUMN\s+TYPE\s+NULLS\s+DISTINCT\s+MIN\s+MAX\s+MEAN$/m);
    expect(human.stdout).toMatch(/^id\s+BIGINT\s+0\s+4\s+1\s+4\s+2\.5$/m);
    expect(human.stdout).toMatch(/^name\s+VARCHAR\s+0\s+4\s+alice\s+dave$/m);
    // The quantiles and top values the API answers are printed too.
    const id = p.columns.find((c) => c.name === 'id')!;
    expect(id.quantiles).not.toBeNull();
    const q = id.quantiles!;
    expect(human.stdout).toMatch(/^quantiles \(approximate\)\nCOLUMN\s+P5\s+P25\s+P50\s+P75\s+P95$/m);
    expect(human.stdout).toMatch(new RegExp(`^id\\s+${[q.p05, q.p25, q.p50, q.p75, q.p95].join('\\s+')}$`, 'm'));
    const name = p.columns.find((c) => c.name === 'name')!;
    expect(name.topValues).toHaveLength(4);
    expect(human.stdout).toMatch(
      new RegExp(`^top values\\nCOLUMN\\s+VALUE\\s+COUNT\\nname\\s+${name.topValues![0]!.value}\\s+1$`, 'm'),
    );
    for (const { value } of name.topValues!.slice(1))
      expect(human.stdout).toMatch(new RegExp(`^\\s+${value}\\s+1$`, 'm'));
    // Every count of so small a version is exact: no ≈ anywhere.
    expect(p.columns.every((c) => c.distinctExact)).toBe(true);
    expect(human.stdout).not.toContain('≈');
  });

  it('downloads CSV to a file', async () => {
    const v1 = await versionId(datasetId, 1);
    const r = await weir(
      'datasets',
      'download',
      datasetId,
      '--format',
      'csv',
      '--version',
      v1,
      '--out',
      file('out.csv'),
    );
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
    const rows = r.stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as { name: string });
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

describe('weir datasets chart --series', () => {
  it('draws one line per value of a column, the largest --series-limit of them', async () => {
    const lines = ['ts,site,temperature'];
    for (const [site, hours] of [
      ['north', 6],
      ['south', 4],
      ['east', 2],
    ] as const) {
      for (let h = 0; h < hours; h++) lines.push(`2024-05-01T0${h}:00:00Z,${site},${10 + h}`);
    }
    await writeFile(file('sites.csv'), lines.join('\n'));
    const { id } = parse<IngestResponse>(await weir('upload', file('sites.csv'), '--name', 'Sites', '--json'));
    const r = await weir(
      'datasets',
      'chart',
      id,
      '--time',
      'ts',
      '--value',
      'temperature',
      '--series',
      'site',
      '--series-limit',
      '2',
      '--format',
      'vega-lite',
    );
    expect(r.stderr).toBe('');
    const spec = JSON.parse(r.stdout) as {
      title: { text: string };
      data: { values: { series: string }[] };
      layer: { encoding: { color: { legend: { title: string } } } }[];
    };
    expect(spec.title.text).toBe('temperature over ts by site (2 of 3) — Sites');
    expect(new Set(spec.data.values.map((v) => v.series))).toEqual(new Set(['north', 'south']));
    expect(spec.layer[0]!.encoding.color.legend.title).toBe('site');

    const svg = await weir(
      'datasets',
      'chart',
      id,
      '--time',
      'ts',
      '--value',
      'temperature',
      '--series',
      'site',
      '--out',
      'sites.svg',
    );
    expect(svg.code).toBe(0);
    const drawn = await readFile(file('sites.svg'), 'utf8');
    for (const site of ['north', 'south', 'east']) expect(drawn).toContain(`>${site}<`);

    const alone = await weir(
      'datasets',
      'chart',
      id,
      '--time',
      'ts',
      '--value',
      'temperature',
      '--series-limit',
      '2',
      '--out',
      'x.svg',
    );
    expect(alone.code).not.toBe(0);
    expect(alone.stderr).toContain('--series-limit needs --series <column>');
  });
});

describe('names instead of ids', () => {
  const upload = async (content: string, name: string) => {
    await writeFile(file('named.csv'), content);
    const r = await weir('upload', file('named.csv'), '--name', name, '--json');
    expect(r.stderr).toBe('');
    return parse<IngestResponse>(r);
  };

  it('every dataset command takes a unique name, exactly or in another case; upload --dataset too', async () => {
    const readings = await upload('site,temperature\nnorth,10\nsouth,20\n', 'Readings');
    expect(parse<Dataset>(await weir('datasets', 'show', 'Readings', '--json')).id).toBe(readings.id);
    expect(parse<Preview>(await weir('datasets', 'preview', 'readings', '--json')).versionId).toBe(readings.version.id);
    expect(parse<Profile>(await weir('datasets', 'profile', 'READINGS', '--json')).versionId).toBe(readings.version.id);
    expect(parse<{ versionId: string }>(await weir('datasets', 'stats', 'Readings', '--json')).versionId).toBe(
      readings.version.id,
    );
    expect(parse<{ datasetId: string }>(await weir('datasets', 'lineage', 'Readings', '--json')).datasetId).toBe(
      readings.id,
    );
    expect((await weir('datasets', 'download', 'Readings', '--out', '-')).stdout).toBe(
      'site,temperature\nnorth,10\nsouth,20\n',
    );
    expect(
      (await weir('datasets', 'chart', 'Readings', '--histogram', 'temperature', '--format', 'vega-lite')).stdout,
    ).toContain('vega-lite');

    await writeFile(file('readings-v2.csv'), 'site,temperature\nwest,30\n');
    const added = await weir('upload', file('readings-v2.csv'), '--dataset', 'Readings', '--json');
    expect(added.stderr).toBe('');
    expect(parse<IngestResponse>(added)).toMatchObject({ id: readings.id, version: { number: 2 } });
    const versions = await weir('datasets', 'versions', 'Readings');
    expect(
      versions.stdout
        .trimEnd()
        .split('\n')
        .map((l) => l.trim().split(/\s+/).slice(0, 3)),
    ).toEqual([
      ['VERSION', 'ID', 'ROWS'],
      ['2', parse<IngestResponse>(added).version.id, '1'],
      ['1', readings.version.id, '2'],
    ]);

    // An id is taken as an id: no lookup, and a dataset named like another's id cannot hijack it.
    await upload('a\n1\n', readings.id);
    expect(parse<Dataset>(await weir('datasets', 'show', readings.id, '--json')).name).toBe('Readings');
    const removed = await weir('datasets', 'rm', 'Readings', '--yes');
    expect(removed.stdout).toBe(`deleted ${readings.id}\n`);
  });

  it('refuses an ambiguous name, listing the candidates newest first, before sending anything', async () => {
    const older = await upload('k\n1\n', 'twin');
    const newer = await upload('k\n2\n', 'twin');
    const expected = [
      'weir: 2 datasets are named "twin"; give the id of the one you mean:',
      `  ${'ID'.padEnd(older.id.length)}  NAME  CREATED`,
      `  ${newer.id}  twin  ${formatDate(newer.createdAt)}`,
      `  ${older.id}  twin  ${formatDate(older.createdAt)}`,
      '',
    ].join('\n');
    for (const command of [
      ['datasets', 'preview', 'twin'],
      ['datasets', 'rm', 'twin', '--yes'],
      ['datasets', 'lineage', 'twin'],
    ]) {
      const r = await weir(...command);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe(expected);
    }
    await writeFile(file('twin-v2.csv'), 'k\n3\n');
    const upload2 = await weir('upload', file('twin-v2.csv'), '--dataset', 'twin', '--json');
    expect(upload2.code).toBe(1);
    expect(parse<{ code: string; candidates: { id: string }[] }>(upload2)).toMatchObject({
      code: 'ambiguous_name',
      candidates: [{ id: newer.id }, { id: older.id }],
    });
    for (const d of [older, newer])
      expect(parse<Dataset>(await weir('datasets', 'show', d.id, '--json')).versionCount).toBe(1);
  });

  it('refuses a name that matches nothing, suggesting the nearest', async () => {
    const r = await weir('datasets', 'preview', 'twni');
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      'weir: no dataset is named "twni" in this workspace; did you mean "twin"? (see npx weir datasets ls)\n',
    );
    const far = await weir('datasets', 'show', 'nothing like it', '--json');
    expect(far.code).toBe(1);
    expect(parse(far)).toEqual({
      code: 'name_not_found',
      detail: 'no dataset is named "nothing like it"',
      suggestions: [],
    });
  });
});

describe('help', () => {
  const cases: [string[], string[]][] = [
    [['upload'], ['<file>', '--name', '--description', '--tags', '--dataset <dataset>', '--json', '--url']],
    [
      ['datasets', 'ls'],
      ['--search', '--tag', '--format', '--limit', '--offset', '--json', '--url'],
    ],
    [
      ['datasets', 'show'],
      ['<dataset>', 'dataset name or id (ds_…)', '--json', '--url'],
    ],
    [
      ['datasets', 'versions'],
      ['<dataset>', 'dataset name or id (ds_…)', '--json', '--url'],
    ],
    [
      ['datasets', 'preview'],
      ['<dataset>', 'dataset name or id (ds_…)', '--limit', '--offset', '--columns', '--version', '--json', '--url'],
    ],
    [
      ['datasets', 'profile'],
      ['<dataset>', 'dataset name or id (ds_…)', '--version', '--json', '--url'],
    ],
    [
      ['datasets', 'download'],
      ['<dataset>', 'dataset name or id (ds_…)', '--format', '--out', '--version', '--json', '--url'],
    ],
    [
      ['datasets', 'rm'],
      ['<dataset>', 'dataset name or id (ds_…)', '--yes', '--json', '--url'],
    ],
    [
      ['datasets', 'stats'],
      ['<dataset>', 'dataset name or id (ds_…)', '--version', '--json'],
    ],
    [
      ['datasets', 'chart'],
      ['<dataset>', 'dataset name or id (ds_…)', '--histogram', '--out'],
    ],
    [
      ['datasets', 'lineage'],
      ['<dataset>', 'dataset name or id (ds_…)', '--version', '--json'],
    ],
    [['datasets'], ['ls', 'show', 'versions', 'preview', 'profile', 'download', 'rm', 'stats', 'chart', 'lineage']],
    [['pipelines'], ['run', 'preview', 'ls', 'runs', 'save', 'update', 'show', 'versions']],
    [
      ['pipelines', 'run'],
      ['<file|pipeline>', '--param', '--name', '--watch'],
    ],
    [
      ['pipelines', 'show'],
      ['<pipeline>', 'saved pipeline name or id (pl_…)', '--version', '--json'],
    ],
    [
      ['pipelines', 'update'],
      ['<pipeline>', '<file>', '--name', '--description'],
    ],
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
    expect(filenameFromDisposition(`attachment; filename="a-v1.csv"; filename*=UTF-8''s%C3%B8k-v1.csv`)).toBe(
      'søk-v1.csv',
    );
    expect(filenameFromDisposition('attachment; filename="../../etc/passwd"')).toBe('passwd');
    expect(filenameFromDisposition(`attachment; filename*=UTF-8''..%2F.bashrc`)).toBe('bashrc');
    expect(filenameFromDisposition('attachment')).toBeUndefined();
    expect(filenameFromDisposition(null)).toBeUndefined();
  });

  it('escapes terminal control characters and aligns tables', () => {
    expect(clean('evil\u001b[31mred\nline')).toBe('evil\\u001b[31mred\\nline');
    expect(
      table(
        ['A', 'NUM'],
        [
          ['xx', '1'],
          ['y', '100'],
        ],
        ['left', 'right'],
      ),
    ).toBe('A   NUM\nxx    1\ny   100');
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(20 * 1024 ** 2)).toBe('20 MiB');
  });
});
