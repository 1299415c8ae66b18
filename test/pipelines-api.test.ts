import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.js';
import { actor, workspace } from './helpers/identity.js';
import { problemOf, uploadDataset } from './helpers/upload.js';

/**
 * Saved pipelines through the HTTP API of a real server: creation (compiled against the data, so a bad definition
 * is a 400 with a pointer and saves nothing), versions, listing, deletion, previews with exact rows, templates and
 * workspace isolation.
 */
let t: TestApp;
let sales: { id: string; versionId: string };
const json = { 'content-type': 'application/json' };

const SALES =
  'city,amount,day,note\nBerlin,10,2024-01-01,a\nParis,25,2024-01-02,\nBerlin,5,2024-01-03,c\nRome,,2024-01-04,d\n';

beforeAll(async () => {
  t = await startTestApp();
  sales = await dataset(SALES, 'sales.csv');
});
afterAll(async () => {
  await t?.close();
});

const dataset = (content: string, filename: string, auth = t.auth) =>
  uploadDataset({ api: t.api, auth }, content, { filename });

function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  return t.fetch(`${t.api}${path}`, { method: 'POST', headers: { ...json, ...headers }, body: JSON.stringify(body) });
}

async function pipelineCount(): Promise<number> {
  return ((await (await t.fetch(`${t.api}/pipelines`)).json()) as { total: number }).total;
}

const bigSpenders = () => ({
  input: { datasetId: sales.id },
  steps: [
    { type: 'filter', expression: 'amount >= 10' },
    { type: 'sort', by: [{ column: 'amount', descending: true }] },
    { type: 'select', columns: ['city', 'amount'] },
  ],
});

interface PipelineBody {
  id: string;
  name: string;
  description: string;
  version: number;
  definition: unknown;
  outputDatasetId: string | null;
  workspaceId: string;
}

describe('saved pipelines', () => {
  it('creates, reads, versions, lists and deletes a pipeline', async () => {
    const created = await post('/pipelines', {
      name: 'Big spenders',
      description: 'amount >= 10',
      definition: bigSpenders(),
    });
    expect(created.status, await created.clone().text()).toBe(201);
    const p = (await created.json()) as PipelineBody;
    expect(p).toMatchObject({
      name: 'Big spenders',
      description: 'amount >= 10',
      version: 1,
      outputDatasetId: null,
      workspaceId: 'ws_default',
      definition: bigSpenders(),
    });
    expect(p.id).toMatch(/^pl_[0-9A-Z]{26}$/);
    expect(created.headers.get('location')).toBe(`/api/v1/pipelines/${p.id}`);

    const v2 = { ...bigSpenders(), steps: [{ type: 'filter', expression: 'amount >= 20' }] };
    const put = await t.fetch(`${t.api}/pipelines/${p.id}`, {
      method: 'PUT',
      headers: json,
      body: JSON.stringify({ definition: v2, name: 'Bigger spenders' }),
    });
    expect(put.status, await put.clone().text()).toBe(200);
    expect(await put.json()).toMatchObject({
      id: p.id,
      name: 'Bigger spenders',
      description: 'amount >= 10',
      version: 2,
      definition: v2,
    });

    const got = (await (await t.fetch(`${t.api}/pipelines/${p.id}`)).json()) as PipelineBody;
    expect(got).toMatchObject({ version: 2, definition: v2, name: 'Bigger spenders' });

    const versions = (await (await t.fetch(`${t.api}/pipelines/${p.id}/versions`)).json()) as {
      items: { version: number; definition: unknown; pipelineId: string }[];
    };
    expect(versions.items.map((v) => [v.version, v.definition])).toEqual([
      [2, v2],
      [1, bigSpenders()],
    ]);
    const first = await t.fetch(`${t.api}/pipelines/${p.id}/versions/1`);
    expect(await first.json()).toMatchObject({ pipelineId: p.id, version: 1, definition: bigSpenders() });
    expect((await problemOf(await t.fetch(`${t.api}/pipelines/${p.id}/versions/3`))).code).toBe('not_found');

    const listed = (await (await t.fetch(`${t.api}/pipelines?search=BIGGER`)).json()) as {
      items: { id: string; stepCount: number; template: boolean }[];
      total: number;
    };
    expect(listed.total).toBe(1);
    expect(listed.items[0]).toMatchObject({ id: p.id, stepCount: 1, template: false });

    const del = await t.fetch(`${t.api}/pipelines/${p.id}`, { method: 'DELETE' });
    expect(del.status).toBe(204);
    expect((await t.fetch(`${t.api}/pipelines/${p.id}`)).status).toBe(404);
    expect((await t.fetch(`${t.api}/pipelines/${p.id}/versions`)).status).toBe(404);
  });

  it('refuses a second pipeline of the same name (409) and an unknown id (404)', async () => {
    expect((await post('/pipelines', { name: 'Twice', definition: bigSpenders() })).status).toBe(201);
    const again = await post('/pipelines', { name: 'Twice', definition: bigSpenders() });
    expect(again.status).toBe(409);
    expect((await problemOf(again)).errors).toEqual([{ pointer: '/name', message: 'is taken' }]);
    const named = async (name: string) =>
      (await (await t.fetch(`${t.api}/pipelines?name=${encodeURIComponent(name)}`)).json()) as {
        items: { name: string }[];
        total: number;
      };
    expect((await named('Twice')).items.map((p) => p.name)).toEqual(['Twice']);
    expect((await named('twice')).total).toBe(0);
    expect((await named('Twic')).total).toBe(0);
    const missing = await t.fetch(`${t.api}/pipelines/pl_01J00000000000000000000000`);
    expect(missing.status).toBe(404);
    expect((await problemOf(missing)).detail).toBe("Pipeline 'pl_01J00000000000000000000000' does not exist");
  });

  it.each([
    [
      'an unknown column',
      [{ type: 'select', columns: ['city', 'amont'] }],
      '/definition/steps/0/columns/1',
      /no column named 'amont'.*'amount'/,
    ],
    ['a bad expression', [{ type: 'filter', expression: 'amount >= ' }], '/definition/steps/0/expression', /./],
    [
      'an unknown step type',
      [{ type: 'filtr', expression: 'amount > 1' }],
      '/definition/steps/0/type',
      /unknown step type 'filtr'.*'filter'/,
    ],
    [
      'an expression smuggling SQL',
      [{ type: 'filter', expression: 'amount > 1; DROP TABLE datasets; --' }],
      '/definition/steps/0/expression',
      /./,
    ],
    [
      'a column name smuggling SQL',
      [{ type: 'select', columns: ["city\" FROM read_csv('/etc/passwd') --"] }],
      '/definition/steps/0/columns/0',
      /no column named/,
    ],
    [
      'a condition that is not boolean',
      [{ type: 'filter', expression: 'amount + 1' }],
      '/definition/steps/0/expression',
      /condition/,
    ],
    [
      'a SQL cast',
      [{ type: 'derive', column: 'whole', expression: 'CAST(amount AS INT)' }],
      '/definition/steps/0/expression',
      /^CAST is not supported at 0; write round\(to_number\(amount\)\) instead; the conversion functions are to_number\(\), to_text\(\), to_boolean\(\), to_date\(\), to_timestamp\(\)$/,
    ],
    [
      'a SQL CASE with an operand',
      [{ type: 'derive', column: 'size', expression: "CASE amount WHEN 10 THEN 'ten' END" }],
      '/definition/steps/0/expression',
      /expected 'when': write each test out in full/,
    ],
    [
      'a SQL function of another dialect',
      [{ type: 'filter', expression: 'ifnull(amount, 0) > 1' }],
      '/definition/steps/0/expression',
      /^ifnull\(\) is not supported at 0; write coalesce\(x, fallback\)$/,
    ],
  ])('refuses %s with a 400 and a pointer, saving nothing', async (_label, steps, pointer, message) => {
    const before = await pipelineCount();
    const res = await post('/pipelines', {
      name: `bad ${pointer} ${Math.random()}`,
      definition: { input: { datasetId: sales.id }, steps },
    });
    expect(res.status).toBe(400);
    const problem = await problemOf(res);
    expect(problem.code).toBe('validation_failed');
    expect(problem.errors[0]!.pointer).toBe(pointer);
    expect(problem.errors[0]!.message).toMatch(message);
    expect(await pipelineCount()).toBe(before);
  });

  it('refuses a missing input dataset with a 404 pointing at it', async () => {
    const res = await post('/pipelines', {
      name: 'nowhere',
      definition: { input: { datasetId: 'ds_01J00000000000000000000000' }, steps: [] },
    });
    expect(res.status).toBe(404);
    expect((await problemOf(res)).errors).toEqual([
      { pointer: '/definition/input/datasetId', message: "Dataset 'ds_01J00000000000000000000000' does not exist" },
    ]);
    const version = await post('/pipelines', {
      name: 'no such version',
      definition: { input: { datasetId: sales.id, versionId: 'dv_01J00000000000000000000000' }, steps: [] },
    });
    expect(version.status).toBe(404);
    expect((await problemOf(version)).errors[0]!.pointer).toBe('/definition/input/versionId');
    const output = await post('/pipelines', {
      name: 'no such output',
      definition: { ...bigSpenders(), output: { datasetId: 'ds_01J00000000000000000000001' } },
    });
    expect(output.status).toBe(404);
    expect((await problemOf(output)).errors).toEqual([
      { pointer: '/definition/output/datasetId', message: "Dataset 'ds_01J00000000000000000000001' does not exist" },
    ]);
  });

  it('lists the step types with the schemas that validate them', async () => {
    const res = await t.fetch(`${t.api}/pipelines/steps`);
    expect(res.status).toBe(200);
    const { items } = (await res.json()) as {
      items: { type: string; summary: string; schema: { properties: Record<string, unknown>; required?: string[] } }[];
    };
    expect(items.map((k) => k.type)).toEqual([
      'select',
      'rename',
      'cast',
      'filter',
      'derive',
      'drop_nulls',
      'fill_nulls',
      'dedupe',
      'sort',
      'sample',
      'outliers',
      'resample',
      'aggregate',
      'join',
      'window',
    ]);
    const filter = items.find((k) => k.type === 'filter')!;
    expect(filter.summary).not.toBe('');
    expect(filter.schema.properties).toHaveProperty('expression');
    expect(filter.schema.required).toContain('expression');
  });

  it('refuses an envelope that is not a definition (request validation)', async () => {
    const res = await post('/pipelines', {
      name: 'x',
      definition: { input: { datasetId: sales.id }, steps: [], extra: 1 },
    });
    expect(res.status).toBe(400);
    expect((await problemOf(res)).errors.map((e) => e.pointer)).toEqual(['/body/definition/extra']);
  });

  it('saves a template: checked with its defaults, or for structure only when a parameter has none', async () => {
    const withDefaults = {
      input: { datasetId: sales.id },
      parameters: [
        { name: 'min', type: 'number', default: 10 },
        { name: 'col', type: 'column', default: 'nope' },
      ],
      steps: [
        { type: 'filter', expression: 'amount >= $min' },
        { type: 'select', columns: [{ $param: 'col' }] },
      ],
    };
    const bad = await post('/pipelines', { name: 'tmpl bad default', definition: withDefaults });
    expect(bad.status).toBe(400);
    expect((await problemOf(bad)).errors[0]!.pointer).toBe('/definition/steps/1/columns/0');

    const required = {
      ...withDefaults,
      parameters: [
        { name: 'min', type: 'number' },
        { name: 'col', type: 'column' },
      ],
    };
    const ok = await post('/pipelines', { name: 'tmpl required', definition: required });
    expect(ok.status, await ok.clone().text()).toBe(201);
    const listed = (await (await t.fetch(`${t.api}/pipelines?search=tmpl`)).json()) as {
      items: { name: string; template: boolean }[];
    };
    expect(listed.items).toEqual([expect.objectContaining({ name: 'tmpl required', template: true })]);

    const dangling = { ...required, steps: [{ type: 'select', columns: [{ $param: 'colum' }] }] };
    const res = await post('/pipelines', { name: 'tmpl dangling', definition: dangling });
    expect(res.status).toBe(400);
    expect((await problemOf(res)).errors).toEqual([
      {
        pointer: '/definition/steps/0/columns/0/$param',
        message: "no parameter named 'colum' is declared in parameters",
      },
    ]);
  });
});

describe('preview', () => {
  it('answers the first rows of the input and after each step, exactly', async () => {
    const res = await post('/pipelines/preview', { definition: bigSpenders() });
    expect(res.status, await res.clone().text()).toBe(200);
    const body = await res.json();
    expect(body).toEqual({
      input: {
        datasetId: sales.id,
        versionId: sales.versionId,
        columns: [
          { name: 'city', type: 'VARCHAR' },
          { name: 'amount', type: 'BIGINT' },
          { name: 'day', type: 'DATE' },
          { name: 'note', type: 'VARCHAR' },
        ],
        rows: [
          ['Berlin', 10, '2024-01-01', 'a'],
          ['Paris', 25, '2024-01-02', null],
          ['Berlin', 5, '2024-01-03', 'c'],
          ['Rome', null, '2024-01-04', 'd'],
        ],
      },
      steps: [
        {
          index: 0,
          type: 'filter',
          columns: [
            { name: 'city', type: 'VARCHAR' },
            { name: 'amount', type: 'BIGINT' },
            { name: 'day', type: 'DATE' },
            { name: 'note', type: 'VARCHAR' },
          ],
          rows: expect.arrayContaining([
            ['Berlin', 10, '2024-01-01', 'a'],
            ['Paris', 25, '2024-01-02', null],
          ]),
        },
        {
          index: 1,
          type: 'sort',
          columns: expect.any(Array),
          rows: [
            ['Paris', 25, '2024-01-02', null],
            ['Berlin', 10, '2024-01-01', 'a'],
          ],
        },
        {
          index: 2,
          type: 'select',
          columns: [
            { name: 'city', type: 'VARCHAR' },
            { name: 'amount', type: 'BIGINT' },
          ],
          rows: [
            ['Paris', 25],
            ['Berlin', 10],
          ],
        },
      ],
    });
    expect((body as { steps: { rows: unknown[] }[] }).steps[0]!.rows).toHaveLength(2);
  });

  it('limits the rows per step and renders timestamps as ISO 8601 UTC', async () => {
    const events = await dataset(
      'at,v\n2024-03-01T10:00:00Z,1\n2024-03-01T11:30:00+02:00,2\n2024-03-02T00:00:00Z,3\n',
      'events.csv',
    );
    const res = await post('/pipelines/preview', {
      definition: { input: { datasetId: events.id }, steps: [{ type: 'derive', column: 'w', expression: 'v * 2' }] },
      limit: 2,
    });
    expect(res.status, await res.clone().text()).toBe(200);
    const body = (await res.json()) as { steps: { rows: unknown[][]; columns: { name: string; type: string }[] }[] };
    expect(body.steps[0]!.rows).toEqual([
      ['2024-03-01T10:00:00.000Z', 1, 2],
      ['2024-03-01T09:30:00.000Z', 2, 4],
    ]);
    expect(body.steps[0]!.columns[0]).toEqual({ name: 'at', type: 'TIMESTAMP WITH TIME ZONE' });
  });

  it('applies template parameters and refuses bad ones at /params/<name>', async () => {
    const definition = {
      input: { datasetId: sales.id },
      parameters: [
        { name: 'min', type: 'integer' },
        { name: 'city', type: 'text', default: 'Berlin' },
        { name: 'col', type: 'column', default: 'amount' },
      ],
      steps: [
        { type: 'filter', expression: 'amount >= $min and city = $city' },
        { type: 'select', columns: [{ $param: 'col' }] },
      ],
    };
    const ok = await post('/pipelines/preview', { definition, params: { min: 6 } });
    expect(ok.status, await ok.clone().text()).toBe(200);
    expect(((await ok.json()) as { steps: { rows: unknown[][] }[] }).steps[1]!.rows).toEqual([[10]]);

    const paris = await post('/pipelines/preview', { definition, params: { min: 0, city: 'Paris', col: 'day' } });
    expect(((await paris.json()) as { steps: { rows: unknown[][] }[] }).steps[1]!.rows).toEqual([['2024-01-02']]);

    for (const [params, pointer] of [
      [{}, '/params/min'],
      [{ min: 'six' }, '/params/min'],
      [{ min: 1, town: 'x' }, '/params/town'],
      [{ min: 1, col: 'nope' }, '/definition/steps/1/columns/0'],
    ] as const) {
      const res = await post('/pipelines/preview', { definition, params });
      expect(res.status, JSON.stringify(params)).toBe(400);
      expect((await problemOf(res)).errors[0]!.pointer).toBe(pointer);
    }
  });

  it('caps the limit at 500 and writes nothing', async () => {
    const res = await post('/pipelines/preview', { definition: bigSpenders(), limit: 501 });
    expect(res.status).toBe(400);
    expect((await problemOf(res)).errors[0]!.pointer).toBe('/body/limit');
    const versions = (await (await t.fetch(`${t.api}/datasets/${sales.id}/versions`)).json()) as { items: unknown[] };
    expect(versions.items).toHaveLength(1);
  });
});

describe('column names with control characters', () => {
  const CONTROL = 'must not contain control characters (such as NUL, tab or a line break)';
  const steps: [string, unknown, string][] = [
    ['rename to a name with a NUL', { type: 'rename', columns: { city: 'ci\u0000ty' } }, '/steps/0/columns/city'],
    [
      'derive a column named with a NUL',
      { type: 'derive', column: 'x\u0000', expression: 'amount + 1' },
      '/steps/0/column',
    ],
    [
      'aggregate into a name with a line break',
      { type: 'aggregate', groupBy: ['city'], aggregations: [{ function: 'sum', column: 'amount', as: 'total\n' }] },
      '/steps/0/aggregations/0/as',
    ],
    [
      'a window output named with an escape',
      { type: 'window', orderBy: 'day', functions: [{ function: 'lag', column: 'amount', as: 'prev\u001b[31m' }] },
      '/steps/0/functions/0/as',
    ],
    ['select a column named with a DEL', { type: 'select', columns: ['city\u007f'] }, '/steps/0/columns/0'],
    ['sort by a column named with a tab', { type: 'sort', by: [{ column: 'ci\tty' }] }, '/steps/0/by/0/column'],
    [
      'a join suffix with a control character',
      {
        type: 'join',
        dataset: { datasetId: 'ds_00000000000000000000000000' },
        on: ['city'],
        how: 'left',
        suffix: '_\u0001',
      },
      '/steps/0/suffix',
    ],
  ];
  for (const [label, step, pointer] of steps) {
    it(`${label}: 400 at the field, for previews and saved pipelines alike`, async () => {
      const definition = { input: { datasetId: sales.id }, steps: [step] };
      for (const res of [
        await post('/pipelines/preview', { definition }),
        await post('/pipelines', { name: `ctl ${label}`, definition }),
      ]) {
        expect(res.status, await res.clone().text()).toBe(400);
        const problem = await problemOf(res);
        expect(problem.code).toBe('validation_failed');
        expect(problem.errors.find((e) => e.pointer.endsWith(pointer))?.message).toBe(CONTROL);
      }
    });
  }

  it('analytics parameters naming a column are refused the same way', async () => {
    for (const path of [
      `histogram?column=${encodeURIComponent('amount\u0000')}`,
      `value-counts?column=${encodeURIComponent('ci\nty')}`,
      `timeseries?time=day&value=${encodeURIComponent('amount\u0000')}`,
    ]) {
      const res = await t.fetch(`${t.api}/datasets/${sales.id}/${path}`);
      expect(res.status, path).toBe(400);
      const problem = await problemOf(res);
      expect(problem.code).toBe('validation_failed');
      expect(problem.errors[0]!.message, path).toBe(CONTROL);
    }
    const query = await post(`/datasets/${sales.id}/query`, { aggregations: [{ function: 'count', as: 'n\u007f' }] });
    expect(query.status).toBe(400);
    expect((await problemOf(query)).errors[0]).toMatchObject({ pointer: '/body/aggregations/0/as', message: CONTROL });
  });
});

describe('workspaces and permissions', () => {
  it("treats another workspace's dataset as missing, at the input and at a join", async () => {
    const owner = await actor(t, 'owner', await workspace(t, 'Elsewhere'));
    const theirs = await dataset('city,amount\nOslo,1\n', 'theirs.csv', owner.headers);
    const input = await post('/pipelines/preview', { definition: { input: { datasetId: theirs.id }, steps: [] } });
    expect(input.status).toBe(404);
    expect((await problemOf(input)).errors).toEqual([
      { pointer: '/definition/input/datasetId', message: `Dataset '${theirs.id}' does not exist` },
    ]);

    const join = await post('/pipelines/preview', {
      definition: {
        input: { datasetId: sales.id },
        steps: [{ type: 'join', dataset: { datasetId: theirs.id }, on: ['city'], how: 'inner' }],
      },
    });
    expect(join.status, await join.clone().text()).toBe(404);
    expect((await problemOf(join)).errors).toEqual([
      { pointer: '/definition/steps/0/dataset/datasetId', message: `Dataset '${theirs.id}' does not exist` },
    ]);

    // Their own workspace sees it.
    const own = await post(
      '/pipelines/preview',
      { definition: { input: { datasetId: theirs.id }, steps: [] } },
      owner.headers,
    );
    expect(own.status).toBe(200);
  });

  it('lets a viewer read but neither save nor preview; an analyst may do both', async () => {
    const viewer = await actor(t, 'viewer');
    const analyst = await actor(t, 'analyst');
    expect((await t.fetch(`${t.api}/pipelines`, { headers: viewer.headers })).status).toBe(200);
    const save = await post('/pipelines', { name: 'viewer', definition: bigSpenders() }, viewer.headers);
    expect(save.status).toBe(403);
    expect(((await problemOf(save)) as { permission?: string }).permission).toBe('pipelines:write');
    const preview = await post('/pipelines/preview', { definition: bigSpenders() }, viewer.headers);
    expect(preview.status).toBe(403);
    expect(((await problemOf(preview)) as { permission?: string }).permission).toBe('pipelines:run');
    expect((await post('/pipelines', { name: 'analyst', definition: bigSpenders() }, analyst.headers)).status).toBe(
      201,
    );
    expect((await post('/pipelines/preview', { definition: bigSpenders() }, analyst.headers)).status).toBe(200);
  });
});
