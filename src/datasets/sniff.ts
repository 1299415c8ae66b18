import { fileRejected } from '../errors.js';

// chardet and file-type (with its tokenizer stack, ~300 kB of code) load on the first sniff, not when a process
// starts: the job worker and an API that takes no uploads never need them.
const loadChardet = () => import('chardet').then((m) => m.default);
const loadFileType = () => import('file-type');

/**
 * Recognizes what an uploaded file really is from its first bytes (never from its name alone), its text
 * encoding, and for CSV its dialect and header. Pure functions over a head sample; the full parse is DuckDB's.
 */

export type SourceFormat = 'csv' | 'ndjson' | 'json' | 'parquet' | 'xlsx';
export type TextEncoding = 'utf-8' | 'utf-16le' | 'utf-16be' | 'windows-1252';

export interface Detection {
  format: SourceFormat;
  /** null for binary formats. */
  encoding: TextEncoding | null;
  /** Length of the byte-order mark, which conversion strips. */
  bomBytes: number;
}

/** How much of the file the sniffers look at. */
export const HEAD_BYTES = 256 * 1024;

const EXTENSION_FORMAT: Record<string, SourceFormat> = {
  csv: 'csv',
  tsv: 'csv',
  txt: 'csv',
  tab: 'csv',
  psv: 'csv',
  json: 'json',
  ndjson: 'ndjson',
  jsonl: 'ndjson',
  parquet: 'parquet',
  pq: 'parquet',
  xlsx: 'xlsx',
};

export function extensionFormat(filename: string): SourceFormat | undefined {
  const m = /\.([A-Za-z0-9]+)$/.exec(filename);
  return m ? EXTENSION_FORMAT[m[1]!.toLowerCase()] : undefined;
}

function bomOf(head: Buffer): { encoding: TextEncoding; bytes: number } | null {
  // BOMs first: file-type mistakes a UTF-16LE BOM for audio.
  if (head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) return { encoding: 'utf-8', bytes: 3 };
  if (head[0] === 0xff && head[1] === 0xfe) {
    if (head[2] === 0 && head[3] === 0) return null; // UTF-32LE: not supported, falls through to rejection
    return { encoding: 'utf-16le', bytes: 2 };
  }
  if (head[0] === 0xfe && head[1] === 0xff) return { encoding: 'utf-16be', bytes: 2 };
  return null;
}

/** True when `bytes` is valid UTF-8, allowing a sequence cut off at the end of a partial sample. */
export function isUtf8(bytes: Buffer, partial: boolean): boolean {
  let end = bytes.length;
  if (partial) {
    // Step back over at most 3 continuation bytes and their lead byte, if the last character is cut.
    let i = end - 1;
    let back = 0;
    while (i >= 0 && back < 3 && (bytes[i]! & 0xc0) === 0x80) {
      i--;
      back++;
    }
    if (i >= 0 && bytes[i]! >= 0xc0) end = i;
  }
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(0, end));
    return true;
  } catch {
    return false;
  }
}

const MULTIBYTE_LEGACY = /^(Shift_JIS|EUC-JP|EUC-KR|GB18030|Big5|ISO-2022-.*|UTF-32.*)$/i;

async function detectEncoding(head: Buffer, partial: boolean): Promise<TextEncoding> {
  if (isUtf8(head, partial)) return 'utf-8';
  const guesses = (await loadChardet()).analyse(head);
  const top = guesses[0];
  if (top && MULTIBYTE_LEGACY.test(top.name) && top.confidence >= 50) {
    throw fileRejected(
      'unsupported_encoding',
      `The file looks like ${top.name} text; Weir accepts UTF-8, UTF-16 with a byte-order mark, and Latin-1/Windows-1252. Convert it to UTF-8 and upload again.`,
    );
  }
  // Not UTF-8 and not a recognised multibyte encoding: Windows-1252 is the superset of Latin-1 that
  // spreadsheet exports on Windows use.
  return 'windows-1252';
}

/** 1-based line number of a byte offset in a text sample. */
export function lineAt(text: Buffer | string, offset: number): number {
  let line = 1;
  const s = typeof text === 'string' ? text : text.subarray(0, offset).toString('latin1');
  const end = Math.min(offset, s.length);
  for (let i = 0; i < end; i++) if (s.charCodeAt(i) === 10) line++;
  return line;
}

function checkTextIsText(head: Buffer, encoding: TextEncoding): void {
  if (encoding === 'utf-16le' || encoding === 'utf-16be') return; // NULs are normal there; checked after decoding
  const nul = head.indexOf(0);
  if (nul !== -1) {
    throw fileRejected(
      'binary_content',
      `The file contains a NUL byte on line ${lineAt(head, nul)}: it is binary, not text`,
      { line: lineAt(head, nul) },
    );
  }
  let control = 0;
  for (const b of head) if (b < 0x09 || (b > 0x0d && b < 0x20) || b === 0x7f) control++;
  if (control > head.length * 0.01) {
    throw fileRejected('binary_content', 'The file contains binary data (control characters), not text');
  }
}

/** Decodes a head sample to text (dropping the BOM and a cut-off final character). */
export function decodeHead(head: Buffer, encoding: TextEncoding, bomBytes: number): string {
  return new TextDecoder(encoding).decode(head.subarray(bomBytes), { stream: true });
}

export async function detectFormat(head: Buffer, totalBytes: number, filename: string): Promise<Detection> {
  if (totalBytes === 0) throw fileRejected('empty_file', 'The file is empty (0 bytes)');
  const partial = head.length < totalBytes;
  const byName = extensionFormat(filename);
  const bom = bomOf(head);

  if (!bom) {
    if (head.subarray(0, 4).toString('latin1') === 'PAR1') return { format: 'parquet', encoding: null, bomBytes: 0 };
    if (head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04)
      return { format: 'xlsx', encoding: null, bomBytes: 0 };
    const type = await (await loadFileType()).fileTypeFromBuffer(head);
    if (type) {
      throw fileRejected(
        'unsupported_format',
        `The file content is ${type.mime} (.${type.ext})${byName ? `, not ${byName.toUpperCase()} as its name says` : ''}; Weir accepts CSV/TSV, NDJSON, JSON arrays, Parquet and XLSX`,
      );
    }
    if (byName === 'parquet')
      throw fileRejected(
        'invalid_parquet',
        'The file is named .parquet but does not start with the Parquet magic bytes PAR1',
      );
    if (byName === 'xlsx')
      throw fileRejected('invalid_xlsx', 'The file is named .xlsx but is not a ZIP-based workbook');
  }

  const encoding = bom?.encoding ?? (await detectEncoding(head, partial));
  const bomBytes = bom?.bytes ?? 0;
  checkTextIsText(head, encoding);
  const text = decodeHead(head, encoding, bomBytes);
  if (encoding.startsWith('utf-16') && text.includes('\0')) {
    throw fileRejected(
      'binary_content',
      `The file contains a NUL character on line ${lineAt(text, text.indexOf('\0'))}: it is binary, not text`,
      { line: lineAt(text, text.indexOf('\0')) },
    );
  }
  const first = /\S/.exec(text);
  if (!first) throw fileRejected('empty_file', 'The file contains only whitespace');
  const lead = first[0];
  if (lead === '[') return { format: 'json', encoding, bomBytes };
  if (lead === '{') return { format: 'ndjson', encoding, bomBytes };
  if (byName === 'json' || byName === 'ndjson') {
    throw fileRejected(
      'invalid_json',
      `The file is named .${byName} but does not start with '[' or '{' (found ${JSON.stringify(lead)} on line ${lineAt(text, first.index)})`,
      { line: lineAt(text, first.index) },
    );
  }
  return { format: 'csv', encoding, bomBytes };
}

/**
 * Checks the start of a JSON document that begins with '[': it must be an array of objects.
 * The full parse (and truncation) is DuckDB's.
 */
export function checkJsonArrayHead(text: string): void {
  const m = /^\s*\[\s*(\S)?/.exec(text);
  const next = m?.[1];
  if (next === undefined)
    throw fileRejected('invalid_json', 'The JSON array is truncated right after its opening bracket');
  if (next === ']') throw fileRejected('empty_file', 'The JSON array has no elements');
  if (next !== '{')
    throw fileRejected(
      'invalid_json',
      `The JSON document is an array of ${next === '[' ? 'arrays' : next === '"' ? 'strings' : 'scalars'}, not an array of objects`,
      { row: 1 },
    );
}

/** An NDJSON file has one JSON object per line; a pretty-printed single object is not a dataset. */
export function checkNdjsonHead(text: string, partial: boolean): void {
  const lines = text.split('\n');
  if (partial) lines.pop();
  for (const [i, raw] of lines.entries()) {
    const line = raw.trim();
    if (line === '') continue;
    try {
      const value: unknown = JSON.parse(line);
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        throw fileRejected('invalid_json', `Line ${i + 1} is not a JSON object`, { line: i + 1, row: i + 1 });
      }
    } catch (e) {
      if (e instanceof SyntaxError) {
        const detail =
          i === 0 && line === '{'
            ? 'The file is a single multi-line JSON object, not an array of objects or NDJSON (one object per line)'
            : `Line ${i + 1} is not valid JSON: ${e.message}`;
        throw fileRejected('invalid_json', detail, { line: i + 1 });
      }
      throw e;
    }
  }
}
