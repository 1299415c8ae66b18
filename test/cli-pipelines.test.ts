import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { XMLValidator } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { login } from './helpers/app.js';
import { runCli, startTestServer, type CliResult, type TestServer } from './helpers/cli-server.js';

/**
 * `weir pipelines preview|run|ls|runs` and `weir datasets stats|chart` against a real `weir serve`: what the issue
 * promises a user on the command line, from a definition file to a stored version and a chart file.
 */
let server: TestServer;
let dir: string;
let datasetId: string;
const weir = (...args: string[]): Promise<CliResult> =>
  runCli(args, { url: server.url, token: server.token, cwd: dir });
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
    expect(
      last
        .trim()
        .split('\n')
        .slice(1)
        .map((l) => l.trim().split(/\s+/)),
    ).toEqual([
      ['site', 'temp_f'],
      ['north', '57.2'],
      ['south', '68'],
      ['north', '86'],
    ]);
  });

  it('run --watch follows the job and prints the stored version; the output holds exactly the filtered rows', async () => {
    const r = await weir('pipelines', 'run', 'pipeline.json', '--param', 'min=20', '--watch');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const match = /^run (run_\w+) succeeded → dataset (ds_\w+) version (dv_\w+) \(2 rows/m.exec(r.stdout);
    expect(match, r.stdout).not.toBeNull();
    const preview = await weir('datasets', 'preview', match![2]!, '--json');
    expect(JSON.parse(preview.stdout)).toMatchObject({
      columns: [{ name: 'site' }, { name: 'temp_f' }],
      rows: [
        ['south', 68],
        ['north', 86],
      ],
      versionId: match![3],
    });
  });

  it('run without --watch prints the run and its job; a definition file that is wrong says where', async () => {
    const queued = await weir('pipelines', 'run', 'pipeline.json', '--json');
    expect(queued.code).toBe(0);
    expect(JSON.parse(queued.stdout)).toMatchObject({
      runId: expect.stringMatching(/^run_/),
      jobId: expect.stringMatching(/^job_/),
    });

    await writeFile(
      file('bad.json'),
      JSON.stringify({ ...definition(), steps: [{ type: 'filter', expression: 'temprature > 1' }] }),
    );
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
      method: 'POST',
      headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Saved fahrenheit', definition: definition() }),
    });
    expect(saved.status).toBe(201);
    const { id } = (await saved.json()) as { id: string };
    const run = await fetch(`${server.url}/api/v1/pipelines/${id}/run?wait=true`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' },
      body: '{}',
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
    const svg = await weir(
      'datasets',
      'chart',
      datasetId,
      '--time',
      'ts',
      '--value',
      'temperature',
      '--out',
      'chart.svg',
    );
    expect(svg.stderr).toBe('');
    expect(svg.code).toBe(0);
    expect(svg.stdout).toMatch(/^wrote an SVG chart to chart\.svg \(/);
    const text = await readFile(file('chart.svg'), 'utf8');
    expect(XMLValidator.validate(text)).toBe(true);
    expect(text).toMatch(/^<svg[^>]* width="640" height="320"/);

    const spec = await weir(
      'datasets',
      'chart',
      datasetId,
      '--histogram',
      'temperature',
      '--bins',
      '4',
      '--out',
      'histogram.json',
    );
    expect(spec.code).toBe(0);
    const parsed = JSON.parse(await readFile(file('histogram.json'), 'utf8')) as {
      $schema: string;
      data: { values: { count: number }[] };
    };
    expect(parsed.$schema).toMatch(/vega-lite\/v6/);
    expect(parsed.data.values.map((b) => b.count)).toEqual([2, 0, 1, 1]);
  });

  it("chart refuses an incomplete request before asking the server, and passes on the server's refusal", async () => {
    const incomplete = await weir('datasets', 'chart', datasetId, '--time', 'ts', '--out', 'x.svg');
    expect(incomplete.code).toBe(1);
    expect(incomplete.stderr).toContain('a time series needs both --time <column> and --value <column>');
    const unknown = await weir(
      'datasets',
      'chart',
      datasetId,
      '--time',
      'ts',
      '--value',
      'tempreature',
      '--out',
      'x.svg',
    );
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("did you mean 'temperature'?");
    await expect(readFile(file('x.svg'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

// Each test here is a user's session of 10 to 16 `weir` commands, each a Node process of its own: on a busy 2-core
// machine one takes 1–3 s, so the suite's 30 s default would time out a session that is only slow, not stuck.
describe(
  'weir pipelines by name: output names, save, show, versions, and weir datasets lineage',
  { timeout: 120_000 },
  () => {
    const summary = () => ({
      input: { datasetId },
      steps: [
        {
          type: 'aggregate',
          groupBy: ['site'],
          aggregations: [{ column: 'temperature', function: 'max', as: 'hottest' }],
        },
        { type: 'sort', by: [{ column: 'site' }] },
      ],
    });
    const uploaded = async (name: string, content: string) => {
      await writeFile(file(`${name}.csv`), content);
      const r = await weir('upload', file(`${name}.csv`), '--name', name, '--json');
      expect(r.stderr).toBe('');
      return JSON.parse(r.stdout) as { id: string; version: { id: string } };
    };
    let summaryId = '';

    it('run --name into a name that exists adds a version to that dataset, and is refused for an analyst without datasets:write', async () => {
      await writeFile(file('summary.json'), JSON.stringify(summary()));
      const runs: string[] = [];
      for (let i = 0; i < 2; i++) {
        const r = await weir('pipelines', 'run', 'summary.json', '--name', 'device summary', '--watch');
        expect(r.stderr).toBe('');
        expect(r.code).toBe(0);
        runs.push(r.stdout);
      }
      const [first, second] = runs.map((out) => /→ dataset (ds_\w+) version (dv_\w+) \(2 rows/.exec(out));
      expect(first, runs[0]).not.toBeNull();
      summaryId = first![1]!;
      expect(second?.[1], runs[1]).toBe(summaryId);
      const versions = await weir('datasets', 'versions', 'device summary');
      expect(versions.code).toBe(0);
      const lines = versions.stdout.trimEnd().split('\n');
      expect(lines[0]).toMatch(/^VERSION\s+ID\s+ROWS\s+COLUMNS\s+STORED\s+SOURCE\s+CREATED$/);
      expect(lines.slice(1).map((l) => l.trim().split(/\s+/).slice(0, 4))).toEqual([
        ['2', second![2], '2', '2'],
        ['1', first![2], '2', '2'],
      ]);
      expect(JSON.parse((await weir('datasets', 'ls', '--search', 'device summary', '--json')).stdout)).toMatchObject({
        total: 1,
      });

      const api = `${server.url}/api/v1`;
      const analyst = { email: `analyst-${Date.now()}@weir.test`, password: 'a long enough password' };
      const created = await fetch(`${api}/users`, {
        method: 'POST',
        headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ ...analyst, workspaceId: 'ws_default', role: 'analyst' }),
      });
      expect(created.status, await created.clone().text()).toBe(201);
      const token = await login(api, analyst.email, analyst.password);
      const refused = await runCli(['pipelines', 'run', 'summary.json', '--name', 'device summary', '--watch'], {
        url: server.url,
        token,
        cwd: dir,
      });
      expect(refused.code).toBe(1);
      expect(refused.stdout).toBe('');
      expect(refused.stderr).toBe(
        `weir: The output name 'device summary' is taken by dataset '${summaryId}', so the run would add a version to it; that needs the permission ` +
          "'datasets:write'. Ask a workspace admin for it, or choose another output.name to store the result as a new dataset\n  /definition/output/name: needs 'datasets:write'\n",
      );
      const fresh = await runCli(['pipelines', 'run', 'summary.json', '--name', 'analyst summary', '--watch'], {
        url: server.url,
        token,
        cwd: dir,
      });
      expect(fresh.code, fresh.stderr).toBe(0);
      expect(JSON.parse((await weir('datasets', 'versions', 'device summary', '--json')).stdout).items).toHaveLength(2);
    });

    it('save creates a pipeline or a new version of the one of that name; update, show, versions, runs and run take its name', async () => {
      const saved = await weir('pipelines', 'save', 'summary.json', '--name', 'Site summary');
      expect(saved.stderr).toBe('');
      const id = /^saved pipeline (pl_\w+) "Site summary" \(version 1\)\n$/.exec(saved.stdout)?.[1];
      expect(id, saved.stdout).toBeDefined();
      await writeFile(file('summary-v2.json'), JSON.stringify({ ...summary(), output: { name: 'device summary' } }));
      expect((await weir('pipelines', 'save', 'summary-v2.json', '--name', 'Site summary')).stdout).toBe(
        `saved version 2 of pipeline ${id} "Site summary"\n`,
      );
      const updated = await weir(
        'pipelines',
        'update',
        'site summary',
        'summary-v2.json',
        '--description',
        'hottest reading per site',
      );
      expect(updated.stderr).toBe('');
      expect(updated.stdout).toBe(`saved version 3 of pipeline ${id} "Site summary"\n`);
      const noName = await weir('pipelines', 'save', 'summary.json');
      expect(noName.code).toBe(1);
      expect(noName.stderr).toBe(
        'weir: name the pipeline with --name (or a "name" beside "definition" in summary.json)\n',
      );

      const show = await weir('pipelines', 'show', 'Site summary');
      expect(show.stderr).toBe('');
      const lines = show.stdout.trimEnd().split('\n');
      expect(lines.slice(0, 7)).toEqual([
        `id           ${id}`,
        'name         Site summary',
        'description  hottest reading per site',
        'version      3',
        `input        dataset ${datasetId} (its latest version when run)`,
        'output       the dataset named "device summary" (the first run creates it when none is)',
        'parameters   -',
      ]);
      expect(lines.slice(-3)).toEqual([
        'STEP  TYPE       FIELDS',
        '   0  aggregate  {"groupBy":["site"],"aggregations":[{"column":"temperature","function":"max","as":"hottest"}]}',
        '   1  sort       {"by":[{"column":"site"}]}',
      ]);
      const first = await weir('pipelines', 'show', id!, '--version', '1');
      expect(first.stdout).toMatch(/^version {6}1 of 3, saved \d{4}-\d\d-\d\d \d\d:\d\d$/m);
      expect(first.stdout).toContain('output       a new dataset "Site summary output", made by the first run');
      expect(JSON.parse((await weir('pipelines', 'show', id!, '--version', '1', '--json')).stdout)).toMatchObject({
        pipelineId: id,
        version: 1,
        definition: summary(),
      });

      const versions = await weir('pipelines', 'versions', 'Site summary');
      expect(
        versions.stdout
          .trimEnd()
          .split('\n')
          .map((l) => l.trim().split(/\s+/).slice(0, 3)),
      ).toEqual([
        ['VERSION', 'STEPS', 'INPUT'],
        ['3', '2', datasetId],
        ['2', '2', datasetId],
        ['1', '2', datasetId],
      ]);

      // Run by name: its output.name now names the dataset the ad-hoc runs made, so it adds a third version there.
      const run = await weir('pipelines', 'run', 'Site summary', '--watch');
      expect(run.stderr).toBe('');
      expect(run.stdout).toMatch(
        new RegExp(`^run run_\\w+ succeeded → dataset ${summaryId} version dv_\\w+ \\(2 rows`, 'm'),
      );
      expect(JSON.parse((await weir('datasets', 'versions', summaryId, '--json')).stdout).items).toHaveLength(3);
      expect((await weir('pipelines', 'runs', 'Site summary')).stdout).toMatch(
        /^run_\w+\s+3\s+succeeded\s+dv_\w+\s+2\s/m,
      );
      const preview = await weir('pipelines', 'preview', 'Site summary');
      expect(preview.stdout).toContain('step 1: sort');

      const typo = await weir('pipelines', 'run', 'site-sumary');
      expect(typo.code).toBe(1);
      expect(typo.stderr).toBe(
        'weir: site-sumary: no such file, and no pipeline is named "site-sumary" in this workspace; did you mean "Site summary"? (see npx weir pipelines ls)\n',
      );
      const named = await weir('pipelines', 'run', 'Site summary', '--name', 'elsewhere');
      expect(named.code).toBe(1);
      expect(named.stderr).toMatch(
        /^weir: --name applies to a definition file; a saved pipeline stores where its definition says/,
      );
    });

    it('datasets lineage draws the upstream tree, joins marked; --json prints the API answer', async () => {
      const sites = await uploaded('sites', 'site,region\nnorth,N\nsouth,S\n');
      const readings = (
        JSON.parse((await weir('datasets', 'show', 'readings', '--json')).stdout) as { latestVersion: { id: string } }
      ).latestVersion.id;
      await writeFile(
        file('regions.json'),
        JSON.stringify({
          input: { datasetId },
          steps: [{ type: 'join', dataset: { datasetId: sites.id }, on: ['site'], how: 'inner' }],
          output: { name: 'readings by region' },
        }),
      );
      const made = async (...args: string[]) => {
        const r = await weir(...args, '--watch');
        expect(r.stderr).toBe('');
        const m = /^run (run_\w+) succeeded → dataset (ds_\w+) version (dv_\w+)/m.exec(r.stdout);
        expect(m, r.stdout).not.toBeNull();
        return { run: m![1]!, dataset: m![2]!, version: m![3]! };
      };
      const joined = await made('pipelines', 'run', 'regions.json');
      const tree = await weir('datasets', 'lineage', 'readings by region');
      expect(tree.stderr).toBe('');
      expect(tree.stdout).toBe(
        [
          `readings by region v1  ${joined.dataset}/${joined.version}`,
          `└─ ← run ${joined.run}: ad-hoc "readings by region"`,
          `   ├─ ← readings v1  ${datasetId}/${readings}  uploaded`,
          `   └─ ← join (step 0): sites v1  ${sites.id}/${sites.version.id}  uploaded`,
          '',
        ].join('\n'),
      );

      await writeFile(
        file('regional.json'),
        JSON.stringify({
          input: { datasetId: joined.dataset },
          steps: [{ type: 'select', columns: ['site', 'region'] }],
          output: { name: 'regions' },
        }),
      );
      const pipelineId = /^saved pipeline (pl_\w+)/.exec(
        (await weir('pipelines', 'save', 'regional.json', '--name', 'regional')).stdout,
      )?.[1];
      const regions = await made('pipelines', 'run', 'regional');
      const chained = await weir('datasets', 'lineage', 'regions');
      expect(chained.stdout.trimEnd().split('\n')).toEqual([
        `regions v1  ${regions.dataset}/${regions.version}`,
        `└─ ← run ${regions.run}: pipeline "regional" v1 (${pipelineId})`,
        `   └─ ← readings by region v1  ${joined.dataset}/${joined.version}`,
        `      └─ ← run ${joined.run}: ad-hoc "readings by region"`,
        `         ├─ ← readings v1  ${datasetId}/${readings}  uploaded`,
        `         └─ ← join (step 0): sites v1  ${sites.id}/${sites.version.id}  uploaded`,
      ]);
      expect((await weir('datasets', 'lineage', 'sites')).stdout).toBe(
        `sites v1  ${sites.id}/${sites.version.id}  uploaded\n`,
      );

      const json = JSON.parse((await weir('datasets', 'lineage', 'regions', '--json')).stdout) as {
        datasetId: string;
        versionId: string;
        nodes: unknown[];
        edges: { role: string; pipelineName: string }[];
      };
      expect(json).toMatchObject({ datasetId: regions.dataset, versionId: regions.version, truncated: false });
      expect(json.nodes).toHaveLength(4);
      expect(json.edges.map((e) => [e.role, e.pipelineName])).toEqual([
        ['input', 'regional'],
        ['input', 'readings by region'],
        ['join', 'readings by region'],
      ]);
    });
  },
);
