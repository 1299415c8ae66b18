import { writeFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { inspectXlsxArchive } from './archive.js';
import {
  deflated,
  directoryBomb,
  handWorkbook,
  LIMITS,
  numberRows,
  rejection,
  stored,
  useScratch,
} from './test-support.js';

const tmp = useScratch();
const { file, saveWorkbook, saveZip } = tmp;

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
    expect(err.message).not.toContain(tmp.dir);
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
    const path = await saveZip(directoryBomb());
    const started = performance.now();
    const err = await rejection(inspectXlsxArchive(path, { ...LIMITS, maxUncompressedBytes: 4 * 1024 ** 3 }));
    expect(performance.now() - started).toBeLessThan(1000);
    expect([err.code, err.status]).toEqual(['xlsx_too_large', 413]);
    expect(err.message).toContain('xl/worksheets/sheet1.xml');
    expect(err.message).toContain('32,768 times');
    expect(err.message).toContain('limit is 200');
  });

  it('refuses a real deflate bomb by its ratio', async () => {
    const path = await saveZip([
      ...handWorkbook(numberRows(1, 3)),
      deflated('xl/media/zeros.bin', Buffer.alloc(16 * 1024 ** 2)),
    ]);
    const err = await rejection(inspectXlsxArchive(path, LIMITS));
    expect([err.code, err.status]).toEqual(['xlsx_too_large', 413]);
    expect(err.message).toContain('xl/media/zeros.bin');
  });

  it('refuses more entries than maxEntries', async () => {
    const path = await saveZip([
      ...handWorkbook(numberRows(1, 3)),
      ...Array.from({ length: 10 }, (_, i) => stored(`extra/${i}.txt`, 'x')),
    ]);
    await expect(inspectXlsxArchive(path, { ...LIMITS, maxEntries: 14 })).resolves.toMatchObject({ entries: 14 });
    const err = await rejection(inspectXlsxArchive(path, { ...LIMITS, maxEntries: 13 }));
    expect([err.code, err.status]).toEqual(['xlsx_too_large', 413]);
    expect(err.message).toContain('14 internal files');
    expect(err.message).toContain('limit is 13');
  });

  it('refuses more declared bytes than maxUncompressedBytes', async () => {
    const path = await saveZip(handWorkbook(numberRows(1, 1000)));
    const { uncompressedBytes } = await inspectXlsxArchive(path, LIMITS);
    await expect(
      inspectXlsxArchive(path, { ...LIMITS, maxUncompressedBytes: uncompressedBytes }),
    ).resolves.toBeDefined();
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
