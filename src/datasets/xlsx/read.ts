import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { Entry, ZipFile } from 'yauzl';
import type { Cell, Row } from 'exceljs';
import { fileRejected } from '../../errors.js';
import { checkColumnCount, checkColumnNames } from '../columns.js';
import { cleanColumnNames } from '../csv-dialect.js';
import { asUploadError, checkArchive, type XlsxLimits } from './archive.js';
import { count } from './units.js';

/**
 * XLSX to NDJSON. Reading is two-staged: the ZIP central directory is checked first without inflating anything
 * (archive.ts), then only the parts exceljs needs for the first worksheet are inflated by yauzl, which enforces the
 * declared sizes, and handed to exceljs's streaming reader as a rebuilt stored ZIP. exceljs is loaded lazily: it
 * takes hundreds of milliseconds to import.
 */

type Scalar = string | number | boolean | null;

const WORKSHEET_PART = /^xl\/worksheets\/sheet(\d+)\.xml$/;
const PROGRESS_EVERY_ROWS = 10_000;

// ---------------------------------------------------------------------------------------------------------------
// The parts exceljs needs, as a stored ZIP stream

type Part = { name: string; entry: Entry } | { name: string; data: Buffer };

const EMPTY_SHARED_STRINGS = Buffer.from(
  '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="0" uniqueCount="0"/>',
);

/**
 * The parts of the first worksheet, in the order that lets exceljs stream the sheet: relationships, workbook,
 * shared strings and styles before it. exceljs spools a sheet to a temporary file when it meets it before the
 * shared strings, so a workbook that has none gets an empty shared-string part. "First" is the lowest-numbered
 * `xl/worksheets/sheetN.xml` part, which is the first tab for files saved by Excel, LibreOffice and exceljs.
 */
function partsToRead(entries: Map<string, Entry>): Part[] {
  let sheet: { n: number; entry: Entry } | undefined;
  for (const [name, entry] of entries) {
    const m = WORKSHEET_PART.exec(name);
    if (m && (!sheet || Number(m[1]) < sheet.n)) sheet = { n: Number(m[1]), entry };
  }
  if (!sheet) throw fileRejected('empty_file', 'The workbook contains no worksheet');
  const rels = entries.get('xl/_rels/workbook.xml.rels');
  const workbook = entries.get('xl/workbook.xml');
  if (!rels || !workbook)
    throw fileRejected('invalid_xlsx', 'The workbook is damaged: it has no list of its worksheets');
  const parts: Part[] = [
    { name: rels.fileName, entry: rels },
    { name: workbook.fileName, entry: workbook },
  ];
  const sharedStrings = entries.get('xl/sharedStrings.xml');
  parts.push(
    sharedStrings
      ? { name: sharedStrings.fileName, entry: sharedStrings }
      : { name: 'xl/sharedStrings.xml', data: EMPTY_SHARED_STRINGS },
  );
  const styles = entries.get('xl/styles.xml');
  if (styles) parts.push({ name: styles.fileName, entry: styles });
  parts.push({ name: sheet.entry.fileName, entry: sheet.entry });
  return parts;
}

function storedHeader(name: string, size: number, crc: number): Buffer {
  const nameBytes = Buffer.from(name, 'utf8');
  const header = Buffer.alloc(30);
  header.writeUInt32LE(0x04034b50, 0); // local file header signature
  header.writeUInt16LE(20, 4); // version needed to extract
  header.writeUInt16LE(0x0800, 6); // UTF-8 names; sizes known up front, so no data descriptor
  header.writeUInt16LE(0, 8); // method: stored
  header.writeUInt32LE(crc >>> 0, 14);
  header.writeUInt32LE(size, 18);
  header.writeUInt32LE(size, 22);
  header.writeUInt16LE(nameBytes.length, 26);
  return Buffer.concat([header, nameBytes]);
}

/** An empty end-of-central-directory record: exceljs's unzipper reads local headers only and stops here. */
const END_OF_ARCHIVE = (() => {
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  return eocd;
})();

/**
 * The parts as a ZIP whose entries are all stored. yauzl inflates each entry from the central directory's offset
 * and fails as soon as it yields more (or fewer) bytes than declared, so the declared sizes checked above bound the
 * work, whatever the local headers or the deflate streams claim, and entries hidden outside the central directory
 * are never seen.
 */
async function* storedZip(zip: ZipFile, parts: Part[]): AsyncGenerator<Buffer> {
  for (const part of parts) {
    if ('data' in part) {
      yield storedHeader(part.name, part.data.length, 0);
      yield part.data;
      continue;
    }
    if (part.entry.uncompressedSize > 0xffffffff)
      throw fileRejected('xlsx_too_large', `The workbook part "${part.name}" is larger than 4 GiB`);
    yield storedHeader(part.name, part.entry.uncompressedSize, part.entry.crc32);
    const content = await zip.openReadStreamPromise(part.entry);
    try {
      for await (const chunk of content) yield chunk as Buffer;
    } finally {
      content.destroy();
    }
  }
  yield END_OF_ARCHIVE;
}

/**
 * Fails pending reads when the input stream breaks. exceljs would otherwise wait forever: it consumes the input
 * through `pipe`, which does not forward errors. One pending promise per read and none kept afterwards (racing a
 * shared never-settling promise would pile up one reaction per row).
 */
class Tripwire {
  private broken: unknown;
  private readonly waiting = new Set<(e: unknown) => void>();

  trip(e: unknown): void {
    this.broken ??= asUploadError(e);
    for (const reject of this.waiting) reject(this.broken);
    this.waiting.clear();
  }

  /** Iterates `source`, turning its failures and the wire's into upload errors. */
  guard<T>(source: AsyncIterable<T>): AsyncIterable<T> {
    return {
      [Symbol.asyncIterator]: () => {
        const iterator = source[Symbol.asyncIterator]();
        return {
          next: () => this.watch(iterator.next()),
          return: async (): Promise<IteratorResult<T>> => {
            iterator.return?.().catch(() => undefined);
            return { done: true, value: undefined };
          },
        };
      },
    };
  }

  private watch<T>(step: Promise<T>): Promise<T> {
    if (this.broken !== undefined) return Promise.reject(this.broken);
    return new Promise<T>((resolve, reject) => {
      this.waiting.add(reject);
      step.then(
        (value) => {
          this.waiting.delete(reject);
          resolve(value);
        },
        (e: unknown) => {
          this.waiting.delete(reject);
          reject(asUploadError(e));
        },
      );
    });
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Cell values

/** exceljs's own test for a date number format (it converts plain cells with it, but not formula results). */
function isDateFormat(format: string | undefined): boolean {
  if (!format) return false;
  return /[ymdhMsb]+/.test(format.replace(/\[[^\]]*]/g, '').replace(/"[^"]*"/g, ''));
}

function isoDate(date: Date): string | null {
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}

/** Excel date serials count days from 1899-12-30 (or 1904-01-01), with no time zone: read as UTC, like exceljs. */
const serialToIso = (serial: number, date1904: boolean): string | null =>
  isoDate(new Date(Math.round((serial - 25569 + (date1904 ? 1462 : 0)) * 86_400_000)));

function scalar(value: unknown, cell: Cell, date1904: boolean): Scalar {
  if (value === null || value === undefined) return null;
  // Producers differ on whether an empty text cell exists at all (exceljs drops it, inline strings keep it).
  if (typeof value === 'string') return value === '' ? null : value;
  if (typeof value === 'boolean') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (value instanceof Date) return isoDate(value);
  if (typeof value !== 'object') return null;
  const v = value as Record<string, unknown>;
  if (Array.isArray(v.richText)) {
    const text = v.richText
      .map((run: unknown) =>
        run && typeof run === 'object' && 'text' in run && typeof run.text === 'string' ? run.text : '',
      )
      .join('');
    return text === '' ? null : text;
  }
  if ('error' in v) return null;
  if ('formula' in v || 'sharedFormula' in v || 'result' in v) {
    // exceljs's streaming reader returns formula results raw: a date-formatted result is still a serial.
    if (typeof v.result === 'number' && Number.isFinite(v.result) && isDateFormat(cell.numFmt))
      return serialToIso(v.result, date1904);
    return scalar(v.result, cell, date1904);
  }
  if ('text' in v) return scalar(v.text, cell, date1904); // hyperlink
  return null;
}

function rowValues(row: Row, date1904: boolean): Scalar[] {
  const values: Scalar[] = new Array<Scalar>(row.cellCount).fill(null);
  row.eachCell((cell, col) => {
    values[col - 1] = scalar(cell.value, cell, date1904);
  });
  return values;
}

const isBlank = (v: Scalar | undefined): boolean =>
  v === null || v === undefined || (typeof v === 'string' && v.trim() === '');

function columnLetters(col: number): string {
  let letters = '';
  for (let n = col; n > 0; n = Math.floor((n - 1) / 26)) letters = String.fromCharCode(65 + ((n - 1) % 26)) + letters;
  return letters;
}

function jsonValue(value: Scalar | undefined): string {
  if (value === null || value === undefined) return 'null';
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

// ---------------------------------------------------------------------------------------------------------------
// NDJSON output

/** A file of lines, written in batches and waiting for 'drain' when the stream asks to. */
class LineFile {
  private readonly out: WriteStream;
  private pending = '';
  private failure: Error | undefined;

  constructor(readonly path: string) {
    this.out = createWriteStream(path);
    this.out.on('error', (e) => {
      this.failure ??= e;
    });
  }

  async write(line: string): Promise<void> {
    this.pending += line;
    if (this.pending.length >= 64 * 1024) await this.flush();
  }

  private async flush(): Promise<void> {
    if (this.failure) throw this.failure;
    const chunk = this.pending;
    this.pending = '';
    if (chunk && !this.out.write(chunk)) await once(this.out, 'drain');
  }

  async close(): Promise<void> {
    await this.flush();
    this.out.end();
    await finished(this.out);
  }

  async discard(): Promise<void> {
    this.out.destroy();
    await finished(this.out).catch(() => undefined);
    await rm(this.path, { force: true });
  }
}

/**
 * Streams the first worksheet into NDJSON at `outPath`: one object per data row, keyed by the header row (the
 * first non-blank row, its names cleaned like a CSV header's). Checks the archive with the same rules as
 * inspectXlsxArchive first. Values: numbers, booleans, strings (rich text and hyperlinks flattened to their text,
 * formulas to their cached result, errors to null), dates as ISO 8601 UTC strings, blanks as null; short rows are
 * padded with null, blank rows skipped, a value right of the header is refused. Stops with 'xlsx_too_large' as
 * soon as maxCells is exceeded. On failure `outPath` is removed.
 */
export async function xlsxToNdjson(
  path: string,
  outPath: string,
  limits: XlsxLimits,
  onProgress?: (rows: number) => void,
): Promise<{ sheet: string; columns: string[]; rows: number }> {
  const archive = await checkArchive(path, limits);
  let source: Readable | undefined;
  let output: LineFile | undefined;
  try {
    const parts = partsToRead(archive.entries);
    const { default: ExcelJS } = await import('exceljs');
    source = Readable.from(storedZip(archive.zip, parts), { objectMode: false });
    const wire = new Tripwire();
    source.once('error', (e) => wire.trip(e));
    const reader = new ExcelJS.stream.xlsx.WorkbookReader(source, {
      sharedStrings: 'cache',
      hyperlinks: 'ignore',
      styles: 'cache', // without styles, date-formatted numbers stay numbers
      worksheets: 'emit',
      entries: 'ignore',
    });
    output = new LineFile(outPath);

    for await (const worksheet of wire.guard(reader)) {
      const named = (worksheet as unknown as { name?: unknown }).name;
      const sheet = typeof named === 'string' ? named : 'Sheet1';
      // Parsed already: xl/workbook.xml comes before the sheet in the stream.
      const properties = (reader as unknown as { properties?: { model?: { date1904?: unknown } } }).properties;
      const date1904 = properties?.model?.date1904 === true;
      let columns: string[] | undefined;
      let keys: string[] = [];
      let headerRow = 0;
      let cells = 0;
      let rows = 0;

      for await (const row of wire.guard(worksheet)) {
        const values = rowValues(row, date1904);
        cells += Math.max(values.length, keys.length);
        if (cells > limits.maxCells) {
          throw fileRejected(
            'xlsx_too_large',
            `The worksheet "${sheet}" has more than ${count(limits.maxCells)} cells (the limit); reading stopped at row ${row.number}`,
          );
        }
        if (values.every(isBlank)) continue;
        if (!columns) {
          let width = values.length;
          while (width > 0 && isBlank(values[width - 1])) width--;
          // The CSV rule, so that both formats name columns alike. Uniqueness must ignore case: DuckDB would
          // otherwise rename "name" after "Name" itself, to "name_1", and a real "name_1" column to "name_1_1".
          columns = cleanColumnNames(values.slice(0, width).map((v) => (v === null ? '' : String(v))));
          if (limits.maxColumns !== undefined) checkColumnCount(columns.length, limits.maxColumns);
          checkColumnNames(columns);
          keys = columns.map((name) => `${JSON.stringify(name)}:`);
          headerRow = row.number;
          continue;
        }
        const beyond = values.findIndex((v, i) => i >= keys.length && !isBlank(v));
        if (beyond >= 0) {
          const ref = `${columnLetters(beyond + 1)}${row.number}`;
          throw fileRejected(
            'invalid_xlsx',
            `Row ${row.number} of worksheet "${sheet}" has a value in cell ${ref}, right of the ${keys.length} columns of the header row ${headerRow}`,
            { row: row.number - headerRow },
          );
        }
        let line = '{';
        for (let i = 0; i < keys.length; i++) line += `${i === 0 ? '' : ','}${keys[i]}${jsonValue(values[i])}`;
        await output.write(`${line}}\n`);
        rows++;
        if (onProgress && rows % PROGRESS_EVERY_ROWS === 0) onProgress(rows);
      }

      if (!columns) throw fileRejected('empty_file', `The worksheet "${sheet}" has no rows`);
      if (rows === 0) throw fileRejected('header_only', `The worksheet "${sheet}" has a header row but no data rows`);
      await output.close();
      return { sheet, columns, rows };
    }
    throw fileRejected('empty_file', 'The workbook contains no worksheet');
  } catch (e) {
    await output?.discard();
    throw e;
  } finally {
    source?.destroy();
    archive.zip.close();
  }
}
