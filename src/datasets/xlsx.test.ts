import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { crc32, deflateRawSync } from 'node:zlib';
import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../errors.js';
import { inspectXlsxArchive, writeXlsx, xlsxToNdjson, type XlsxLimits } from './xlsx.js';

const LIMITS: XlsxLimits = { maxEntries: 100, maxUncompressedBytes: 64 * 1024 ** 2, maxRatio: 200, maxCells: 1_000_000 };

let dir: string;
let seq = 0;
const file = (name: string): string => join(dir, `${seq++}-${name}`);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'weir-xlsx-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function rejection(promise: Promise<unknown>): Promise<AppError> {
  const outcome = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(outcome instanceof AppError)) throw new Error(`expected an AppError, got ${outcome instanceof Error ? outcome.stack : String(outcome)}`);
  return outcome;
}

async function readLines(path: string): Promise<unknown[]> {
  const text = await readFile(path, 'utf8');
  return text.split('\n').filter(Boolean).map((line) => JSON.parse(line) as unknown);
}

async function saveWorkbook(build: (wb: ExcelJS.Workbook) => void): Promise<string> {
  const wb = new ExcelJS.Workbook();
  build(wb);
  const path = file('book.xlsx');
  await wb.xlsx.writeFile(path);
  return path;
}

// --- A hand-made ZIP writer: lets tests declare sizes and flags that no honest library would write ------------

interface ZipPart {
  name: string;
  /** The bytes stored in the archive (already deflated when method is 8). */
  body: Buffer;
  method: 0 | 8;
  /** Declared uncompressed size, in both the local header and the central directory. */
  size: number;
  crc?: number;
  flags?: number;
}

const stored = (name: string, text: string | Buffer): ZipPart => {
  const data = Buffer.from(text);
  return { name, body: data, method: 0, size: data.length, crc: crc32(data) };
};
const deflated = (name: string, text: string | Buffer): ZipPart => {
  const data = Buffer.from(text);
  return { name, body: deflateRawSync(data), method: 8, size: data.length, crc: crc32(data) };
};

function buildZip(parts: ZipPart[]): Buffer {
  const chunks: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const p of parts) {
    const name = Buffer.from(p.name);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(p.flags ?? 0, 6);
    local.writeUInt16LE(p.method, 8);
    local.writeUInt32LE(p.crc ?? 0, 14);
    local.writeUInt32LE(p.body.length, 18);
    local.writeUInt32LE(p.size, 22);
    local.writeUInt16LE(name.length, 26);
    const cd = Buffer.alloc(46);
    cd.writeUInt32LE(0x02014b50, 0);
    cd.writeUInt16LE(20, 4);
    cd.writeUInt16LE(20, 6);
    cd.writeUInt16LE(p.flags ?? 0, 8);
    cd.writeUInt16LE(p.method, 10);
    cd.writeUInt32LE(p.crc ?? 0, 16);
    cd.writeUInt32LE(p.body.length, 20);
    cd.writeUInt32LE(p.size, 24);
    cd.writeUInt16LE(name.length, 28);
    cd.writeUInt32LE(offset, 42);
    chunks.push(local, name, p.body);
    central.push(cd, name);
    offset += local.length + name.length + p.body.length;
  }
  const cdBytes = Buffer.concat(central);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(parts.length, 8);
  eocd.writeUInt16LE(parts.length, 10);
  eocd.writeUInt32LE(cdBytes.length, 12);
  eocd.writeUInt32LE(offset, 16);
  return Buffer.concat([...chunks, cdBytes, eocd]);
}

const MAIN_NS = 'http://schemas.openxmlformats.org/spreadsheetml/2006/main';

/** The smallest workbook exceljs reads: one sheet named "Hand" whose <sheetData> is `sheetData`. */
function handWorkbook(sheetData: string | Buffer, sheetPart: (name: string, xml: Buffer) => ZipPart = deflated): ZipPart[] {
  const sheet = Buffer.concat([Buffer.from(`<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="${MAIN_NS}"><sheetData>`), Buffer.from(sheetData), Buffer.from('</sheetData></worksheet>')]);
  return [
    deflated(
      '[Content_Types].xml',
      '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">' +
        '<Default Extension="xml" ContentType="application/xml"/>' +
        '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>' +
        '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>',
    ),
    deflated(
      'xl/workbook.xml',
      `<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="${MAIN_NS}" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">` +
        '<sheets><sheet name="Hand" sheetId="1" r:id="rId1"/></sheets></workbook>',
    ),
    deflated(
      'xl/_rels/workbook.xml.rels',
      '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">' +
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>',
    ),
    sheetPart('xl/worksheets/sheet1.xml', sheet),
  ];
}

/** `<row>`s with a number in column A, from row `from` to row `to`. */
function numberRows(from: number, to: number): string {
  let xml = '';
  for (let r = from; r <= to; r++) xml += `<row r="${r}"><c r="A${r}"><v>${r}</v></c></row>`;
  return xml;
}

async function saveZip(parts: ZipPart[]): Promise<string> {
  const path = file('hand.xlsx');
  await writeFile(path, buildZip(parts));
  return path;
}

// ---------------------------------------------------------------------------------------------------------------

describe('xlsxToNdjson', () => {
  it('converts the first worksheet with typed values, deduplicated headers and padding', async () => {
    const path = await saveWorkbook((wb) => {
      const ws = wb.addWorksheet('People');
      ws.addRow(['id', 'name', null, 'name', 'name', 'when', 'ok', 'rich', 'calc', 'link', 'err', 'due', 'label']);
      ws.addRow([
        1,
        'Alice',
        'x',
        'a2',
        'a3',
        new Date(Date.UTC(2024, 0, 1)),
        true,
        { richText: [{ text: 'Hello ' }, { font: { bold: true }, text: 'World' }] },
        { formula: 'A2*2', result: 2 },
        { text: 'Weir', hyperlink: 'https://example.com/' },
        { error: '#N/A' },
        { formula: 'F2+1', result: new Date(Date.UTC(2024, 0, 2)) },
        { formula: 'B2&"!"', result: 'Alice!' },
      ]);
      ws.getCell('L2').numFmt = 'yyyy-mm-dd';
      ws.addRow([2, 'Bob']); // shorter than the header
      ws.getCell('C4').numFmt = '0.00'; // a row whose only cell is styled but blank
      ws.addRow([-3.25, '', null, null, null, new Date(Date.UTC(2024, 5, 15, 13, 45, 30, 123)), false]);
      wb.addWorksheet('Second').addRow(['never', 'read']);
    });
    const out = file('out.ndjson');
    const result = await xlsxToNdjson(path, out, LIMITS);

    const columns = ['id', 'name', 'column_3', 'name_2', 'name_3', 'when', 'ok', 'rich', 'calc', 'link', 'err', 'due', 'label'];
    expect(result).toEqual({ sheet: 'People', columns, rows: 3 });
    const nulls = (n: number): null[] => new Array<null>(n).fill(null);
    expect(await readLines(out)).toEqual([
      Object.fromEntries(
        columns.map((c, i) => [c, [1, 'Alice', 'x', 'a2', 'a3', '2024-01-01T00:00:00.000Z', true, 'Hello World', 2, 'Weir', null, '2024-01-02T00:00:00.000Z', 'Alice!'][i]]),
      ),
      Object.fromEntries(columns.map((c, i) => [c, [2, 'Bob', ...nulls(11)][i]])),
      Object.fromEntries(columns.map((c, i) => [c, [-3.25, null, null, null, null, '2024-06-15T13:45:30.123Z', false, ...nulls(6)][i]])),
    ]);
  });

  it('takes the first non-blank row as the header and reports progress every 10,000 rows', async () => {
    const path = await saveZip(handWorkbook(`<row r="1"><c r="A1" s="0"/></row><row r="2"><c r="A2" t="inlineStr"><is><t>n</t></is></c></row>${numberRows(3, 25_002)}`));
    const progress: number[] = [];
    const result = await xlsxToNdjson(path, file('out.ndjson'), LIMITS, (rows) => progress.push(rows));
    expect(result).toEqual({ sheet: 'Hand', columns: ['n'], rows: 25_000 });
    expect(progress).toEqual([10_000, 20_000]);
  });

  it("rejects a header row without data rows as 'header_only'", async () => {
    const path = await saveWorkbook((wb) => wb.addWorksheet('S').addRow(['a', 'b']));
    const out = file('out.ndjson');
    const err = await rejection(xlsxToNdjson(path, out, LIMITS));
    expect([err.code, err.status]).toEqual(['header_only', 422]);
    expect(err.message).toContain('"S"');
    expect(existsSync(out)).toBe(false);
  });

  it("rejects a worksheet without rows, or with blank rows only, as 'empty_file'", async () => {
    const empty = await saveWorkbook((wb) => wb.addWorksheet('Nothing'));
    const blank = await saveWorkbook((wb) => {
      wb.addWorksheet('Blank').getCell('B3').numFmt = '0.00';
    });
    for (const path of [empty, blank]) {
      const err = await rejection(xlsxToNdjson(path, file('out.ndjson'), LIMITS));
      expect([err.code, err.status]).toEqual(['empty_file', 422]);
    }
  });

  it('refuses a value right of the header, naming the row and the cell', async () => {
    const path = await saveWorkbook((wb) => {
      const ws = wb.addWorksheet('S');
      ws.addRow(['a', 'b']);
      ws.addRow([1, 2]);
      ws.addRow([3, 4, 'stray']);
    });
    const err = await rejection(xlsxToNdjson(path, file('out.ndjson'), LIMITS));
    expect([err.code, err.status]).toEqual(['invalid_xlsx', 422]);
    expect(err.message).toMatch(/Row 3 .*"S".*cell C3/);
    expect(err.errors[0]?.row).toBe(2);
  });

  it("stops with 'xlsx_too_large' as soon as maxCells is exceeded, without reading the rest", async () => {
    // Broken XML 2 MiB further on: an implementation that kept reading would fail with 'invalid_xlsx' instead.
    const path = await saveZip(handWorkbook(`${numberRows(1, 40_000)}<row><c r="A40001"><v>oops</broken>`));
    const out = file('out.ndjson');
    const err = await rejection(xlsxToNdjson(path, out, { ...LIMITS, maxCells: 100 }));
    expect([err.code, err.status]).toEqual(['xlsx_too_large', 413]);
    expect(err.message).toContain('100 cells');
    expect(err.message).toContain('row 101');
    expect(existsSync(out)).toBe(false);
  });

  it('reads a sheet whose cells are well within maxCells', async () => {
    const path = await saveZip(handWorkbook(numberRows(1, 100)));
    await expect(xlsxToNdjson(path, file('out.ndjson'), { ...LIMITS, maxCells: 100 })).resolves.toMatchObject({ rows: 99 });
  });

  it('refuses a part that inflates beyond the size its directory declares (a disguised bomb)', async () => {
    const parts = handWorkbook(numberRows(1, 50_000));
    const sheet = parts[3]!;
    // Declared at twice the compressed size: within every limit, yet the real content is 100 times bigger.
    parts[3] = { ...sheet, size: sheet.body.length * 2 };
    const path = await saveZip(parts);
    await expect(inspectXlsxArchive(path, LIMITS)).resolves.toMatchObject({ entries: 4 });
    const err = await rejection(xlsxToNdjson(path, file('out.ndjson'), LIMITS));
    expect([err.code, err.status]).toEqual(['invalid_xlsx', 422]);
  });

  it("rejects a damaged part as 'invalid_xlsx'", async () => {
    const parts = handWorkbook(numberRows(1, 10));
    parts[3] = { ...parts[3]!, body: Buffer.from('this is not deflate data at all, not even close!!') };
    const err = await rejection(xlsxToNdjson(await saveZip(parts), file('out.ndjson'), LIMITS));
    expect([err.code, err.status]).toEqual(['invalid_xlsx', 422]);
    expect(err.message).not.toContain(dir);
  });

  it('checks the archive before reading it', async () => {
    const path = await saveWorkbook((wb) => wb.addWorksheet('S').addRows([['a'], [1]]));
    const out = file('out.ndjson');
    const err = await rejection(xlsxToNdjson(path, out, { ...LIMITS, maxEntries: 2 }));
    expect([err.code, err.status]).toEqual(['xlsx_too_large', 413]);
    expect(existsSync(out)).toBe(false);
  });
});

describe('inspectXlsxArchive', () => {
  it('summarizes a valid workbook', async () => {
    const path = await saveWorkbook((wb) => wb.addWorksheet('S').addRows([['a'], [1]]));
    const summary = await inspectXlsxArchive(path, LIMITS);
    expect(summary.entries).toBeGreaterThanOrEqual(5);
    expect(summary.uncompressedBytes).toBeGreaterThan(1000);
  });

  it("rejects bytes that are not a ZIP as 'invalid_xlsx'", async () => {
    const path = file('junk.xlsx');
    await writeFile(path, 'id,name\n1,Alice\n'.repeat(100));
    const err = await rejection(inspectXlsxArchive(path, LIMITS));
    expect([err.code, err.status]).toEqual(['invalid_xlsx', 422]);
    expect(err.message).not.toContain(dir);
  });

  it("rejects a ZIP that is not a workbook as 'invalid_xlsx'", async () => {
    const path = await saveZip([deflated('a.txt', 'hello')]);
    const err = await rejection(inspectXlsxArchive(path, LIMITS));
    expect([err.code, err.status]).toEqual(['invalid_xlsx', 422]);
    expect(err.message).toContain('not an XLSX workbook');
  });

  it("rejects a ZIP with content types but no workbook part as 'invalid_xlsx'", async () => {
    const parts = handWorkbook(numberRows(1, 3)).filter((p) => p.name !== 'xl/workbook.xml');
    const err = await rejection(inspectXlsxArchive(await saveZip(parts), LIMITS));
    expect([err.code, err.status]).toEqual(['invalid_xlsx', 422]);
    expect(err.message).toContain('"xl/workbook.xml"');
  });

  it('refuses a ratio bomb from the directory alone, without inflating anything', async () => {
    const parts = handWorkbook(numberRows(1, 3));
    // Claims 2 GiB; the body is not even valid deflate data, so inflating it would fail with another error.
    parts[3] = { name: 'xl/worksheets/sheet1.xml', body: Buffer.alloc(64 * 1024, 0x55), method: 8, size: 2 * 1024 ** 3 };
    const path = await saveZip(parts);
    const started = performance.now();
    const err = await rejection(inspectXlsxArchive(path, { ...LIMITS, maxUncompressedBytes: 4 * 1024 ** 3 }));
    expect(performance.now() - started).toBeLessThan(1000);
    expect([err.code, err.status]).toEqual(['xlsx_too_large', 413]);
    expect(err.message).toContain('xl/worksheets/sheet1.xml');
    expect(err.message).toContain('32,768 times');
    expect(err.message).toContain('limit is 200');

    const out = file('out.ndjson');
    const viaConvert = await rejection(xlsxToNdjson(path, out, LIMITS));
    expect(viaConvert.code).toBe('xlsx_too_large');
    expect(existsSync(out)).toBe(false);
  });

  it('refuses a real deflate bomb by its ratio', async () => {
    const path = await saveZip([...handWorkbook(numberRows(1, 3)), deflated('xl/media/zeros.bin', Buffer.alloc(16 * 1024 ** 2))]);
    const err = await rejection(inspectXlsxArchive(path, LIMITS));
    expect([err.code, err.status]).toEqual(['xlsx_too_large', 413]);
    expect(err.message).toContain('xl/media/zeros.bin');
  });

  it('refuses more entries than maxEntries', async () => {
    const path = await saveZip([...handWorkbook(numberRows(1, 3)), ...Array.from({ length: 10 }, (_, i) => stored(`extra/${i}.txt`, 'x'))]);
    await expect(inspectXlsxArchive(path, { ...LIMITS, maxEntries: 14 })).resolves.toMatchObject({ entries: 14 });
    const err = await rejection(inspectXlsxArchive(path, { ...LIMITS, maxEntries: 13 }));
    expect([err.code, err.status]).toEqual(['xlsx_too_large', 413]);
    expect(err.message).toContain('14 internal files');
    expect(err.message).toContain('limit is 13');
  });

  it('refuses more declared bytes than maxUncompressedBytes', async () => {
    const path = await saveZip(handWorkbook(numberRows(1, 1000)));
    const { uncompressedBytes } = await inspectXlsxArchive(path, LIMITS);
    await expect(inspectXlsxArchive(path, { ...LIMITS, maxUncompressedBytes: uncompressedBytes })).resolves.toBeDefined();
    const err = await rejection(inspectXlsxArchive(path, { ...LIMITS, maxUncompressedBytes: uncompressedBytes - 1 }));
    expect([err.code, err.status]).toEqual(['xlsx_too_large', 413]);
  });

  it("rejects encrypted entries as 'invalid_xlsx'", async () => {
    const parts = handWorkbook(numberRows(1, 3));
    parts[3] = { ...parts[3]!, flags: 0x1 };
    const err = await rejection(inspectXlsxArchive(await saveZip(parts), LIMITS));
    expect([err.code, err.status]).toEqual(['invalid_xlsx', 422]);
    expect(err.message).toContain('encrypted');
  });

  it("rejects an archive listing the same part twice as 'invalid_xlsx'", async () => {
    const parts = handWorkbook(numberRows(1, 3));
    const err = await rejection(inspectXlsxArchive(await saveZip([...parts, parts[3]!]), LIMITS));
    expect([err.code, err.status]).toEqual(['invalid_xlsx', 422]);
  });
});

describe('writeXlsx', () => {
  async function* from<T>(items: T[]): AsyncGenerator<T> {
    for (const item of items) yield item;
  }

  async function writeFileXlsx(columns: string[], rows: unknown[][]): Promise<string> {
    const path = file('export.xlsx');
    const { createWriteStream } = await import('node:fs');
    await writeXlsx(columns, from(rows), createWriteStream(path));
    return path;
  }

  it('round-trips values and neutralizes text that a spreadsheet would run as a formula', async () => {
    const when = new Date(Date.UTC(2023, 11, 31, 23, 59, 59, 500));
    const path = await writeFileXlsx(
      ['n', 'text', '=col', 'flag', 'when'],
      [
        [-5, '=1+1', 'plain', true, when],
        [0, '+x', ' spaced ', false, null],
        [1.5, '-x', null, null, null],
        [2, '@x', '\tx', null, null],
        [3, '\rx', 'a=b', null, null],
        [-7, '-5', { formula: 'SUM(A1:A2)' }, null, null],
        [Number.NaN, 12n, null, null, null],
      ],
    );
    const out = file('out.ndjson');
    const result = await xlsxToNdjson(path, out, LIMITS);
    expect(result).toEqual({ sheet: 'data', columns: ['n', 'text', "'=col", 'flag', 'when'], rows: 7 });
    expect(await readLines(out)).toEqual([
      { n: -5, text: "'=1+1", "'=col": 'plain', flag: true, when: '2023-12-31T23:59:59.500Z' },
      { n: 0, text: "'+x", "'=col": ' spaced ', flag: false, when: null },
      { n: 1.5, text: "'-x", "'=col": null, flag: null, when: null },
      { n: 2, text: "'@x", "'=col": "'\tx", flag: null, when: null },
      // XML parsers turn a carriage return into a line feed: the quote is what matters here.
      { n: 3, text: "'\nx", "'=col": 'a=b', flag: null, when: null },
      { n: -7, text: "'-5", "'=col": '{"formula":"SUM(A1:A2)"}', flag: null, when: null },
      { n: null, text: 12, "'=col": null, flag: null, when: null },
    ]);
  });

  it('keeps memory flat: stops pulling rows while the destination does not drain', async () => {
    const total = 100_000;
    let pulled = 0;
    async function* rows(): AsyncGenerator<unknown[]> {
      for (let i = 0; i < total; i++) {
        pulled++;
        yield [i, `row number ${i} with some text to make it longer`, i % 2 === 0];
      }
    }
    let stalled = true;
    const waiting: (() => void)[] = [];
    let received = 0;
    const out = new Writable({
      highWaterMark: 16 * 1024,
      write(chunk: Buffer, _enc, done) {
        received += chunk.length;
        if (stalled) waiting.push(done);
        else done();
      },
    });
    const writing = writeXlsx(['i', 'text', 'even'], rows(), out);
    // Wait until production settles (it never would if rows were pulled regardless of the destination).
    let settled = -1;
    for (let polls = 0, quiet = 0; polls < 50 && quiet < 4; polls++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      quiet = pulled === settled ? quiet + 1 : 0;
      settled = pulled;
    }
    expect(pulled).toBeLessThan(total / 5);
    expect(received).toBeLessThan(64 * 1024);
    stalled = false;
    for (const done of waiting.splice(0)) done();
    await writing;
    expect(pulled).toBe(total);
    expect(received).toBeGreaterThan(1024 * 1024);
  });

  it('fails and destroys the destination when the rows fail', async () => {
    async function* rows(): AsyncGenerator<unknown[]> {
      yield [1];
      throw new Error('cursor lost');
    }
    const out = new Writable({ write: (_c, _e, done) => done() });
    await expect(writeXlsx(['a'], rows(), out)).rejects.toThrow('cursor lost');
    expect(out.destroyed).toBe(true);
  });

  it('fails when the destination breaks', async () => {
    const out = new Writable({ write: (_c, _e, done) => done(new Error('client went away')) });
    async function* rows(): AsyncGenerator<unknown[]> {
      for (let i = 0; i < 1_000_000; i++) yield [i, 'some text'];
    }
    await expect(writeXlsx(['a', 'b'], rows(), out)).rejects.toThrow('client went away');
  });
});
