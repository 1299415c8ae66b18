import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ExcelJS from 'exceljs';
import { afterAll, beforeAll } from 'vitest';
import { AppError } from '../../errors.js';
import { buildZip, deflated, stored, type ZipPart } from '../../../test/helpers/zip.js';
import type { XlsxLimits } from './archive.js';

/** Shared by the XLSX unit tests: workbooks made on the spot, including archives no honest library would write. */

export const LIMITS: XlsxLimits = {
  maxEntries: 100,
  maxUncompressedBytes: 64 * 1024 ** 2,
  maxRatio: 200,
  maxCells: 1_000_000,
};

export interface Scratch {
  /** The folder; set once the file's tests start. */
  readonly dir: string;
  /** A new path in the folder. */
  file(name: string): string;
  saveWorkbook(build: (wb: ExcelJS.Workbook) => void): Promise<string>;
  saveZip(parts: ZipPart[]): Promise<string>;
}

/** A temporary folder for the calling test file, made before its tests and removed after them. */
export function useScratch(): Scratch {
  let dir = '';
  let seq = 0;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'weir-xlsx-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const file = (name: string): string => join(dir, `${seq++}-${name}`);
  return {
    get dir() {
      return dir;
    },
    file,
    async saveWorkbook(build) {
      const wb = new ExcelJS.Workbook();
      build(wb);
      const path = file('book.xlsx');
      await wb.xlsx.writeFile(path);
      return path;
    },
    async saveZip(parts) {
      const path = file('hand.xlsx');
      await writeFile(path, buildZip(parts));
      return path;
    },
  };
}

export async function rejection(promise: Promise<unknown>): Promise<AppError> {
  const outcome = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(outcome instanceof AppError))
    throw new Error(`expected an AppError, got ${outcome instanceof Error ? outcome.stack : String(outcome)}`);
  return outcome;
}

export async function readLines(path: string): Promise<unknown[]> {
  const text = await readFile(path, 'utf8');
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as unknown);
}

// The hand-made ZIP writer lives with the other test helpers; the XLSX tests use it through here.
export { buildZip, deflated, stored, type ZipPart };

const MAIN_NS = 'http://schemas.openxmlformats.org/spreadsheetml/2006/main';

/** The smallest workbook exceljs reads: one sheet named "Hand" whose <sheetData> is `sheetData`. */
export function handWorkbook(
  sheetData: string | Buffer,
  sheetPart: (name: string, xml: Buffer) => ZipPart = deflated,
): ZipPart[] {
  const sheet = Buffer.concat([
    Buffer.from(`<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="${MAIN_NS}"><sheetData>`),
    Buffer.from(sheetData),
    Buffer.from('</sheetData></worksheet>'),
  ]);
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
export function numberRows(from: number, to: number): string {
  let xml = '';
  for (let r = from; r <= to; r++) xml += `<row r="${r}"><c r="A${r}"><v>${r}</v></c></row>`;
  return xml;
}

/**
 * A ratio bomb the directory alone gives away: the sheet claims 2 GiB from 64 KiB that is not even valid deflate
 * data, so a check that inflated it would fail with another error.
 */
export function directoryBomb(): ZipPart[] {
  const parts = handWorkbook(numberRows(1, 3));
  parts[3] = { name: 'xl/worksheets/sheet1.xml', body: Buffer.alloc(64 * 1024, 0x55), method: 8, size: 2 * 1024 ** 3 };
  return parts;
}
