import { DuckDBInstance } from '@duckdb/node-api';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.js';
import { blobKeys } from './helpers/disk.js';
import { problemOf, upload } from './helpers/upload.js';

interface Dataset {
  id: string;
  name: string;
  description: string;
  tags: string[];
  format: string;
  createdAt: string;
  updatedAt: string;
  latestVersion: { id: string; rowCount: number; number: number } | null;
}

let t: TestApp;
const created: Record<string, Dataset> = {};

/** Known data for exact profile and export checks. */
const SENSORS = [
  'ts,temp,count,label,flag',
  '2024-01-01T00:00:00Z,1.0,10,=SUM(A1),true',
  '2024-01-01T01:00:00Z,2.0,20,+cmd,false',
  '2024-01-01T02:00:00Z,,30,-x,true',
  '2024-01-01T03:00:00Z,4.0,-5,@at,true',
  '2024-01-01T04:00:00Z,5.0,50,plain,',
  '2024-01-01T05:00:00Z,6.0,60,plain,false',
].join('\n');

async function make(name: string, content: string, filename: string, tags?: string): Promise<Dataset> {
  const res = await upload(t, content, { filename, name, tags });
  expect(res.status, await res.clone().text()).toBe(201);
  return (await res.json()) as Dataset;
}

async function json<T>(res: Response): Promise<T> {
  expect(res.status, await res.clone().text()).toBe(200);
  return (await res.json()) as T;
}

beforeAll(async () => {
  t = await startTestApp();
  created.sensors = await make('Sensors', SENSORS, 'sensors.csv', 'iot,weather');
  // Distinct creation times for the range filter and sort tests.
  await new Promise((r) => setTimeout(r, 15));
  created.alpha = await make('alpha readings', 'a,b\n1,2\n', 'alpha.csv', 'iot');
  await new Promise((r) => setTimeout(r, 15));
  created.beta = await make('Beta', '{"x":1}\n{"x":2}\n', 'beta.ndjson');
});
afterAll(async () => {
  await t?.close();
});

describe('GET /datasets', () => {
  type List = { items: Dataset[]; total: number; limit: number; offset: number };
  const list = (q = '') => t.fetch(`${t.api}/datasets${q}`).then((r) => json<List>(r));

  it('lists newest first by default with the latest version', async () => {
    const l = await list();
    expect(l.total).toBe(3);
    expect(l.items.map((d) => d.name)).toEqual(['Beta', 'alpha readings', 'Sensors']);
    expect(l.items[2]!.latestVersion!.rowCount).toBe(6);
    expect(l.limit).toBe(50);
  });

  it('paginates with limit and offset, total unchanged', async () => {
    const p1 = await list('?limit=2&offset=0');
    const p2 = await list('?limit=2&offset=2');
    expect(p1.items).toHaveLength(2);
    expect(p2.items).toHaveLength(1);
    expect(p1.total).toBe(3);
    expect(p2.total).toBe(3);
    expect(new Set([...p1.items, ...p2.items].map((d) => d.id)).size).toBe(3);
  });

  it('filters by search (case-insensitive substring), tag, format and creation range', async () => {
    expect((await list('?search=READ')).items.map((d) => d.name)).toEqual(['alpha readings']);
    expect((await list('?search=%25')).total).toBe(0); // a literal %, not a wildcard
    expect((await list('?tag=iot')).items.map((d) => d.name).sort()).toEqual(['Sensors', 'alpha readings']);
    expect((await list('?tag=weather')).items.map((d) => d.name)).toEqual(['Sensors']);
    expect((await list('?format=ndjson')).items.map((d) => d.name)).toEqual(['Beta']);
    const after = encodeURIComponent(created.alpha!.createdAt);
    expect((await list(`?createdAfter=${after}`)).items.map((d) => d.name)).toEqual(['Beta', 'alpha readings']);
    expect((await list(`?createdBefore=${after}`)).items.map((d) => d.name)).toEqual(['Sensors']);
  });

  it('filters by exact name, case-sensitive: how clients resolve a name to an id', async () => {
    expect((await list('?name=Beta')).items.map((d) => d.id)).toEqual([created.beta!.id]);
    expect((await list('?name=beta')).total).toBe(0);
    expect((await list('?name=alpha')).total).toBe(0);
    expect((await list('?name=alpha%20readings&search=READ')).items.map((d) => d.id)).toEqual([created.alpha!.id]);
    expect((await problemOf(await t.fetch(`${t.api}/datasets?name=`))).errors[0]!.pointer).toBe('/query/name');
  });

  it('answers with a trailing slash too, as clients written before the document dropped it call it', async () => {
    expect(await t.fetch(`${t.api}/datasets/?sort=name`).then((r) => json<List>(r))).toEqual(await list('?sort=name'));
    expect(t.app.routeCatalog.filter((r) => r.url.endsWith('/')).map((r) => `${r.method} ${r.url}`)).toEqual([]);
  });

  it('sorts by name both ways', async () => {
    expect((await list('?sort=name')).items.map((d) => d.name)).toEqual(['Beta', 'Sensors', 'alpha readings']);
    expect((await list('?sort=-name')).items.map((d) => d.name)).toEqual(['alpha readings', 'Sensors', 'Beta']);
  });

  it.each([
    ['?limit=0', '/query/limit'],
    ['?limit=501', '/query/limit'],
    ['?offset=-1', '/query/offset'],
    ['?sort=size', '/query/sort'],
    ['?format=xls', '/query/format'],
    ['?createdAfter=yesterday', '/query/createdAfter'],
    ['?colour=red', '/query/colour'],
  ])('rejects %s naming %s', async (q, pointer) => {
    const res = await t.fetch(`${t.api}/datasets${q}`);
    expect(res.status).toBe(400);
    const p = await problemOf(res);
    expect(p.code).toBe('validation_failed');
    expect(p.errors.map((e) => e.pointer)).toContain(pointer);
  });
});

describe('GET /datasets/:id', () => {
  it('returns the dataset', async () => {
    const d = await json<Dataset>(await t.fetch(`${t.api}/datasets/${created.sensors!.id}`));
    expect(d).toMatchObject({ id: created.sensors!.id, name: 'Sensors', tags: ['iot', 'weather'], format: 'csv' });
  });

  it('an unknown id is a 404 problem; a malformed one a 400', async () => {
    const res = await t.fetch(`${t.api}/datasets/ds_00000000000000000000000000`);
    expect(res.status).toBe(404);
    expect((await problemOf(res)).code).toBe('not_found');
    const bad = await t.fetch(`${t.api}/datasets/not-an-id`);
    expect(bad.status).toBe(400);
    expect((await problemOf(bad)).errors[0]).toEqual({
      pointer: '/params/id',
      message: 'must be an id of the form ds_ followed by 26 characters',
    });
  });
});

describe('GET /datasets/:id/preview', () => {
  type Preview = { columns: { name: string; type: string }[]; rows: unknown[][]; total: number };
  const preview = (q: string) => t.fetch(`${t.api}/datasets/${created.sensors!.id}/preview${q}`);

  it('returns typed columns, JSON values and the total', async () => {
    const p = await json<Preview>(await preview('?limit=2'));
    expect(p.total).toBe(6);
    expect(p.columns).toEqual([
      { name: 'ts', type: 'TIMESTAMP WITH TIME ZONE' },
      { name: 'temp', type: 'DOUBLE' },
      { name: 'count', type: 'BIGINT' },
      { name: 'label', type: 'VARCHAR' },
      { name: 'flag', type: 'BOOLEAN' },
    ]);
    expect(p.rows).toEqual([
      ['2024-01-01T00:00:00.000Z', 1, 10, '=SUM(A1)', true],
      ['2024-01-01T01:00:00.000Z', 2, 20, '+cmd', false],
    ]);
  });

  it('offset and a column subset, in the requested order', async () => {
    const p = await json<Preview>(await preview('?offset=2&limit=2&columns=label,temp'));
    expect(p.columns.map((c) => c.name)).toEqual(['label', 'temp']);
    expect(p.rows).toEqual([
      ['-x', null],
      ['@at', 4],
    ]);
  });

  it('offset past the end gives no rows', async () => {
    expect((await json<Preview>(await preview('?offset=100'))).rows).toEqual([]);
  });

  it('unknown columns, a limit above the configured maximum and unknown versions are errors', async () => {
    const unknown = await preview('?columns=temp,nope');
    expect(unknown.status).toBe(400);
    expect((await problemOf(unknown)).detail).toContain('nope');
    const big = await preview('?limit=100001');
    expect(big.status).toBe(400);
    const over = await preview('?limit=5000');
    expect(over.status).toBe(400);
    expect((await problemOf(over)).errors[0]!.pointer).toBe('/query/limit');
    const version = await preview('?version=dv_00000000000000000000000000');
    expect(version.status).toBe(404);
  });
});

describe('GET /datasets/:id/profile', () => {
  type Col = {
    name: string;
    type: string;
    count: number;
    nulls: number;
    distinctEstimate: number;
    min: unknown;
    max: unknown;
    mean: number | null;
    stddev: number | null;
    quantiles: Record<string, number> | null;
    topValues: { value: string; count: number }[] | null;
    histogram: { start: number; end: number; count: number }[] | null;
    range: { min: string; max: string } | null;
  };
  let cols: Record<string, Col>;
  beforeAll(async () => {
    const p = await json<{ rowCount: number; columns: Col[] }>(
      await t.fetch(`${t.api}/datasets/${created.sensors!.id}/profile`),
    );
    expect(p.rowCount).toBe(6);
    cols = Object.fromEntries(p.columns.map((c) => [c.name, c]));
  });

  it('numbers: count, nulls, min, max, mean, stddev, quantiles, histogram', () => {
    const temp = cols.temp!;
    expect(temp).toMatchObject({ count: 5, nulls: 1, min: 1, max: 6, distinctEstimate: 5 });
    expect(temp.mean).toBeCloseTo(3.6, 10);
    expect(temp.stddev).toBeCloseTo(
      Math.sqrt(((1 - 3.6) ** 2 + (2 - 3.6) ** 2 + (4 - 3.6) ** 2 + (5 - 3.6) ** 2 + (6 - 3.6) ** 2) / 4),
      10,
    );
    expect(temp.quantiles!.p50).toBeGreaterThanOrEqual(2);
    expect(temp.quantiles!.p50).toBeLessThanOrEqual(5);
    expect(temp.histogram!.reduce((s, b) => s + b.count, 0)).toBe(5);
    expect(temp.histogram![0]!.start).toBe(1);
    expect(temp.histogram!.at(-1)!.end).toBe(6);
    expect(temp.histogram!.at(-1)!.count).toBe(1);
    expect(temp.topValues).toBeNull();
    expect(cols.count).toMatchObject({ min: -5, max: 60, nulls: 0 });
  });

  it('text: top values with counts; booleans too', () => {
    expect(cols.label!.topValues![0]).toEqual({ value: 'plain', count: 2 });
    expect(cols.label!.histogram).toBeNull();
    expect(cols.flag!.topValues).toEqual([
      { value: 'true', count: 3 },
      { value: 'false', count: 2 },
    ]);
    expect(cols.flag!.nulls).toBe(1);
  });

  it('timestamps: range in ISO 8601 UTC', () => {
    expect(cols.ts!.range).toEqual({ min: '2024-01-01T00:00:00.000Z', max: '2024-01-01T05:00:00.000Z' });
    expect(cols.ts!.mean).toBeNull();
  });
});

describe('GET /datasets/:id/download', () => {
  const download = (format: string) => t.fetch(`${t.api}/datasets/${created.sensors!.id}/download?format=${format}`);

  it('CSV: header, ISO timestamps, formula-like text neutralized, numbers untouched', async () => {
    const res = await download('csv');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(res.headers.get('content-disposition')).toMatch(/^attachment; filename="Sensors-v1\.csv"/);
    const lines = (await res.text()).trim().split('\n');
    expect(lines[0]).toBe('ts,temp,count,label,flag');
    expect(lines[1]).toBe("2024-01-01T00:00:00.000Z,1.0,10,'=SUM(A1),true");
    expect(lines[2]).toBe("2024-01-01T01:00:00.000Z,2.0,20,'+cmd,false");
    expect(lines[3]).toBe("2024-01-01T02:00:00.000Z,,30,'-x,true");
    expect(lines[4]).toBe("2024-01-01T03:00:00.000Z,4.0,-5,'@at,true");
    expect(lines).toHaveLength(7);
  });

  it('CSV neutralizes tab and carriage-return prefixes too', async () => {
    const d = await make('ctl', 'k,v\n1,"\tTAB"\n2,"\rCR"\n3,ok\n', 'ctl.csv');
    const text = await (await t.fetch(`${t.api}/datasets/${d.id}/download?format=csv`)).text();
    expect(text).toContain(`1,'\tTAB`);
    expect(text).toContain(`2,"'\rCR"`);
    expect(text).toContain('3,ok');
  });

  it('CSV neutralizes header cells like data cells; JSON keeps the names as they are', async () => {
    const d = await make('formula names', "=cmd|' /C calc'!A0,+sum,-neg,@at,plain\n1,2,3,4,5\n", 'formula-names.csv');
    const text = await (await t.fetch(`${t.api}/datasets/${d.id}/download?format=csv`)).text();
    expect(text.split('\n')[0]).toBe("'=cmd|' /C calc'!A0,'+sum,'-neg,'@at,plain");
    expect(text.split('\n')[1]).toBe('1,2,3,4,5');
    const json = (await (await t.fetch(`${t.api}/datasets/${d.id}/download?format=json`)).json()) as Record<
      string,
      unknown
    >[];
    expect(Object.keys(json[0]!)).toEqual(["=cmd|' /C calc'!A0", '+sum', '-neg', '@at', 'plain']);
  });

  it('NDJSON and JSON: one object per row, values typed, text unchanged', async () => {
    const nd = (await (await download('ndjson')).text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(nd).toHaveLength(6);
    expect(nd[0]).toEqual({ ts: '2024-01-01T00:00:00.000Z', temp: 1, count: 10, label: '=SUM(A1)', flag: true });
    const res = await download('json');
    expect(res.headers.get('content-type')).toContain('application/json');
    const arr = (await res.json()) as Record<string, unknown>[];
    expect(arr).toEqual(nd);
  });

  it('Parquet: the stored file, readable by DuckDB with the same rows', async () => {
    const res = await download('parquet');
    const buf = Buffer.from(await res.arrayBuffer());
    expect(buf.subarray(0, 4).toString()).toBe('PAR1');
    expect(buf.subarray(-4).toString()).toBe('PAR1');
    const dir = await mkdtemp(path.join(tmpdir(), 'weir-dl-'));
    try {
      const file = path.join(dir, 'x.parquet');
      await writeFile(file, buf);
      const db = await DuckDBInstance.create(':memory:');
      const c = await db.connect();
      const r = await c.runAndReadAll(
        `SELECT count(*)::INTEGER AS n, sum(count)::INTEGER AS s FROM read_parquet('${file}')`,
      );
      expect(r.getRowObjectsJS()[0]).toEqual({ n: 6, s: 165 });
      c.closeSync();
      db.closeSync();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('XLSX: a workbook with typed cells and neutralized formula text', async () => {
    const res = await download('xlsx');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/vnd.openxmlformats-officedocument.spreadsheetml.sheet');
    const ExcelJS = (await import('exceljs')).default;
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(await res.arrayBuffer());
    const ws = wb.worksheets[0]!;
    expect(ws.getRow(1).values).toEqual([undefined, 'ts', 'temp', 'count', 'label', 'flag']);
    expect(ws.getCell('D2').value).toBe("'=SUM(A1)");
    expect(ws.getCell('D4').value).toBe("'-x");
    expect(ws.getCell('C5').value).toBe(-5);
    expect(ws.getCell('B2').value).toBe(1);
    expect(ws.rowCount).toBe(7);
  });

  it('an unknown format is a 400 naming the parameter', async () => {
    const res = await download('xls');
    expect(res.status).toBe(400);
    expect((await problemOf(res)).errors[0]!.pointer).toBe('/query/format');
  });
});

describe('PATCH /datasets/:id', () => {
  it('renames, describes and retags', async () => {
    const d = await make('to-patch', 'p\n1\n', 'p.csv', 'old');
    const res = await t.fetch(`${t.api}/datasets/${d.id}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'patched', description: 'now described', tags: ['z', 'a', 'a'] }),
    });
    const p = await json<Dataset>(res);
    expect(p).toMatchObject({ name: 'patched', description: 'now described', tags: ['a', 'z'] });
    expect(p.updatedAt >= d.updatedAt).toBe(true);
    const again = await json<Dataset>(await t.fetch(`${t.api}/datasets/${d.id}`));
    expect(again.tags).toEqual(['a', 'z']);
  });

  it.each([
    ['{}', '/body'],
    ['{"name":""}', '/body/name'],
    ['{"name":"bad\\u001b[31mname"}', '/body/name'],
    ['{"owner":"me"}', '/body/owner'],
    ['{"tags":"x"}', '/body/tags'],
  ])('rejects %s', async (body, pointer) => {
    const res = await t.fetch(`${t.api}/datasets/${created.beta!.id}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body,
    });
    expect(res.status).toBe(400);
    expect((await problemOf(res)).errors.map((e) => e.pointer)).toContain(pointer);
  });

  it('broken JSON is a 400 problem; unknown dataset 404', async () => {
    const broken = await t.fetch(`${t.api}/datasets/${created.beta!.id}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: '{"name":',
    });
    expect(broken.status).toBe(400);
    await problemOf(broken);
    const missing = await t.fetch(`${t.api}/datasets/ds_00000000000000000000000000`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: '{"name":"x"}',
    });
    expect(missing.status).toBe(404);
  });
});

describe('DELETE /datasets/:id', () => {
  it('removes metadata and files; a second delete is 404', async () => {
    const d = await make('doomed', 'q\n1\n2\n', 'doomed.csv');
    const prefix = `datasets/ws_default/${d.id}/`;
    expect(await blobKeys(t.context.blobs, prefix)).toHaveLength(1);
    const res = await t.fetch(`${t.api}/datasets/${d.id}`, { method: 'DELETE' });
    expect(res.status).toBe(204);
    expect(await blobKeys(t.context.blobs, prefix)).toEqual([]);
    expect((await t.fetch(`${t.api}/datasets/${d.id}`)).status).toBe(404);
    expect((await t.fetch(`${t.api}/datasets/${d.id}/preview`)).status).toBe(404);
    const again = await t.fetch(`${t.api}/datasets/${d.id}`, { method: 'DELETE' });
    expect(again.status).toBe(404);
    // The same bytes can be uploaded again as a new dataset once deleted.
    const back = await upload(t, 'q\n1\n2\n', { filename: 'doomed.csv' });
    expect(back.status).toBe(201);
  });
});

describe('a body of a type the route does not take', () => {
  it('POST /datasets with a raw CSV body: 415 naming multipart/form-data and its "file" part', async () => {
    const res = await t.fetch(`${t.api}/datasets`, {
      method: 'POST',
      headers: { 'content-type': 'text/csv; charset=utf-8' },
      body: 'a,b\n1,2\n',
    });
    expect(res.status).toBe(415);
    expect(await problemOf(res)).toMatchObject({
      code: 'unsupported_media_type',
      accepts: ['multipart/form-data'],
      detail:
        'POST /api/v1/datasets takes a multipart/form-data body, not text/csv: send it as multipart/form-data with a "file" part',
      errors: [{ pointer: '/headers/content-type', message: 'must be multipart/form-data' }],
    });
    // JSON has a parser, so the handler finds the body is not a form: it answers alike.
    const asJson = await t.fetch(`${t.api}/datasets/${created.alpha!.id}/versions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"file":"a,b"}',
    });
    expect(asJson.status).toBe(415);
    expect((await problemOf(asJson)).detail).toBe(
      'POST /api/v1/datasets/:id/versions takes a multipart/form-data body, not application/json: send it as multipart/form-data with a "file" part',
    );
    // The type as sent is named only when it looks like one: the header is the client's text.
    const odd = await t.fetch(`${t.api}/datasets`, {
      method: 'POST',
      headers: { 'content-type': '<script>alert(1)</script>' },
      body: 'x',
    });
    expect(odd.status).toBe(415);
    expect((await problemOf(odd)).detail).toContain('not an unrecognised Content-Type');
  });

  it('every route names the types it takes, and each named type is one it really takes', async () => {
    const mutating = t.app.routeCatalog.filter((r) => ['POST', 'PUT', 'PATCH', 'DELETE'].includes(r.method));
    expect(mutating.length).toBeGreaterThan(20);
    const readable: Record<string, { type: string; body: string }> = {
      'application/json': { type: 'application/json', body: '[]' },
      'multipart/form-data': { type: 'multipart/form-data; boundary=x', body: '--x--\r\n' },
      'application/offset+octet-stream': { type: 'application/offset+octet-stream', body: 'abc' },
    };
    for (const route of mutating) {
      const url = `${t.url}${route.url.replace(':workspaceId', 'ws_default').replace(/:\w+/g, 'x')}`;
      const res = await t.fetch(url, {
        method: route.method,
        headers: { 'content-type': 'text/csv' },
        body: 'a,b\n1,2\n',
      });
      const label = `${route.method} ${route.url}`;
      expect(res.status, label).toBe(415);
      const problem = (await problemOf(res)) as Awaited<ReturnType<typeof problemOf>> & { accepts: string[] };
      expect(problem.code, label).toBe('unsupported_media_type');
      expect(problem.detail.startsWith(`${label} takes `), problem.detail).toBe(true);
      if (problem.accepts.length === 0) {
        expect(problem.detail, label).toBe(`${label} takes no request body; send the request without one`);
        continue;
      }
      for (const type of problem.accepts) {
        const sample = readable[type];
        expect(sample, `${label} names ${type}`).toBeDefined();
        const again = await t.fetch(url, {
          method: route.method,
          headers: { 'content-type': sample!.type },
          body: sample!.body,
        });
        expect(again.status, `${label} as ${type}: ${await again.clone().text()}`).not.toBe(415);
        await again.body?.cancel();
      }
    }
  });
});
