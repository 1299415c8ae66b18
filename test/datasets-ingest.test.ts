import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topics } from '../src/bus/types.js';
import { JOB_PROGRESS, type JobProgressEvent } from '../src/jobs/events.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import { ELF, PNG, duckdbFile, makeXlsx, makeZip } from './helpers/files.js';
import { storedFiles } from './helpers/disk.js';
import { eventually } from './helpers/jobs.js';
import { problemOf, upload } from './helpers/upload.js';

interface Ingested {
  id: string;
  name: string;
  tags: string[];
  format: string;
  versionCount: number;
  duplicateOf: { datasetId: string; versionId: string } | null;
  version: {
    id: string;
    number: number;
    rowCount: number;
    sourceEncoding: string | null;
    sourceFormat: string;
    sha256: string;
    schema: { name: string; type: string }[];
  };
}

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t?.close();
});

async function accepted(
  content: Buffer | string,
  filename: string,
  extra: Parameters<typeof upload>[2] = {},
): Promise<Ingested> {
  const res = await upload(t, content, { filename, ...extra });
  const body = await res.text();
  expect(res.status, body).toBe(201);
  return JSON.parse(body) as Ingested;
}

async function preview(
  id: string,
  query = '',
): Promise<{ columns: { name: string; type: string }[]; rows: unknown[][]; total: number }> {
  const res = await t.fetch(`${t.api}/datasets/${id}/preview${query}`);
  expect(res.status).toBe(200);
  return (await res.json()) as { columns: { name: string; type: string }[]; rows: unknown[][]; total: number };
}

const unique = () => `${Date.now()}${Math.random()}`.replace('.', '');

describe('accepted formats', () => {
  it('CSV with quoted delimiters, doubled quotes and newlines inside quotes', async () => {
    const csv = `id,comment,amount\n1,"hello, world",2.5\n2,"line one\nline two",3\n3,"say ""hi""",${unique()}\n`;
    const d = await accepted(csv, 'quotes.csv', { name: 'Quotes', description: 'd', tags: 'b, a' });
    expect(d.name).toBe('Quotes');
    expect(d.tags).toEqual(['a', 'b']);
    expect(d.format).toBe('csv');
    expect(d.version.rowCount).toBe(3);
    expect(d.version.schema.map((c) => c.name)).toEqual(['id', 'comment', 'amount']);
    expect(d.version.sha256).toMatch(/^[0-9a-f]{64}$/);
    const p = await preview(d.id);
    expect(p.rows[0]).toEqual([1, 'hello, world', 2.5]);
    expect(p.rows[1]![1]).toBe('line one\nline two');
    expect(p.rows[2]![1]).toBe('say "hi"');
  });

  it.each([
    ['tab', '\t', 'data.tsv'],
    ['semicolon', ';', 'data.csv'],
    ['pipe', '|', 'data.txt'],
  ])('sniffs a %s delimiter', async (_label, delim, filename) => {
    const rows = ['name,x,y', 'a,1,2', 'b,3,4', `c,5,${unique()}`].map((r) => r.replaceAll(',', delim));
    const d = await accepted(rows.join('\n'), filename);
    expect(d.version.schema.map((c) => c.name)).toEqual(['name', 'x', 'y']);
    expect(d.version.rowCount).toBe(3);
    expect((await preview(d.id)).rows[0]).toEqual(['a', 1, 2]);
  });

  it('CRLF line endings', async () => {
    const d = await accepted(`a,b\r\n1,x\r\n2,${unique()}\r\n`, 'crlf.csv');
    expect(d.version.rowCount).toBe(2);
    expect((await preview(d.id)).rows[0]).toEqual([1, 'x']);
  });

  it('a file without a header row gets column_1..n', async () => {
    const d = await accepted(`1,2.5,3\n4,5.5,6\n7,8.5,${unique()}\n`, 'noheader.csv');
    expect(d.version.schema.map((c) => c.name)).toEqual(['column_1', 'column_2', 'column_3']);
    expect(d.version.rowCount).toBe(3);
  });

  it('blank and duplicate header names are made unique', async () => {
    const d = await accepted(`a,,A,a\n1,2,3,${unique()}\n`, 'dupes.csv');
    expect(d.version.schema.map((c) => c.name)).toEqual(['a', 'column_2', 'A_2', 'a_3']);
  });

  it('UTF-8 with a byte-order mark: the BOM is not part of the first column name', async () => {
    const d = await accepted(
      Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(`name,v\nZoë,${unique()}\n`)]),
      'bom.csv',
    );
    expect(d.version.sourceEncoding).toBe('utf-8');
    expect(d.version.schema[0]!.name).toBe('name');
    expect((await preview(d.id)).rows[0]![0]).toBe('Zoë');
  });

  it('UTF-16LE and UTF-16BE with BOM are converted to UTF-8', async () => {
    const text = `city,temp\nZürich,1.5\nSão Paulo,${unique()}\n`;
    const le = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
    const d1 = await accepted(le, 'le.csv');
    expect(d1.version.sourceEncoding).toBe('utf-16le');
    expect((await preview(d1.id)).rows.map((r) => r[0])).toEqual(['Zürich', 'São Paulo']);

    const be = Buffer.from(le);
    be.swap16();
    const d2 = await accepted(be, 'be.csv');
    expect(d2.version.sourceEncoding).toBe('utf-16be');
    expect((await preview(d2.id)).rows.map((r) => r[0])).toEqual(['Zürich', 'São Paulo']);
  });

  it('Windows-1252 / Latin-1 text is detected and converted', async () => {
    // 0x80 is € in Windows-1252 (a control character in ISO-8859-1), 0xE9 is é.
    const bytes = Buffer.concat([
      Buffer.from('item,price\ncaf'),
      Buffer.from([0xe9]),
      Buffer.from(','),
      Buffer.from([0x80]),
      Buffer.from(`5\nx,${unique()}\n`),
    ]);
    const d = await accepted(bytes, 'latin.csv');
    expect(d.version.sourceEncoding).toBe('windows-1252');
    expect((await preview(d.id)).rows[0]).toEqual(['café', '€5']);
  });

  it('NDJSON', async () => {
    const d = await accepted(`{"a":1,"b":"x"}\n{"a":2,"b":null}\n{"a":${Date.now()},"b":"z"}\n`, 'rows.ndjson');
    expect(d.format).toBe('ndjson');
    expect(d.version.rowCount).toBe(3);
    expect((await preview(d.id)).rows[1]).toEqual([2, null]);
  });

  it('JSON array of objects, whatever the file is named', async () => {
    const d = await accepted(
      JSON.stringify(
        [
          { t: '2024-03-01T10:00:00Z', v: 1.5 },
          { t: '2024-03-01T11:00:00Z', v: Date.now() },
        ],
        null,
        2,
      ),
      'rows.txt',
    );
    expect(d.format).toBe('json');
    expect(d.version.rowCount).toBe(2);
    expect(d.version.schema.find((c) => c.name === 't')!.type).toMatch(/^TIMESTAMP/);
    expect((await preview(d.id)).rows[0]![0]).toBe('2024-03-01T10:00:00.000Z');
  });

  it('Parquet', async () => {
    const n = 1000 + Math.floor(Math.random() * 1000);
    const parquet = await duckdbFile(
      (out) => `COPY (SELECT range AS i, 'k' || (range % 3) AS k FROM range(${n})) TO '${out}' (FORMAT parquet)`,
      'parquet',
    );
    const d = await accepted(parquet, 'data.parquet');
    expect(d.format).toBe('parquet');
    expect(d.version.sourceEncoding).toBeNull();
    expect(d.version.rowCount).toBe(n);
    expect(d.version.schema).toEqual([
      { name: 'i', type: 'BIGINT', nullable: true },
      { name: 'k', type: 'VARCHAR', nullable: true },
    ]);
  });

  it('XLSX (first sheet, first row is the header)', async () => {
    const xlsx = await makeXlsx([
      ['name', 'qty', 'when'],
      ['bolt', 3, new Date('2024-05-01T00:00:00Z')],
      ['nut', Math.floor(Math.random() * 1e6), new Date('2024-05-02T00:00:00Z')],
    ]);
    const d = await accepted(xlsx, 'book.xlsx');
    expect(d.format).toBe('xlsx');
    expect(d.version.rowCount).toBe(2);
    expect(d.version.schema.map((c) => c.name)).toEqual(['name', 'qty', 'when']);
    const p = await preview(d.id);
    expect(p.rows[0]!.slice(0, 2)).toEqual(['bolt', 3]);
    expect(String(p.rows[0]![2])).toContain('2024-05-01');
  });

  it('a value that does not fit the sampled type later in the file widens the column instead of failing', async () => {
    const lines = ['id,code'];
    for (let i = 0; i < 30_000; i++) lines.push(`${i},${i}`);
    lines.push(`30000,not-a-number-${unique()}`);
    const d = await accepted(lines.join('\n'), 'late-type.csv');
    expect(d.version.rowCount).toBe(30_001);
    expect(d.version.schema.find((c) => c.name === 'code')!.type).toBe('VARCHAR');
  });

  it('a semicolon CSV with decimal commas and dot-grouped thousands has number columns', async () => {
    const csv = `device;temp;energy;note\nd1;12,5;1.234,5;a.b\nd2;8;12;x\nd3;-0,25;2.000.000;${unique()}\nd4;;;y\n`;
    const d = await accepted(csv, 'decimal-comma.csv');
    expect(d.version.schema.map((c) => [c.name, c.type])).toEqual([
      ['device', 'VARCHAR'],
      ['temp', 'DOUBLE'],
      ['energy', 'DOUBLE'],
      ['note', 'VARCHAR'],
    ]);
    expect((await preview(d.id)).rows.map((r) => r.slice(0, 3))).toEqual([
      ['d1', 12.5, 1234.5],
      ['d2', 8, 12],
      ['d3', -0.25, 2_000_000],
      ['d4', null, null],
    ]);
  });

  it('a decimal-comma value that does not fit later in the file widens its column to text, keeping every value', async () => {
    const lines = ['id;temp;energy;other'];
    for (let i = 0; i < 30_000; i++) lines.push(`${i};${i},5;${i}.000,25;${i},5`);
    // A decimal point in a comma file, and a dot group that is not three digits: neither may become null or 12.
    lines.push(`30000;12.5;1.2;7,5`, `30001;1;2;${unique().slice(0, 8)},5`);
    const d = await accepted(lines.join('\n'), 'decimal-comma-late.csv');
    expect(d.version.rowCount).toBe(30_002);
    expect(d.version.schema.map((c) => [c.name, c.type])).toEqual([
      ['id', 'BIGINT'],
      ['temp', 'VARCHAR'],
      ['energy', 'VARCHAR'],
      ['other', 'DOUBLE'],
    ]);
    const late = await preview(d.id, '?offset=29999&limit=2');
    expect(late.rows).toEqual([
      [29_999, '29999,5', '29999.000,25', 29_999.5],
      [30_000, '12.5', '1.2', 7.5],
    ]);
  });
});

describe('deduplication and versions', () => {
  it('identical bytes in the same workspace return the existing dataset and version', async () => {
    const csv = `k,v\n1,${unique()}\n`;
    const first = await accepted(csv, 'dup.csv');
    const before = await storedFiles(t);
    const res = await upload(t, csv, { filename: 'again.csv', name: 'another name' });
    expect(res.status).toBe(200);
    const again = (await res.json()) as Ingested;
    expect(again.duplicateOf).toEqual({ datasetId: first.id, versionId: first.version.id });
    expect(again.id).toBe(first.id);
    expect(again.name).toBe(first.name);
    expect((await storedFiles(t)).blobs).toEqual(before.blobs);
  });

  it('a new version of a dataset, listed newest first; preview reads the latest or a pinned version', async () => {
    const v1 = await accepted(`x\n1\n${unique()}\n`, 'v.csv');
    const res = await upload(t, `x,y\n2,3\n${unique()},4\n`, {
      filename: 'v2.csv',
      path: `/datasets/${v1.id}/versions`,
    });
    expect(res.status).toBe(201);
    const v2 = (await res.json()) as Ingested;
    expect(v2.id).toBe(v1.id);
    expect(v2.version.number).toBe(2);
    expect(v2.versionCount).toBe(2);
    const versions = (await (await t.fetch(`${t.api}/datasets/${v1.id}/versions`)).json()) as {
      items: { id: string; number: number }[];
    };
    expect(versions.items.map((v) => v.number)).toEqual([2, 1]);
    expect((await preview(v1.id)).columns.map((c) => c.name)).toEqual(['x', 'y']);
    expect((await preview(v1.id, `?version=${v1.version.id}`)).columns.map((c) => c.name)).toEqual(['x']);
  });

  it('a version upload refuses dataset fields instead of ignoring them', async () => {
    const d = await accepted(`f\n${unique()}\n`, 'f.csv');
    const res = await upload(t, `f\n${unique()}\n`, { name: 'rename?', path: `/datasets/${d.id}/versions` });
    expect(res.status).toBe(400);
    const p = await problemOf(res);
    expect(p.errors[0]).toMatchObject({ pointer: '/name' });
    expect(p.errors[0]!.message).toContain('PATCH');
    expect((await storedFiles(t)).scratch).toEqual([]);
  });

  it('a version for a dataset that does not exist is 404 and stores nothing', async () => {
    const res = await upload(t, `a\n${unique()}\n`, { path: '/datasets/ds_00000000000000000000000000/versions' });
    expect(res.status).toBe(404);
    expect((await problemOf(res)).code).toBe('not_found');
  });
});

describe('rejected files leave nothing behind', () => {
  const bigRaggedCsv = () => {
    const lines = ['a,b,c'];
    for (let i = 0; i < 20_000; i++) lines.push(`${i},${i * 2},row${i}`);
    lines.push('20000,40000');
    return lines.join('\n');
  };
  const nulDeep = () => {
    const lines = ['a,b'];
    for (let i = 0; i < 30_000; i++) lines.push(`${i},x${i}`);
    return Buffer.concat([Buffer.from(lines.join('\n') + '\n'), Buffer.from('1,a\u0000b\n')]);
  };
  const badUtf8Deep = () => {
    const lines = ['a,b'];
    for (let i = 0; i < 30_000; i++) lines.push(`${i},x${i}`);
    return Buffer.concat([Buffer.from(lines.join('\n') + '\n1,caf'), Buffer.from([0xe9, 0x0a])]);
  };

  const cases: {
    label: string;
    content: () => Buffer | string | Promise<Buffer>;
    filename: string;
    status: number;
    code: string;
    line?: number;
    detail?: RegExp;
  }[] = [
    { label: 'empty file', content: () => '', filename: 'e.csv', status: 422, code: 'empty_file' },
    { label: 'whitespace only', content: () => ' \n\n  \n', filename: 'w.csv', status: 422, code: 'empty_file' },
    { label: 'header only', content: () => 'a,b,c\n', filename: 'h.csv', status: 422, code: 'header_only', line: 1 },
    {
      label: 'ragged row in the sample',
      content: () => 'a,b,c\n1,2,3\n4,5\n6,7,8\n',
      filename: 'r.csv',
      status: 422,
      code: 'ragged_rows',
      line: 3,
      detail: /Row 2 \(line 3\) has 2 fields/,
    },
    {
      label: 'ragged row beyond the sample (DuckDB finds it)',
      content: bigRaggedCsv,
      filename: 'r2.csv',
      status: 422,
      code: 'ragged_rows',
      line: 20_002,
    },
    {
      label: 'NUL byte at the start',
      content: () => Buffer.from('a,b\n1,\u0000\n'),
      filename: 'n.csv',
      status: 422,
      code: 'binary_content',
      line: 2,
    },
    {
      label: 'NUL byte deep in the file',
      content: nulDeep,
      filename: 'n2.csv',
      status: 422,
      code: 'binary_content',
      line: 30_002,
    },
    {
      label: 'invalid UTF-8 deep in a UTF-8 file',
      content: badUtf8Deep,
      filename: 'u.csv',
      status: 415,
      code: 'unsupported_encoding',
    },
    {
      label: 'PNG renamed .csv',
      content: () => PNG,
      filename: 'image.csv',
      status: 415,
      code: 'unsupported_format',
      detail: /image\/png/,
    },
    {
      label: 'ELF binary renamed .csv',
      content: () => ELF,
      filename: 'prog.csv',
      status: 415,
      code: 'unsupported_format',
      detail: /elf/i,
    },
    {
      label: 'ZIP that is not a workbook renamed .csv',
      content: () => makeZip([{ name: 'a.txt', data: Buffer.from('hello') }]),
      filename: 'z.csv',
      status: 422,
      code: 'invalid_xlsx',
    },
    {
      label: 'JSON array of scalars',
      content: () => '[1, 2, 3]',
      filename: 'a.json',
      status: 422,
      code: 'invalid_json',
      detail: /not an array of objects/,
    },
    {
      label: 'a single pretty-printed JSON object',
      content: () => '{\n  "a": 1\n}\n',
      filename: 'o.json',
      status: 422,
      code: 'invalid_json',
    },
    {
      label: 'truncated JSON array',
      content: () => '[{"a": 1}, {"a": 2',
      filename: 't.json',
      status: 422,
      code: 'invalid_json',
      detail: /truncated/,
    },
    {
      label: 'JSON array mixing objects and scalars',
      content: () => '[{"a": 1}, 5]',
      filename: 'm.json',
      status: 422,
      code: 'invalid_json',
    },
    {
      label: 'NDJSON with a broken line',
      content: () => '{"a":1}\n{"a":\n',
      filename: 'b.ndjson',
      status: 422,
      code: 'invalid_json',
      line: 2,
    },
    {
      label: '.json file with CSV content',
      content: () => 'a,b\n1,2\n',
      filename: 'x.json',
      status: 422,
      code: 'invalid_json',
    },
    {
      label: 'text renamed .parquet',
      content: () => 'a,b\n1,2\n',
      filename: 'x.parquet',
      status: 422,
      code: 'invalid_parquet',
    },
    {
      label: 'truncated Parquet',
      content: async () => {
        const full = await duckdbFile(
          (out) => `COPY (SELECT range AS i FROM range(5000)) TO '${out}' (FORMAT parquet)`,
          'parquet',
        );
        return full.subarray(0, full.length - 100);
      },
      filename: 'cut.parquet',
      status: 422,
      code: 'invalid_parquet',
      detail: /truncated|damaged/,
    },
    {
      label: 'unterminated quote',
      content: () => 'a,b\n1,"open\n2,3\n',
      filename: 'q.csv',
      status: 422,
      code: 'invalid_file',
      line: 2,
    },
    {
      label: 'unterminated quote beyond the sample (DuckDB finds it)',
      content: () => `a,b\n${Array.from({ length: 30_000 }, (_, i) => `${i},x${i}`).join('\n')}\n1,"open\n2,3\n`,
      filename: 'q2.csv',
      status: 422,
      code: 'invalid_file',
      detail: /quote/i,
    },
    {
      label: 'a JSON key with a NUL',
      content: () => '[{"a\\u0000b":1}]',
      filename: 'nul-key.json',
      status: 422,
      code: 'invalid_column_name',
      detail: /column named "a\\u0000b" contains the control character U\+0000/,
    },
    {
      label: 'an NDJSON key with an escape character',
      content: () => '{"ok":1,"a\\u001bb":1}\n{"ok":2,"a\\u001bb":2}\n',
      filename: 'esc-key.ndjson',
      status: 422,
      code: 'invalid_column_name',
      detail: /U\+001B/,
    },
    {
      label: 'a CSV header name with a line break',
      content: () => 'id,"two\nlines"\n1,2\n',
      filename: 'lf-header.csv',
      status: 422,
      code: 'invalid_column_name',
      line: 1,
    },
    {
      label: 'an XLSX header with a line break',
      content: () =>
        makeXlsx([
          ['id', 'two\nlines'],
          [1, 2],
        ]),
      filename: 'lf-header.xlsx',
      status: 422,
      code: 'invalid_column_name',
    },
    {
      label: 'a Parquet column name with a control character',
      content: () =>
        duckdbFile((out) => `COPY (SELECT 1 AS ok, 2 AS "bad\u0001name") TO '${out}' (FORMAT parquet)`, 'parquet'),
      filename: 'ctl.parquet',
      status: 422,
      code: 'invalid_column_name',
    },
    {
      label: 'a CSV of 100,000 columns',
      content: () => {
        const names = Array.from({ length: 100_000 }, (_, i) => `c${i}`);
        return `${names.join(',')}\n${names.map((_, i) => i % 10).join(',')}\n`;
      },
      filename: 'wide.csv',
      status: 422,
      code: 'too_many_columns',
      detail: /100000 columns; a dataset may have at most 200 \(WEIR_MAX_COLUMNS\)/,
    },
    {
      label: 'a CSV line of 17 MB, over WEIR_CSV_MAX_LINE_BYTES',
      content: () => `id,text\n1,short\n2,"${'x'.repeat(17_000_000)}"\n3,short\n`,
      filename: 'long-line.csv',
      status: 422,
      code: 'line_too_long',
      detail: /is 1700\d{4} bytes long, over the limit of 16777216 bytes \(WEIR_CSV_MAX_LINE_BYTES\)/,
    },
    {
      label: 'XLSX decompression bomb',
      content: () =>
        makeZip([
          { name: '[Content_Types].xml', data: Buffer.from('<Types/>') },
          { name: 'xl/workbook.xml', data: Buffer.from('<workbook/>') },
          { name: 'xl/worksheets/sheet1.xml', data: Buffer.alloc(16 * 1024 * 1024, 0x20) },
        ]),
      filename: 'bomb.xlsx',
      status: 413,
      code: 'xlsx_too_large',
    },
  ];

  for (const c of cases) {
    it(`${c.label}: ${c.status} ${c.code}`, async () => {
      const before = (await (await t.fetch(`${t.api}/datasets?limit=1`)).json()) as { total: number };
      const beforeFiles = await storedFiles(t);
      const res = await upload(t, await c.content(), { filename: c.filename });
      expect(res.status).toBe(c.status);
      const problem = await problemOf(res);
      expect(problem.code).toBe(c.code);
      if (c.detail) expect(problem.detail).toMatch(c.detail);
      if (c.line !== undefined) expect(problem.errors[0]?.line).toBe(c.line);
      const after = (await (await t.fetch(`${t.api}/datasets?limit=1`)).json()) as { total: number };
      expect(after.total).toBe(before.total);
      const afterFiles = await storedFiles(t);
      expect(afterFiles.blobs).toEqual(beforeFiles.blobs);
      expect(afterFiles.scratch).toEqual([]);
    });
  }

  it('a file over WEIR_MAX_UPLOAD_BYTES is refused with 413 and leaves nothing', async () => {
    const small = await startTestApp({ WEIR_MAX_UPLOAD_BYTES: '1000' });
    try {
      const res = await upload(small, 'a,b\n' + '1,2\n'.repeat(1000), { filename: 'big.csv' });
      expect(res.status).toBe(413);
      const problem = await problemOf(res);
      expect(problem.code).toBe('payload_too_large');
      expect(problem.detail).toContain('1000');
      expect(await storedFiles(small)).toEqual({ scratch: [], blobs: [] });
    } finally {
      await small.close();
    }
  });

  it('a declared Content-Length far over the limit is refused before the body is read', async () => {
    const small = await startTestApp({ WEIR_MAX_UPLOAD_BYTES: '1000' });
    try {
      const res = await upload(small, Buffer.alloc(3 * 1024 * 1024, 0x61), { filename: 'huge.csv' });
      expect(res.status).toBe(413);
      expect((await problemOf(res)).code).toBe('payload_too_large');
      expect(await storedFiles(small)).toEqual({ scratch: [], blobs: [] });
    } finally {
      await small.close();
    }
  });

  it('an XLSX with more cells than WEIR_XLSX_MAX_CELLS is refused', async () => {
    const small = await startTestApp({ WEIR_XLSX_MAX_CELLS: '10' });
    try {
      const rows: unknown[][] = [['a', 'b', 'c']];
      for (let i = 0; i < 10; i++) rows.push([i, i, i]);
      const res = await upload(small, await makeXlsx(rows), { filename: 'cells.xlsx' });
      expect(res.status).toBe(413);
      expect((await problemOf(res)).code).toBe('xlsx_too_large');
      expect(await storedFiles(small)).toEqual({ scratch: [], blobs: [] });
    } finally {
      await small.close();
    }
  });
});

describe('wide files and long lines', () => {
  it('a 3 MB quoted field (with a delimiter and a line break) is accepted, in a row longer than the sniffed sample', async () => {
    const field = `${'y'.repeat(1_500_000)},\n${'z'.repeat(1_500_000)}`;
    const d = await accepted(`id,text,n\n1,"${field}",${unique()}\n2,short,3\n`, 'long-field.csv');
    expect(d.version.rowCount).toBe(2);
    expect(d.version.schema.map((c) => c.name)).toEqual(['id', 'text', 'n']);
    const res = await t.fetch(`${t.api}/datasets/${d.id}/download?format=ndjson`);
    const rows = (await res.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { text: string });
    expect(rows[0]!.text).toBe(field);
  });

  it('a file whose first row is longer than the sample is sniffed from enough of the file', async () => {
    // No header: the first row is data, and alone it is 3 MB, with a line break (and a ';') in a quoted field.
    const d = await accepted(
      `1,"${'w'.repeat(1_500_000)};\n${'w'.repeat(1_500_000)}",2.5\n2,v,${unique()}\n`,
      'long-first-row.csv',
    );
    expect(d.version.schema.map((c) => c.name)).toEqual(['column_1', 'column_2', 'column_3']);
    expect(d.version.rowCount).toBe(2);
  });

  it('JSON objects with as many keys as WEIR_MAX_COLUMNS are columns, not refused as "not an object"', async () => {
    const keys = Array.from({ length: 200 }, (_, i) => `k${i}`);
    const rows = [0, 1, 2].map((r) => Object.fromEntries(keys.map((k, i) => [k, r * i + Number(unique().slice(-3))])));
    const d = await accepted(JSON.stringify(rows), 'wide.json');
    expect(d.version.schema).toHaveLength(200);
    expect(d.version.rowCount).toBe(3);
  });

  it('WEIR_MAX_COLUMNS is the cap for CSV, JSON, NDJSON, XLSX and Parquet alike', async () => {
    const narrow = await startTestApp({ WEIR_MAX_COLUMNS: '3' });
    try {
      const four: [string, () => Buffer | string | Promise<Buffer>][] = [
        ['four.csv', () => 'a,b,c,d\n1,2,3,4\n'],
        ['four.json', () => '[{"a":1,"b":2,"c":3,"d":4}]'],
        // The fourth key appears in a later record only: the keys of every sampled record count.
        ['four.ndjson', () => '{"a":1,"b":2,"c":3}\n{"a":1,"d":4}\n'],
        [
          'four.xlsx',
          () =>
            makeXlsx([
              ['a', 'b', 'c', 'd'],
              [1, 2, 3, 4],
            ]),
        ],
        [
          'four.parquet',
          () =>
            duckdbFile((out) => `COPY (SELECT 1 AS a, 2 AS b, 3 AS c, 4 AS d) TO '${out}' (FORMAT parquet)`, 'parquet'),
        ],
      ];
      for (const [filename, content] of four) {
        const res = await upload(narrow, await content(), { filename });
        expect(res.status, filename).toBe(422);
        const problem = await problemOf(res);
        expect(problem.code, filename).toBe('too_many_columns');
        expect(problem.detail, filename).toContain(
          'The file has 4 columns; a dataset may have at most 3 (WEIR_MAX_COLUMNS)',
        );
      }
      for (const [filename, content] of [
        ['three.csv', 'a,b,c\n1,2,3\n'],
        ['three.json', '[{"a":1,"b":2,"c":3}]'],
      ] as const) {
        expect((await upload(narrow, content, { filename })).status, filename).toBe(201);
      }
      expect(await storedFiles(narrow)).toMatchObject({ scratch: [] });
    } finally {
      await narrow.close();
    }
  });

  it('a file of 500 numeric columns is profiled within the DuckDB memory limit when the cap allows it', async () => {
    const wide = await startTestApp({ WEIR_MAX_COLUMNS: '500' });
    try {
      const names = Array.from({ length: 500 }, (_, i) => `c${i}`);
      const rows = Array.from({ length: 100 }, (_, r) => names.map((_, i) => r * 1000 + i).join(','));
      const res = await upload(wide, `${names.join(',')}\n${rows.join('\n')}\n`, { filename: 'wide500.csv' });
      expect(res.status, await res.clone().text()).toBe(201);
      const { id } = (await res.json()) as { id: string };
      const profile = (await (await wide.fetch(`${wide.api}/datasets/${id}/profile`)).json()) as {
        columns: { name: string; min: number; max: number; count: number }[];
      };
      expect(profile.columns).toHaveLength(500);
      // A column of the last batch, with the aggregates of its own.
      expect(profile.columns[457]).toMatchObject({ name: 'c457', count: 100, min: 457, max: 99_457 });
    } finally {
      await wide.close();
    }
  });

  it('WEIR_CSV_MAX_LINE_BYTES bounds a line, the first one included', async () => {
    const short = await startTestApp({ WEIR_CSV_MAX_LINE_BYTES: '64KiB' });
    try {
      const within = await upload(short, `id,text\n1,"${'a'.repeat(60_000)}"\n2,b\n`, { filename: 'within.csv' });
      expect(within.status).toBe(201);
      const later = await upload(short, `id,text\n1,b\n2,"${'a'.repeat(100_000)}"\n`, { filename: 'later.csv' });
      expect(later.status).toBe(422);
      const laterProblem = await problemOf(later);
      expect(laterProblem.code).toBe('line_too_long');
      expect(laterProblem.detail).toMatch(
        /A line of the file is 1000\d\d bytes long, over the limit of 65536 bytes \(WEIR_CSV_MAX_LINE_BYTES\)/,
      );
      // A first line longer than the limit: the sniffer stops reading at twice the limit and names the line.
      const first = await upload(short, `${'h'.repeat(300_000)},x\n1,2\n`, { filename: 'first.csv' });
      expect(first.status).toBe(422);
      const firstProblem = await problemOf(first);
      expect(firstProblem.code).toBe('line_too_long');
      expect(firstProblem.detail).toContain('Line 1 is longer than the limit of 65536 bytes (WEIR_CSV_MAX_LINE_BYTES)');
      expect(firstProblem.errors[0]?.line).toBe(1);
    } finally {
      await short.close();
    }
  });
});

describe('upload form validation', () => {
  it('missing file part', async () => {
    const form = new FormData();
    form.append('name', 'x');
    const res = await t.fetch(`${t.api}/datasets`, { method: 'POST', body: form });
    expect(res.status).toBe(400);
    const p = await problemOf(res);
    expect(p.code).toBe('validation_failed');
    expect(p.errors).toContainEqual({ pointer: '/file', message: 'is required' });
  });

  it('unknown fields and an over-long name are named', async () => {
    const res = await upload(t, `a\n${unique()}\n`, { name: 'n'.repeat(201), extraFields: { colour: 'red' } });
    expect(res.status).toBe(400);
    const pointers = (await problemOf(res)).errors.map((e) => e.pointer);
    expect(pointers).toEqual(expect.arrayContaining(['/colour', '/name']));
    expect((await storedFiles(t)).scratch).toEqual([]);
  });

  it('a JSON body is 415', async () => {
    const res = await t.fetch(`${t.api}/datasets`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"name":"x"}',
    });
    expect(res.status).toBe(415);
    expect((await problemOf(res)).code).toBe('unsupported_media_type');
  });

  it('wait must be a boolean', async () => {
    const form = new FormData();
    form.append('file', new Blob(['a\n1\n']), 'a.csv');
    const res = await t.fetch(`${t.api}/datasets?wait=maybe`, { method: 'POST', body: form });
    expect(res.status).toBe(400);
    expect((await problemOf(res)).errors[0]!.pointer).toBe('/query/wait');
  });
});

describe('ingest progress', () => {
  it(
    'follows DuckDB through the conversion instead of sitting at one figure, in figures of one decimal at most',
    {
      timeout: 180_000,
    },
    async () => {
      // DuckDB estimates a CSV scan's progress by the buffers it has read (32 MB each by default): a file of one or
      // two buffers has no estimate between 0 and the end, however slow the machine. About 140 MB spans several.
      const rows = 8_000_000;
      const parts = ['id,device,v\n'];
      for (let start = 0; start < rows; start += 100_000) {
        const lines: string[] = [];
        for (let i = start; i < start + 100_000; i++) lines.push(`${i},d${i % 20},${i % 977}`);
        parts.push(lines.join('\n') + '\n');
      }
      parts.push(`${rows},${unique()},1\n`);
      const form = new FormData();
      form.append('file', new Blob(parts), 'progress.csv');
      // Every progress report the job writes is also published, in order, on the workspace topic (wherever the job
      // runs, its events reach this process's bus): heard from before the upload, none is missed, where polling the
      // job could step over reports written in quick succession on a busy machine.
      const published: JobProgressEvent[] = [];
      const unsubscribe = t.context.bus.subscribe(topics.workspace('ws_default'), (e) => {
        if (e.type === JOB_PROGRESS) published.push(e.data as JobProgressEvent);
      });
      let jobId = '';
      try {
        await t.context.bus.whenSubscribed?.(topics.workspace('ws_default'));
        const res = await t.fetch(`${t.api}/datasets`, { method: 'POST', body: form });
        expect(res.status, await res.clone().text()).toBe(202);
        jobId = ((await res.json()) as { jobId: string }).jobId;
        const job = await eventually(
          async () => {
            const j = (await (await t.fetch(`${t.api}/jobs/${jobId}`)).json()) as { status: string };
            return ['succeeded', 'failed', 'cancelled'].includes(j.status) ? j : undefined;
          },
          'the ingest job to end',
          120_000,
        );
        expect(job.status).toBe('succeeded');
        // Reports are published before the job ends, but may reach this process just after: up to profiling's.
        await eventually(
          () => Promise.resolve(published.some((e) => e.id === jobId && e.progress >= 70) || undefined),
          'the progress events up to profiling',
          10_000,
        );
      } finally {
        unsubscribe();
      }
      const seen = published.filter((e) => e.id === jobId);
      // The conversion's share (up to 70%, where profiling starts) is walked through, not jumped over.
      const converting = new Set(seen.filter((s) => s.message === 'converting to Parquet').map((s) => s.progress));
      expect(
        [...converting].filter((p) => p > 0 && p < 70).length,
        JSON.stringify(
          seen
            .filter((s, i) => i === 0 || s.progress !== seen[i - 1]!.progress)
            .map((s) => ({ progress: s.progress, message: s.message })),
        ),
      ).toBeGreaterThanOrEqual(2);
      for (const { progress } of seen) expect(Math.round(progress * 10) / 10, String(progress)).toBe(progress);
    },
  );
});
