import { buildZip, deflated } from './zip.js';
import { DuckDBInstance } from '@duckdb/node-api';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** Test files made on the spot: nothing binary is committed. */

/** A ZIP archive with deflated entries. */
export function makeZip(entries: { name: string; data: Buffer }[]): Buffer {
  return buildZip(entries.map((e) => deflated(e.name, e.data)));
}

/** The 8-byte PNG signature and an IHDR chunk: what file-type needs to say image/png. */
export const PNG = Buffer.concat([
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
  Buffer.from('0000000d49484452000000010000000108060000001f15c489', 'hex'),
  Buffer.alloc(64, 1),
]);

/** An ELF header (x86-64 executable). */
export const ELF = Buffer.concat([
  Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]),
  Buffer.alloc(8),
  Buffer.from([2, 0, 0x3e, 0, 1, 0, 0, 0]),
  Buffer.alloc(100),
]);

/** Runs SQL in a throwaway DuckDB and returns the file it wrote (for Parquet fixtures). */
export async function duckdbFile(sqlFor: (out: string) => string, ext: string): Promise<Buffer> {
  const dir = await mkdtemp(path.join(tmpdir(), 'weir-fixture-'));
  const out = path.join(dir, `f.${ext}`);
  const db = await DuckDBInstance.create(':memory:');
  const c = await db.connect();
  try {
    await c.run(sqlFor(out));
    return await readFile(out);
  } finally {
    c.closeSync();
    db.closeSync();
    await rm(dir, { recursive: true, force: true });
  }
}

/** An XLSX workbook written with exceljs (rows[0] is the header). */
export async function makeXlsx(rows: unknown[][]): Promise<Buffer> {
  const ExcelJS = (await import('exceljs')).default;
  const wb = new ExcelJS.Workbook();
  const ws = wb.addWorksheet('Sheet1');
  for (const r of rows) ws.addRow(r);
  return Buffer.from(await wb.xlsx.writeBuffer());
}
