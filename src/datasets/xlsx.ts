import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { PassThrough, Readable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { setImmediate as nextMacrotask } from 'node:timers/promises';
import yauzl, { type Entry, type ZipFile } from 'yauzl';
import type { Cell, Row } from 'exceljs';
import { AppError, fileRejected } from '../errors.js';

/**
 * XLSX in and out. Reading is two-staged: the ZIP central directory is checked first without inflating anything
 * (decompression bombs, non-workbooks), then only the parts exceljs needs for the first worksheet are inflated by
 * yauzl, which enforces the declared sizes, and handed to exceljs's streaming reader as a rebuilt stored ZIP.
 * exceljs is loaded lazily: it takes hundreds of milliseconds to import.
 */

export interface XlsxLimits {
  /** Most entries in the ZIP central directory. */
  maxEntries: number;
  /** Most total declared uncompressed bytes of all entries. */
  maxUncompressedBytes: number;
  /** Highest uncompressed/compressed ratio of any entry, and of the whole archive. */
  maxRatio: number;
  /** Most cells read from the sheet; every row after the header counts at least the header's width. */
  maxCells: number;
}

type Scalar = string | number | boolean | null;

const ENCRYPTED_FLAG = 0x1;
const WORKSHEET_PART = /^xl\/worksheets\/sheet(\d+)\.xml$/;
const PROGRESS_EVERY_ROWS = 10_000;
/** Excel's own grid limits; a bigger export would open truncated or not at all. */
const EXCEL_MAX_ROWS = 1_048_576;
const EXCEL_MAX_COLUMNS = 16_384;

const damaged = (): AppError => fileRejected('invalid_xlsx', 'The workbook is damaged or is not a valid XLSX file');

/** Errors of the file system (missing upload, disk) are ours, not the uploader's: they stay internal errors. */
const isSystemError = (e: unknown): boolean => e instanceof Error && 'syscall' in e;

function asUploadError(e: unknown): unknown {
  if (e instanceof AppError || isSystemError(e)) return e;
  const rejected = damaged();
  Object.defineProperty(rejected, 'cause', { value: e, enumerable: false });
  return rejected;
}

const count = (n: number): string => n.toLocaleString('en-US');

function bytes(n: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${n} bytes` : `${value.toFixed(1)} ${units[unit]}`;
}

// ---------------------------------------------------------------------------------------------------------------
// Archive checks

interface CheckedArchive {
  zip: ZipFile;
  entries: Map<string, Entry>;
  uncompressedBytes: number;
}

function openZip(path: string): Promise<ZipFile> {
  return new Promise((resolve, reject) => {
    // autoClose is off so that xlsxToNdjson can read from the handle it checked; callers close it.
    yauzl.open(path, { lazyEntries: true, autoClose: false }, (err, zip) => (err ? reject(err) : resolve(zip)));
  });
}

function eachEntry(zip: ZipFile, visit: (entry: Entry) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    zip.on('entry', (entry: Entry) => {
      try {
        visit(entry);
        zip.readEntry();
      } catch (e) {
        reject(e);
      }
    });
    zip.once('end', () => resolve());
    zip.once('error', reject);
    zip.readEntry();
  });
}

/** Reads the central directory only; the returned handle is open and the caller must close it. */
async function checkArchive(path: string, limits: XlsxLimits): Promise<CheckedArchive> {
  let zip: ZipFile;
  try {
    zip = await openZip(path);
  } catch (e) {
    throw isSystemError(e) ? e : fileRejected('invalid_xlsx', 'The file is not an XLSX workbook: it is not a ZIP archive, or its directory is damaged');
  }
  try {
    if (zip.entryCount > limits.maxEntries) {
      throw fileRejected('xlsx_too_large', `The workbook contains ${count(zip.entryCount)} internal files; the limit is ${count(limits.maxEntries)}`);
    }
    const entries = new Map<string, Entry>();
    let uncompressed = 0;
    let compressed = 0;
    await eachEntry(zip, (entry) => {
      if (entries.has(entry.fileName)) {
        throw fileRejected('invalid_xlsx', `The workbook is damaged: its part "${entry.fileName}" appears twice`);
      }
      if ((entry.generalPurposeBitFlag & ENCRYPTED_FLAG) !== 0) {
        throw fileRejected('invalid_xlsx', 'The workbook is encrypted; remove the password protection and upload it again');
      }
      if (entry.uncompressedSize > entry.compressedSize * limits.maxRatio) {
        const ratio = entry.compressedSize === 0 ? 'infinitely' : `${count(Math.round(entry.uncompressedSize / entry.compressedSize))} times`;
        throw fileRejected(
          'xlsx_too_large',
          `The workbook part "${entry.fileName}" expands ${ratio} (${bytes(entry.compressedSize)} to ${bytes(entry.uncompressedSize)}); ` +
            `the limit is ${count(limits.maxRatio)} times. The file looks like a decompression bomb`,
        );
      }
      entries.set(entry.fileName, entry);
      uncompressed += entry.uncompressedSize;
      compressed += entry.compressedSize;
    });
    if (uncompressed > limits.maxUncompressedBytes) {
      throw fileRejected('xlsx_too_large', `The workbook expands to ${bytes(uncompressed)} when decompressed; the limit is ${bytes(limits.maxUncompressedBytes)}`);
    }
    if (uncompressed > compressed * limits.maxRatio) {
      throw fileRejected(
        'xlsx_too_large',
        `The workbook expands ${count(Math.round(uncompressed / Math.max(compressed, 1)))} times when decompressed; the limit is ${count(limits.maxRatio)} times`,
      );
    }
    for (const required of ['[Content_Types].xml', 'xl/workbook.xml']) {
      if (!entries.has(required)) {
        throw fileRejected('invalid_xlsx', `The file is a ZIP archive but not an XLSX workbook: it has no "${required}" part`);
      }
    }
    return { zip, entries, uncompressedBytes: uncompressed };
  } catch (e) {
    zip.close();
    throw asUploadError(e);
  }
}

/**
 * Reads ONLY the ZIP central directory (nothing is inflated) and refuses decompression bombs and non-workbooks:
 * requires `[Content_Types].xml` and `xl/workbook.xml`, enforces maxEntries, maxUncompressedBytes and maxRatio
 * (per entry and overall), rejects encrypted and duplicate entries. Throws AppError ('invalid_xlsx',
 * 'xlsx_too_large'); file-system errors are rethrown as they are.
 */
export async function inspectXlsxArchive(path: string, limits: XlsxLimits): Promise<{ entries: number; uncompressedBytes: number }> {
  const archive = await checkArchive(path, limits);
  archive.zip.close();
  return { entries: archive.entries.size, uncompressedBytes: archive.uncompressedBytes };
}

// ---------------------------------------------------------------------------------------------------------------
// Reading: the parts exceljs needs, as a stored ZIP stream

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
  if (!rels || !workbook) throw fileRejected('invalid_xlsx', 'The workbook is damaged: it has no list of its worksheets');
  const parts: Part[] = [{ name: rels.fileName, entry: rels }, { name: workbook.fileName, entry: workbook }];
  const sharedStrings = entries.get('xl/sharedStrings.xml');
  parts.push(sharedStrings ? { name: sharedStrings.fileName, entry: sharedStrings } : { name: 'xl/sharedStrings.xml', data: EMPTY_SHARED_STRINGS });
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
    if (part.entry.uncompressedSize > 0xffffffff) throw fileRejected('xlsx_too_large', `The workbook part "${part.name}" is larger than 4 GiB`);
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
// Reading: cell values

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
    const text = v.richText.map((run: unknown) => (run && typeof run === 'object' && 'text' in run && typeof run.text === 'string' ? run.text : '')).join('');
    return text === '' ? null : text;
  }
  if ('error' in v) return null;
  if ('formula' in v || 'sharedFormula' in v || 'result' in v) {
    // exceljs's streaming reader returns formula results raw: a date-formatted result is still a serial.
    if (typeof v.result === 'number' && Number.isFinite(v.result) && isDateFormat(cell.numFmt)) return serialToIso(v.result, date1904);
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

const isBlank = (v: Scalar | undefined): boolean => v === null || v === undefined || (typeof v === 'string' && v.trim() === '');

function columnLetters(col: number): string {
  let letters = '';
  for (let n = col; n > 0; n = Math.floor((n - 1) / 26)) letters = String.fromCharCode(65 + ((n - 1) % 26)) + letters;
  return letters;
}

/** Column names from the header row: blanks become `column_<n>`, repeats get `_2`, `_3`, … until unique. */
function headerNames(values: Scalar[]): string[] {
  const taken = new Set<string>();
  return values.map((value, i) => {
    const base = isBlank(value) ? `column_${i + 1}` : String(value);
    let name = base;
    for (let k = 2; taken.has(name); k++) name = `${base}_${k}`;
    taken.add(name);
    return name;
  });
}

function jsonValue(value: Scalar | undefined): string {
  if (value === null || value === undefined) return 'null';
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

// ---------------------------------------------------------------------------------------------------------------
// Reading: NDJSON output

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
 * first non-blank row). Checks the archive with the same rules as inspectXlsxArchive first. Values: numbers,
 * booleans, strings (rich text and hyperlinks flattened to their text, formulas to their cached result, errors to
 * null), dates as ISO 8601 UTC strings, blanks as null; short rows are padded with null, blank rows skipped, a
 * value right of the header is refused. Stops with 'xlsx_too_large' as soon as maxCells is exceeded. On failure
 * `outPath` is removed.
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
          columns = headerNames(values.slice(0, width));
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

// ---------------------------------------------------------------------------------------------------------------
// Writing

/** Characters that make a spreadsheet read text as a formula (OWASP "CSV injection"). */
const FORMULA_TRIGGERS = new Set(['=', '+', '-', '@', '\t', '\r']);

const neutralized = (text: string): string => (FORMULA_TRIGGERS.has(text.charAt(0)) ? `'${text}` : text);

type CellOut = string | number | boolean | Date | null;

/**
 * Only plain values reach exceljs: it would write an object such as `{ formula: '…' }` as a live formula. Values
 * outside the documented types degrade to text; non-finite numbers and invalid dates, which a cell cannot hold,
 * become empty cells.
 */
function cellOut(value: unknown): CellOut {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string') return neutralized(value);
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value;
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  return neutralized(typeof value === 'object' ? JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) : String(value));
}

/** How often the writer yields to the event loop so that downstream congestion becomes visible. */
const FLOW_CHECK_ROWS = 256;

/**
 * Writes a one-sheet workbook (sheet "data": header row of `columns`, then `rows`) to `out` with exceljs's
 * streaming writer, committing each row. Text that starts with = + - @ tab or CR gets a leading `'` so that it
 * cannot run as a formula; numbers are untouched. exceljs ignores backpressure internally, so production pauses
 * while the stream towards `out` is congested. Resolves once `out` has finished; on failure `out` is destroyed.
 */
export async function writeXlsx(columns: string[], rows: AsyncIterable<unknown[]>, out: NodeJS.WritableStream): Promise<void> {
  if (columns.length > EXCEL_MAX_COLUMNS) {
    throw new AppError(422, 'export_too_large', `XLSX holds at most ${count(EXCEL_MAX_COLUMNS)} columns; the dataset has ${count(columns.length)}`);
  }
  const { default: ExcelJS } = await import('exceljs');
  const tap = new PassThrough();
  const delivered = pipeline(tap, out);
  // Aborted with the error when delivery to `out` fails, so that no wait below can outlive a dead destination.
  const delivery = new AbortController();
  delivered.catch((e: unknown) => delivery.abort(e));

  try {
    const workbook = new ExcelJS.stream.xlsx.WorkbookWriter({ stream: tap, useStyles: false, useSharedStrings: false });
    const sheet = workbook.addWorksheet('data');
    sheet.addRow(columns.map(neutralized)).commit();
    let n = 0;
    for await (const values of rows) {
      delivery.signal.throwIfAborted();
      n++;
      if (values.length > columns.length) throw new Error(`writeXlsx: row ${n} has ${values.length} values for ${columns.length} columns`);
      if (n >= EXCEL_MAX_ROWS) {
        throw new AppError(422, 'export_too_large', `XLSX holds at most ${count(EXCEL_MAX_ROWS - 1)} data rows; the dataset has more`);
      }
      // Array.from: a sparse array starting with a hole would shift every value one column to the left in exceljs.
      sheet.addRow(Array.from(values, cellOut)).commit();
      if (n % FLOW_CHECK_ROWS === 0) {
        await nextMacrotask();
        while (tap.writableNeedDrain) await once(tap, 'drain', { signal: delivery.signal });
      }
    }
    sheet.commit();
    await Promise.race([workbook.commit(), delivered]);
    await delivered;
  } catch (e) {
    tap.destroy(e instanceof Error ? e : new Error(String(e)));
    await delivered.catch(() => undefined);
    throw delivery.signal.aborted ? delivery.signal.reason : e;
  }
}
