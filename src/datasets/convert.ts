import { createReadStream, createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { IngestLimitsConfig, XlsxLimitsConfig } from '../config.js';
import type { Engine } from '../engine/duckdb.js';
import { parquetSchema } from '../engine/profile.js';
import { withQueryProgress } from '../engine/query-progress.js';
import { ident, literal, type ColumnSchema } from '../engine/sql.js';
import type { Scratch } from '../blobs/scratch.js';
import { AppError, fileRejected } from '../errors.js';
import { checkColumnCount, checkColumnNames, rowGroupRows } from './columns.js';
import { holdsRecords, sniffCsvDialect, type CsvDialect } from './csv-dialect.js';
import { thousandsNumberSql, thousandsParseableSql } from './decimal-comma.js';
import {
  HEAD_BYTES,
  checkJsonArrayHead,
  checkNdjsonHead,
  decodeHead,
  detectFormat,
  lineAt,
  type Detection,
  type TextEncoding,
} from './sniff.js';
import { readFileHead, type ReceivedFile } from './receive.js';

/**
 * Turns a received file into the canonical Parquet file of a dataset version: detect, validate, transcode to
 * UTF-8 where needed, then let DuckDB parse the whole file (strictly, with the sniffed dialect) and write
 * Parquet. Every failure is a 4xx AppError naming the reason and, where DuckDB gives one, the line.
 */

export interface ConvertedVersion {
  parquetPath: string;
  detection: Detection;
  csv: CsvDialect | null;
  schema: ColumnSchema[];
  rowCount: number;
}

export interface ConvertOptions {
  engine: Engine;
  scratch: Scratch;
  xlsx: XlsxLimitsConfig;
  /** WEIR_MAX_COLUMNS and WEIR_CSV_MAX_LINE_BYTES. */
  limits: IngestLimitsConfig;
  /** Progress of the conversion itself, 0–100 (the caller maps it into its own share). */
  onProgress?: (percent: number, message: string) => void;
  /** Stops the conversion (DuckDB queries are interrupted); the call then rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** Row groups shrink with the width of the file, so that one group of a wide file fits DuckDB's memory limit. */
const parquetOptions = (columns: number) =>
  `(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE ${rowGroupRows(columns)})`;

/** Records DuckDB's JSON reader samples to guess the columns and their types (its `sample_size` default). */
const JSON_SAMPLE_RECORDS = 20_480;

/** The share of the conversion's progress a transcoding to UTF-8 takes (it reads and writes the file once, as the COPY reads it once). */
const TRANSCODED = 20;

export async function convertToParquet(file: ReceivedFile, options: ConvertOptions): Promise<ConvertedVersion> {
  const { engine, scratch, signal, limits } = options;
  const progress = options.onProgress ?? (() => {});
  const detection = await detectFormat(file.head, file.bytes, file.filename);
  const partial = file.head.length < file.bytes;
  const temps: string[] = [];
  const parquetPath = scratch.file('.parquet');
  try {
    let source = file.path;
    if (detection.encoding) {
      if (detection.encoding === 'utf-8' || detection.encoding === 'windows-1252') {
        if (file.firstNul !== -1) {
          const line = await lineOfOffset(file.path, file.firstNul);
          throw fileRejected('binary_content', `The file contains a NUL byte on line ${line}: it is binary, not text`, {
            line,
          });
        }
      }
      if (detection.encoding !== 'utf-8' || detection.bomBytes > 0) {
        const message = `converting ${detection.encoding} to UTF-8`;
        progress(0, message);
        source = scratch.file('.utf8');
        temps.push(source);
        await transcodeToUtf8(file.path, source, detection, signal, (bytes) =>
          progress((TRANSCODED * bytes) / Math.max(file.bytes, 1), message),
        );
      }
    }

    let csv: CsvDialect | null = null;
    let sourceSql: (fullTypeScan: boolean) => string;
    /** The column count once known, before any copy: it sizes the row groups. */
    let columns: number;
    const text = detection.encoding ? decodeHead(file.head, detection.encoding, detection.bomBytes) : '';
    switch (detection.format) {
      case 'csv': {
        // A transcoded source is UTF-8 without a BOM; the head sample is still the original bytes.
        const sample = await csvSniffSample(
          text,
          partial,
          source === file.path ? detection : { encoding: 'utf-8', bomBytes: 0 },
          source,
          limits.csvMaxLineBytes,
        );
        const dialect = sniffCsvDialect(sample.text, sample.complete, limits.maxColumns);
        if (dialect.header) checkColumnNames(dialect.columns, { line: 1 });
        csv = dialect;
        columns = dialect.columns.length;
        // `csv`, not `dialect`: the full type scan may take columns out of its thousands columns.
        sourceSql = (full) => csvSource(source, csv ?? dialect, limits.csvMaxLineBytes, full);
        break;
      }
      case 'json':
        checkJsonArrayHead(text);
        columns = await checkJsonKeys(engine, source, 'array', limits.maxColumns, signal);
        sourceSql = (full) => jsonSource(source, 'array', limits.maxColumns, full);
        break;
      case 'ndjson':
        checkNdjsonHead(text, partial);
        columns = await checkJsonKeys(engine, source, 'newline_delimited', limits.maxColumns, signal);
        sourceSql = (full) => jsonSource(source, 'newline_delimited', limits.maxColumns, full);
        break;
      case 'parquet':
        await checkParquetFooter(file.path, file.bytes);
        columns = await checkParquetColumns(engine, source, limits.maxColumns, signal);
        sourceSql = () => `read_parquet(${literal(source)})`;
        break;
      case 'xlsx': {
        progress(0, 'reading workbook');
        const { xlsxToNdjson } = await import('./xlsx/read.js');
        const ndjson = scratch.file('.ndjson');
        temps.push(ndjson);
        columns = (await xlsxToNdjson(file.path, ndjson, { ...options.xlsx, maxColumns: limits.maxColumns })).columns
          .length;
        // The workbook reader takes no signal; an abort during it is honoured as soon as it returns.
        signal?.throwIfAborted();
        source = ndjson;
        sourceSql = (full) => jsonSource(ndjson, 'newline_delimited', limits.maxColumns, full);
        break;
      }
    }

    // DuckDB's estimate of the COPY, mapped into what is left of the conversion: after a transcoding, and after
    // the first attempt for the full type scan (so the bar does not sit where the first attempt stopped).
    let reached = source === file.path ? 0 : TRANSCODED;
    const copyProgress = (message: string) => {
      const from = reached;
      progress(from, message);
      return (percent: number) => {
        reached = from + ((100 - from) * percent) / 100;
        progress(reached, message);
      };
    };
    let rowCount: number;
    try {
      rowCount = await copyToParquet(
        engine,
        sourceSql(false),
        parquetPath,
        columns,
        signal,
        copyProgress('converting to Parquet'),
      );
    } catch (e) {
      // Types are guessed from a sample; a value later in the file that does not fit the guess is not an
      // invalid file. Scan every row for the types instead (slower, so only when needed).
      if (signal?.aborted || !isConversionError(e)) throw e;
      const rescan = copyProgress('a value did not fit the sampled types; scanning all rows for types');
      // Dot-grouped numbers were converted by a pattern: the columns with a value it does not take stay text.
      if (csv && csv.thousandsColumns.length > 0)
        csv = await keepConvertibleThousands(engine, source, csv, limits.csvMaxLineBytes, signal);
      // Every record's keys count now, not the sample's: refuse more than the cap before DuckDB reads them as one MAP.
      if (detection.format === 'json' || detection.format === 'ndjson') {
        columns = await checkJsonKeys(
          engine,
          source,
          detection.format === 'json' ? 'array' : 'newline_delimited',
          limits.maxColumns,
          signal,
          null,
        );
      }
      rowCount = await copyToParquet(engine, sourceSql(true), parquetPath, columns, signal, rescan);
    }
    if (rowCount === 0) {
      if (csv?.header)
        throw fileRejected(
          'header_only',
          `The file has a header row (${csv.columns.length} columns) but no data rows`,
          { line: 1 },
        );
      throw fileRejected('empty_file', 'The file has no data rows');
    }
    const schema = await parquetSchema(engine, parquetPath, signal);
    return { parquetPath, detection, csv, schema, rowCount };
  } catch (e) {
    await scratch.remove(parquetPath);
    // An aborted conversion says nothing about the file: never turn it into a refusal (which would also
    // delete the upload a retry needs).
    if (signal?.aborted) throw signal.reason;
    throw asFileError(e, [file.path, ...temps, parquetPath], file.filename, detection.format, limits.csvMaxLineBytes);
  } finally {
    await scratch.remove(...temps);
  }
}

/**
 * DuckDB sizes its CSV read buffer at 16 lines of `max_line_size` per thread by default: 256 MiB each for a 16 MiB
 * limit. Two lines' worth is what a line crossing a buffer boundary needs, and fits the memory limit.
 */
function csvSource(file: string, d: CsvDialect, maxLineBytes: number, fullTypeScan: boolean): string {
  const types = d.thousandsColumns.map((name) => `${literal(name)}: 'VARCHAR'`);
  const read = csvRead(
    file,
    d,
    maxLineBytes,
    `${types.length > 0 ? `, types = {${types.join(', ')}}` : ''}${fullTypeScan ? ', sample_size = -1' : ''}`,
  );
  if (d.thousandsColumns.length === 0) return read;
  return `(SELECT * REPLACE (${d.thousandsColumns.map((name) => `${thousandsNumberSql(name)} AS ${ident(name)}`).join(', ')}) FROM ${read})`;
}

function csvRead(file: string, d: CsvDialect, maxLineBytes: number, extra: string): string {
  const names = `[${d.columns.map(literal).join(', ')}]`;
  return (
    `read_csv(${literal(file)}, delim = ${literal(d.delimiter)}, quote = ${literal(d.quote)}, escape = ${literal(d.escape)}, ` +
    `header = ${d.header}, names = ${names}, strict_mode = true, null_padding = false, encoding = 'utf-8', ` +
    `max_line_size = ${maxLineBytes}, buffer_size = ${2 * maxLineBytes}${d.decimal === ',' ? ", decimal_separator = ','" : ''}${extra})`
  );
}

/** The dialect with only the thousands columns whose every value (not only the sampled ones) converts; one scan. */
async function keepConvertibleThousands(
  engine: Engine,
  file: string,
  d: CsvDialect,
  maxLineBytes: number,
  signal: AbortSignal | undefined,
): Promise<CsvDialect> {
  const checks = d.thousandsColumns.map((name, i) => `${thousandsParseableSql(name)} AS "t${i}"`);
  const [row = {}] = await engine.all(
    `SELECT ${checks.join(', ')} FROM ${csvRead(file, d, maxLineBytes, ', all_varchar = true')}`,
    undefined,
    signal,
  );
  return { ...d, thousandsColumns: d.thousandsColumns.filter((_, i) => row[`t${i}`] === true) };
}

/**
 * DuckDB reads an object with `map_inference_threshold` keys or more as one MAP value instead of columns (default
 * 200, which refused wide but valid files as "not an object"): above the column cap, where checkJsonKeys refuses
 * the file first anyway.
 */
function jsonSource(
  file: string,
  format: 'array' | 'newline_delimited',
  maxColumns: number,
  fullTypeScan: boolean,
): string {
  return `read_json(${literal(file)}, format = '${format}', records = 'true', map_inference_threshold = ${maxColumns + 1}${fullTypeScan ? ', sample_size = -1' : ''})`;
}

/**
 * The distinct top-level keys of the objects DuckDB will take the columns from (its detection sample, or every
 * record when `records` is null): a 422 when there are more than `maxColumns` or a name holds a control character.
 * Each object is read as raw JSON, so this costs a fraction of the column detection it spares (a third of a second
 * for 100,000 keys, where detecting them as columns takes half a minute). Answers the number of keys.
 */
async function checkJsonKeys(
  engine: Engine,
  file: string,
  format: 'array' | 'newline_delimited',
  maxColumns: number,
  signal: AbortSignal | undefined,
  records: number | null = JSON_SAMPLE_RECORDS,
): Promise<number> {
  const objects = `SELECT json FROM read_json(${literal(file)}, format = '${format}', records = 'false', columns = {json: 'JSON'})${records === null ? '' : ` LIMIT ${records}`}`;
  const keys = `SELECT DISTINCT unnest(json_keys(json)) AS k FROM (${objects})`;
  const names = await engine.withConnection(
    async (c) => (await c.runAndReadAll(`${keys} LIMIT ${maxColumns + 1}`)).getColumnsJS()[0] ?? [],
    signal,
  );
  if (names.length > maxColumns) {
    const count = await engine.withConnection(
      async (c) => Number((await c.runAndReadAll(`SELECT count(*) FROM (${keys})`)).getColumnsJS()[0]?.[0]),
      signal,
    );
    checkColumnCount(count, maxColumns);
  }
  checkColumnNames(names.map(String));
  return names.length;
}

/** A Parquet file's top-level columns, from its footer: the count within `maxColumns`, the names without control characters. */
async function checkParquetColumns(
  engine: Engine,
  file: string,
  maxColumns: number,
  signal: AbortSignal | undefined,
): Promise<number> {
  const names = await engine.withConnection(
    async (c) =>
      (
        await c.runAndReadAll(`SELECT column_name FROM (DESCRIBE SELECT * FROM read_parquet(${literal(file)}))`)
      ).getColumnsJS()[0] ?? [],
    signal,
  );
  checkColumnCount(names.length, maxColumns);
  checkColumnNames(names.map(String));
  return names.length;
}

/**
 * The text the CSV sniffer reads: the head sample, or more of the file when the head does not hold the first two
 * records (a header and a row, either longer than the sample). It grows fourfold up to two lines of the line limit;
 * a first record that does not end within that is longer than the limit.
 */
async function csvSniffSample(
  headText: string,
  partial: boolean,
  decoding: { encoding: TextEncoding | null; bomBytes: number },
  path: string,
  maxLineBytes: number,
): Promise<{ text: string; complete: boolean }> {
  if (!partial || holdsRecords(headText, 2)) return { text: headText, complete: !partial };
  const { size } = await fs.stat(path);
  const limit = decoding.bomBytes + 2 * maxLineBytes;
  for (let bytes = HEAD_BYTES * 4; ; bytes *= 4) {
    const sample = await readFileHead(path, Math.min(bytes, limit, size));
    const text = decodeHead(sample, decoding.encoding ?? 'utf-8', decoding.bomBytes);
    if (sample.length >= size) return { text, complete: true };
    if (holdsRecords(text, 2)) return { text, complete: false };
    if (sample.length >= limit) {
      if (holdsRecords(text, 1)) return { text, complete: false };
      throw lineTooLong(maxLineBytes, { line: 1 });
    }
  }
}

/** A 422 naming the line (when the sniffer found it) or the size DuckDB measured, and the setting. */
function lineTooLong(maxLineBytes: number, at: { line: number } | { bytes: number }): AppError {
  const what = 'line' in at ? `Line ${at.line} is longer than` : `A line of the file is ${at.bytes} bytes long, over`;
  return fileRejected(
    'line_too_long',
    `${what} the limit of ${maxLineBytes} bytes (WEIR_CSV_MAX_LINE_BYTES): shorten its fields, or have the limit raised`,
    'line' in at ? { line: at.line } : {},
  );
}

async function copyToParquet(
  engine: Engine,
  sourceSql: string,
  out: string,
  columns: number,
  signal: AbortSignal | undefined,
  onPercent: (percent: number) => void,
): Promise<number> {
  return engine.withConnection(
    (c) =>
      withQueryProgress(c, onPercent, async () => {
        // An abort while the progress settings ran interrupted them, not the COPY.
        signal?.throwIfAborted();
        const result = await c.run(`COPY (SELECT * FROM ${sourceSql}) TO ${literal(out)} ${parquetOptions(columns)}`);
        return result.rowsChanged;
      }),
    signal,
  );
}

async function checkParquetFooter(path: string, bytes: number): Promise<void> {
  if (bytes < 12) throw fileRejected('invalid_parquet', `The Parquet file is truncated (${bytes} bytes)`);
  const handle = await fs.open(path, 'r');
  try {
    const tail = Buffer.alloc(4);
    await handle.read(tail, 0, 4, bytes - 4);
    if (tail.toString('latin1') !== 'PAR1') {
      throw fileRejected(
        'invalid_parquet',
        'The Parquet file is truncated or damaged: its footer does not end with the magic bytes PAR1',
      );
    }
  } finally {
    await handle.close();
  }
}

/** `onBytes` hears the bytes of `from` read so far. */
async function transcodeToUtf8(
  from: string,
  to: string,
  detection: Detection,
  signal: AbortSignal | undefined,
  onBytes: (bytes: number) => void,
): Promise<void> {
  const decoder = new TextDecoder(detection.encoding!, { fatal: false });
  let skip = detection.bomBytes;
  let line = 1;
  let read = 0;
  const transcode = new Transform({
    transform(chunk: Buffer, _enc, done) {
      read += chunk.length;
      onBytes(read);
      let bytes = chunk;
      if (skip > 0) {
        const cut = Math.min(skip, bytes.length);
        bytes = bytes.subarray(cut);
        skip -= cut;
      }
      const text = decoder.decode(bytes, { stream: true });
      const nul = text.indexOf('\0');
      if (nul !== -1) {
        const at = line + lineAt(text, nul) - 1;
        done(
          fileRejected('binary_content', `The file contains a NUL character on line ${at}: it is binary, not text`, {
            line: at,
          }),
        );
        return;
      }
      for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) line++;
      done(null, Buffer.from(text, 'utf8'));
    },
    flush(done) {
      done(null, Buffer.from(decoder.decode(), 'utf8'));
    },
  });
  await pipeline(createReadStream(from), transcode, createWriteStream(to), { signal });
}

async function lineOfOffset(path: string, offset: number): Promise<number> {
  let line = 1;
  let pos = 0;
  for await (const chunk of createReadStream(path, { end: offset - 1 < 0 ? 0 : offset - 1 }) as AsyncIterable<Buffer>) {
    if (pos >= offset) break;
    for (let i = chunk.indexOf(10); i !== -1 && pos + i < offset; i = chunk.indexOf(10, i + 1)) line++;
    pos += chunk.length;
  }
  return line;
}

const isConversionError = (e: unknown): boolean =>
  e instanceof Error &&
  !(e instanceof AppError) &&
  /Could not convert|Conversion Error|could not be cast|Error when converting column/i.test(e.message);

/** Maps a DuckDB error to a 4xx problem with the line, and scrubs server paths out of its text. */
function asFileError(
  e: unknown,
  paths: string[],
  filename: string,
  format: Detection['format'],
  maxLineBytes: number,
): unknown {
  if (e instanceof AppError || !(e instanceof Error)) return e;
  // DuckDB's line number is that of its buffer, not of the file: only the size is worth repeating.
  const tooLong = /Maximum line size of \d+ bytes exceeded\. Actual Size:\s*(\d+)/i.exec(e.message);
  if (tooLong && format === 'csv') return lineTooLong(maxLineBytes, { bytes: Number(tooLong[1]) });
  let message = e.message;
  for (const p of paths) message = message.replaceAll(p, filename);
  // Anything path-like that is left (DuckDB temp files) is removed too.
  message = message.replace(/(\/[\w.-]+){2,}/g, filename);
  const lines = message
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const lineNo = /Line:\s*(\d+)/i.exec(message)?.[1];
  const line = lineNo ? Number(lineNo) : undefined;
  const columns = /Expected Number of Columns:\s*(\d+)\s*Found:\s*(\d+)/i.exec(message);
  if (columns) {
    return fileRejected(
      'ragged_rows',
      `Line ${line ?? '?'} has ${columns[2]} fields; the file has ${columns[1]} columns`,
      line ? { line } : {},
    );
  }
  if (/Invalid unicode|invalid UTF-8|byte sequence mismatch/i.test(message)) {
    return fileRejected(
      'unsupported_encoding',
      `The file is not valid UTF-8${line ? ` on line ${line}` : ''} although its start looked like UTF-8`,
      line ? { line } : {},
    );
  }
  // Only the error itself: DuckDB's "Possible fixes" list after it mentions quotes for every CSV error.
  if (/quote|unterminated/i.test(message.split(/Possible fixes/i)[0]!) && format === 'csv') {
    return fileRejected(
      'invalid_file',
      `Unterminated or misplaced quote${line ? ` on line ${line}` : ''}`,
      line ? { line } : {},
    );
  }
  if (format === 'json' || format === 'ndjson' || format === 'xlsx') {
    const rec = /record\/value (\d+)/.exec(message)?.[1];
    const truncated = /unexpected end of data|unexpected end/i.test(message);
    const detail = truncated
      ? `The JSON is truncated${rec ? ` in element ${rec}` : ''}`
      : /expected records|not an object|Expected OBJECT/i.test(message)
        ? `The JSON contains a value that is not an object${rec ? ` (element ${rec})` : ''}: a dataset is an array of objects`
        : `Invalid JSON${rec ? ` in element ${rec}` : ''}: ${lines[0]?.replace(/^[\w ]+Error:\s*/, '') ?? 'unreadable'}`;
    return fileRejected('invalid_json', detail, rec ? { row: Number(rec) } : {});
  }
  if (format === 'parquet') {
    return fileRejected(
      'invalid_parquet',
      `The Parquet file cannot be read: ${lines[0]?.replace(/^[\w ]+Error:\s*/, '') ?? 'unreadable'}`,
    );
  }
  if (/Error/.test(lines[0] ?? '') && /Invalid Input|Conversion|Parser/i.test(lines[0] ?? '')) {
    return fileRejected(
      'invalid_file',
      `The file cannot be parsed${line ? ` (line ${line})` : ''}: ${lines[0]!.replace(/^[\w ]+Error:\s*/, '')}`,
      line ? { line } : {},
    );
  }
  return e;
}
