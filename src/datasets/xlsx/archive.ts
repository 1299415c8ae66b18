import yauzl, { type Entry, type ZipFile } from 'yauzl';
import { AppError, fileRejected } from '../../errors.js';
import { bytes, count } from './units.js';

/**
 * The first stage of reading an XLSX upload: the ZIP central directory is checked without inflating anything, so
 * decompression bombs and files that are not workbooks are refused before any work is spent on them.
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
  /** Most header columns (WEIR_MAX_COLUMNS when the ingest reads the sheet); checked as soon as the header row is read. */
  maxColumns?: number;
}

export interface CheckedArchive {
  /** Open, with autoClose off: the caller closes it. */
  zip: ZipFile;
  entries: Map<string, Entry>;
  uncompressedBytes: number;
}

const ENCRYPTED_FLAG = 0x1;

const damaged = (): AppError => fileRejected('invalid_xlsx', 'The workbook is damaged or is not a valid XLSX file');

/** Errors of the file system (missing upload, disk) are ours, not the uploader's: they stay internal errors. */
const isSystemError = (e: unknown): boolean => e instanceof Error && 'syscall' in e;

/** Any failure while reading an upload, as the uploader should see it: our own errors pass, the rest is damage. */
export function asUploadError(e: unknown): unknown {
  if (e instanceof AppError || isSystemError(e)) return e;
  const rejected = damaged();
  Object.defineProperty(rejected, 'cause', { value: e, enumerable: false });
  return rejected;
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
export async function checkArchive(path: string, limits: XlsxLimits): Promise<CheckedArchive> {
  let zip: ZipFile;
  try {
    zip = await openZip(path);
  } catch (e) {
    throw isSystemError(e)
      ? e
      : fileRejected(
          'invalid_xlsx',
          'The file is not an XLSX workbook: it is not a ZIP archive, or its directory is damaged',
        );
  }
  try {
    if (zip.entryCount > limits.maxEntries) {
      throw fileRejected(
        'xlsx_too_large',
        `The workbook contains ${count(zip.entryCount)} internal files; the limit is ${count(limits.maxEntries)}`,
      );
    }
    const entries = new Map<string, Entry>();
    let uncompressed = 0;
    let compressed = 0;
    await eachEntry(zip, (entry) => {
      if (entries.has(entry.fileName)) {
        throw fileRejected('invalid_xlsx', `The workbook is damaged: its part "${entry.fileName}" appears twice`);
      }
      if ((entry.generalPurposeBitFlag & ENCRYPTED_FLAG) !== 0) {
        throw fileRejected(
          'invalid_xlsx',
          'The workbook is encrypted; remove the password protection and upload it again',
        );
      }
      if (entry.uncompressedSize > entry.compressedSize * limits.maxRatio) {
        const ratio =
          entry.compressedSize === 0
            ? 'infinitely'
            : `${count(Math.round(entry.uncompressedSize / entry.compressedSize))} times`;
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
      throw fileRejected(
        'xlsx_too_large',
        `The workbook expands to ${bytes(uncompressed)} when decompressed; the limit is ${bytes(limits.maxUncompressedBytes)}`,
      );
    }
    if (uncompressed > compressed * limits.maxRatio) {
      throw fileRejected(
        'xlsx_too_large',
        `The workbook expands ${count(Math.round(uncompressed / Math.max(compressed, 1)))} times when decompressed; the limit is ${count(limits.maxRatio)} times`,
      );
    }
    for (const required of ['[Content_Types].xml', 'xl/workbook.xml']) {
      if (!entries.has(required)) {
        throw fileRejected(
          'invalid_xlsx',
          `The file is a ZIP archive but not an XLSX workbook: it has no "${required}" part`,
        );
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
export async function inspectXlsxArchive(
  path: string,
  limits: XlsxLimits,
): Promise<{ entries: number; uncompressedBytes: number }> {
  const archive = await checkArchive(path, limits);
  archive.zip.close();
  return { entries: archive.entries.size, uncompressedBytes: archive.uncompressedBytes };
}
