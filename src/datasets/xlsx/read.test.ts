import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { inspectXlsxArchive } from './archive.js';
import { xlsxToNdjson } from './read.js';
import { directoryBomb, handWorkbook, LIMITS, numberRows, readLines, rejection, useScratch } from './test-support.js';

const tmp = useScratch();
const { file, saveWorkbook, saveZip } = tmp;

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

    const columns = [
      'id',
      'name',
      'column_3',
      'name_2',
      'name_3',
      'when',
      'ok',
      'rich',
      'calc',
      'link',
      'err',
      'due',
      'label',
    ];
    expect(result).toEqual({ sheet: 'People', columns, rows: 3 });
    const nulls = (n: number): null[] => new Array<null>(n).fill(null);
    expect(await readLines(out)).toEqual([
      Object.fromEntries(
        columns.map((c, i) => [
          c,
          [
            1,
            'Alice',
            'x',
            'a2',
            'a3',
            '2024-01-01T00:00:00.000Z',
            true,
            'Hello World',
            2,
            'Weir',
            null,
            '2024-01-02T00:00:00.000Z',
            'Alice!',
          ][i],
        ]),
      ),
      Object.fromEntries(columns.map((c, i) => [c, [2, 'Bob', ...nulls(11)][i]])),
      Object.fromEntries(
        columns.map((c, i) => [c, [-3.25, null, null, null, null, '2024-06-15T13:45:30.123Z', false, ...nulls(6)][i]]),
      ),
    ]);
  });

  it('names columns like a CSV header: trimmed, and unique whatever their case', async () => {
    const path = await saveWorkbook((wb) => {
      const ws = wb.addWorksheet('S');
      ws.addRow(['Name', 'name', ' id ', '  ', 'NAME', 'name_2', 7]);
      ws.addRow([1, 2, 3, 4, 5, 6, 7]);
    });
    const result = await xlsxToNdjson(path, file('out.ndjson'), LIMITS);
    expect(result.columns).toEqual(['Name', 'name_2', 'id', 'column_4', 'NAME_3', 'name_2_2', '7']);
  });

  it('takes the first non-blank row as the header and reports progress every 10,000 rows', async () => {
    const path = await saveZip(
      handWorkbook(
        `<row r="1"><c r="A1" s="0"/></row><row r="2"><c r="A2" t="inlineStr"><is><t>n</t></is></c></row>${numberRows(3, 25_002)}`,
      ),
    );
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
    await expect(xlsxToNdjson(path, file('out.ndjson'), { ...LIMITS, maxCells: 100 })).resolves.toMatchObject({
      rows: 99,
    });
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
    expect(err.message).not.toContain(tmp.dir);
  });

  it('checks the archive before reading it', async () => {
    const path = await saveWorkbook((wb) => wb.addWorksheet('S').addRows([['a'], [1]]));
    const out = file('out.ndjson');
    const err = await rejection(xlsxToNdjson(path, out, { ...LIMITS, maxEntries: 2 }));
    expect([err.code, err.status]).toEqual(['xlsx_too_large', 413]);
    expect(existsSync(out)).toBe(false);
  });

  it('refuses a ratio bomb from the directory, leaving no output', async () => {
    const out = file('out.ndjson');
    const err = await rejection(xlsxToNdjson(await saveZip(directoryBomb()), out, LIMITS));
    expect(err.code).toBe('xlsx_too_large');
    expect(existsSync(out)).toBe(false);
  });
});
