import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { XMLValidator } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startTestServer, type CliResult, type TestServer } from './helpers/cli-server.js';

/**
 * `weir pipelines preview|run|ls|runs` and `weir datasets stats|chart` against a real `weir serve`: what the issue
 * promises a user on the command line, from a definition file to a stored version and a chart file.
 */
let server: TestServer;
let dir: string;
let datasetId: string;
const weir = (...args: string[]): Promise<CliResult> => runCli(args, { url: server.url, token: server.token, cwd: dir });
const file = (name: string) => path.join(dir, name);

const READINGS = [
  'ts,site,temperature',
  '2024-03-01T00:00:00Z,north,10',
  '2024-03-01T00:30:00Z,north,14',
  '2024-03-01T01:00:00Z,south,',
  '2024-03-01T01:30:00Z,south,20',
  '2024-03-01T02:00:00Z,north,30',
].join('\n');

beforeAll(async () => {
  server = await startTestServer();
  dir = await mkdtemp(path.join(tmpdir(), 'weir-pipelines-cli-'));
  await writeFile(file('readings.csv'), `${READINGS}\n`);
  const r = await weir('upload', file('readings.csv'), '--name', 'readings', '--json');
  expect(r.stderr).toBe('');
  datasetId = (JSON.parse(r.stdout) as { id: string }).id;
});
afterAll(async () => {
  await server?.stop();
  await rm(dir, { recursive: true, force: true });
});

const definition = () => ({
  input: { datasetId },
  parameters: [{ name: 'min', type: 'number', default: 0 }],
  steps: [
    { type: 'filter', expression: 'temperature >= $min' },
    { type: 'derive', column: 'temp_f', expression: 'temperature * 9 / 5 + 32' },
    { type: 'select', columns: ['site', 'temp_f'] },
  ],
  output: { name: 'fahrenheit' },
});

describe('weir pipelines', () => {
  it('preview prints the input and every step as a table, with template parameters from --param', async () => {
    await writeFile(file('pipeline.json'), JSON.stringify(definition()));
    const r = await weir('pipelines', 'preview', 'pipeline.json', '--param', 'min=14');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`input: dataset ${datasetId} version `);
    expect(r.stdout).toContain('step 0: filter');
    expect(r.stdout).toContain('step 2: select');
    const last = r.stdout.slice(r.stdout.indexOf('step 2: select'));
    expect(last.trim().split('\n').slice(1).map((l) => l.trim().split(/\s+/))).toEqual([['site', 'temp_f'], ['north', '57.2'], ['south', '68'], ['north', '86']]);
  });

  it('run --watch follows the job and prints the stored version; the output holds exactly the filtered rows', async () => {
    const r = await weir('pipelines', 'run', 'pipeline.json', '--param', 'min=20', '--watch');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const match = /^run (run_\w+) succeeded → dataset (ds_\w+) version (dv_\w+) \(2 rows/m.exec(r.stdout);
    expect(match, r.stdout).not.toBeNull();
    const preview = await weir('datasets', 'preview', match![2]!, '--json');
    expect(JSON.parse(preview.stdout)).toMatchObject({ columns: [{ name: 'site' }, { name: 'temp_f' }], rows: [['south', 68], ['north', 86]], versionId: match![3] });
  });

  it('run without --watch prints the run and its job; a definition file that is wrong says where', async () => {
    const queued = await weir('pipelines', 'run', 'pipeline.json', '--json');
    expect(queued.code).toBe(0);
    expect(JSON.parse(queued.stdout)).toMatchObject({ runId: expect.stringMatching(/^run_/), jobId: expect.stringMatching(/^job_/) });

    await writeFile(file('bad.json'), JSON.stringify({ ...definition(), steps: [{ type: 'filter', expression: 'temprature > 1' }] }));
    const bad = await weir('pipelines', 'run', 'bad.json');
    expect(bad.code).toBe(1);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toContain("unknown column 'temprature'");
    expect(bad.stderr).toContain('/definition/steps/0/expression');
    expect(bad.stderr).toContain("did you mean 'temperature'?");

    await writeFile(file('broken.json'), '{"input": ');
    const broken = await weir('pipelines', 'run', 'broken.json');
    expect(broken.code).toBe(1);
    expect(broken.stderr).toMatch(/^weir: broken\.json is not valid JSON/);

    const missing = await weir('pipelines', 'preview', 'nowhere.json');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe('weir: cannot read nowhere.json: ENOENT\n');
  });

  it('ls lists saved pipelines and runs their history', async () => {
    const saved = await fetch(`${server.url}/api/v1/pipelines`, {
      method: 'POST', headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Saved fahrenheit', definition: definition() }),
    });
    expect(saved.status).toBe(201);
    const { id } = (await saved.json()) as { id: string };
    const run = await fetch(`${server.url}/api/v1/pipelines/${id}/run?wait=true`, {
      method: 'POST', headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' }, body: '{}',
    });
    expect(run.status).toBe(201);

    const ls = await weir('pipelines', 'ls');
    expect(ls.code).toBe(0);
    expect(ls.stdout).toMatch(new RegExp(`^${id}\\s+Saved fahrenheit\\s+1\\s`, 'm'));
    const runs = await weir('pipelines', 'runs', id);
    expect(runs.code).toBe(0);
    expect(runs.stdout).toMatch(/^run_\w+\s+1\s+succeeded\s+dv_\w+\s+4\s/m);
  });
});

describe('weir datasets stats and chart', () => {
  it('stats prints the profile with missing values', async () => {
    const r = await weir('datasets', 'stats', datasetId);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^temperature\s+BIGINT\s+1\s+20\.0%\s/m);
    expect(r.stdout).toContain('5 rows; 1 (20.0%) with a missing value');
  });

  it('chart writes a server-rendered SVG, or the Vega-Lite spec for a .json file', async () => {
    const svg = await weir('datasets', 'chart', datasetId, '--time', 'ts', '--value', 'temperature', '--out', 'chart.svg');
    expect(svg.stderr).toBe('');
    expect(svg.code).toBe(0);
    expect(svg.stdout).toMatch(/^wrote an SVG chart to chart\.svg \(/);
    const text = await readFile(file('chart.svg'), 'utf8');
    expect(XMLValidator.validate(text)).toBe(true);
    expect(text).toMatch(/^<svg[^>]* width="640" height="320"/);

    const spec = await weir('datasets', 'chart', datasetId, '--histogram', 'temperature', '--bins', '4', '--out', 'histogram.json');
    expect(spec.code).toBe(0);
    const parsed = JSON.parse(await readFile(file('histogram.json'), 'utf8')) as { $schema: string; data: { values: { count: number }[] } };
    expect(parsed.$schema).toMatch(/vega-lite\/v6/);
    expect(parsed.data.values.map((b) => b.count)).toEqual([2, 0, 1, 1]);
  });

  it('chart refuses an incomplete request before asking the server, and passes on the server\'s refusal', async () => {
    const incomplete = await weir('datasets', 'chart', datasetId, '--time', 'ts', '--out', 'x.svg');
    expect(incomplete.code).toBe(1);
    expect(incomplete.stderr).toContain('a time series needs both --time <column> and --value <column>');
    const unknown = await weir('datasets', 'chart', datasetId, '--time', 'ts', '--value', 'tempreature', '--out', 'x.svg');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("did you mean 'temperature'?");
    await expect(readFile(file('x.svg'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
