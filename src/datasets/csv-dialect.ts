import { fileRejected } from '../errors.js';
import { checkColumnCount } from './columns.js';
import { sniffDecimalFormat } from './decimal-comma.js';

/**
 * CSV dialect sniffing on a decoded head sample: delimiter, quoting, header, column names, and a check of
 * every complete record in the sample for a consistent field count. DuckDB then parses the whole file with
 * exactly this dialect in strict mode, so the two can never disagree about the shape.
 */

export interface CsvDialect {
  delimiter: string;
  quote: string;
  escape: string;
  header: boolean;
  /** Column names Weir will use: the header cleaned up, or column_1..n without a header. */
  columns: string[];
  /** The decimal separator of the numbers (a comma only when the delimiter is not one); see decimal-comma.ts. */
  decimal: '.' | ',';
  /** Columns (names) of dot-grouped decimal-comma numbers (`1.234,5`), which Weir converts itself. */
  thousandsColumns: string[];
}

interface CsvRecord {
  fields: string[];
  /** 1-based line on which the record starts. */
  line: number;
  /** True when a field was quoted (its text is never typed as a number). */
  quoted: boolean[];
}

interface ParseResult {
  records: CsvRecord[];
  /** Records ended by a line break; a last record cut off by the end of the text is not among them. */
  terminated: number;
  /** Line of a quote still open at the end of the text, if any. */
  openQuoteLine: number | null;
}

const DELIMITERS = [',', ';', '\t', '|'];
const MAX_SAMPLE_RECORDS = 1000;

/**
 * RFC 4180 tokenizer: quoted fields may hold delimiters, doubled quotes and newlines; CRLF or LF ends a record.
 * Field text is taken in slices (a quoted field up to its next quote, plain text up to the next delimiter or line
 * break), never character by character: a sample may hold a field of many megabytes.
 */
export function parseCsv(text: string, delimiter: string, quote = '"', limit = MAX_SAMPLE_RECORDS): ParseResult {
  const records: CsvRecord[] = [];
  let fields: string[] = [];
  let quotedFlags: boolean[] = [];
  let field = '';
  let fieldQuoted = false;
  let inQuotes = false;
  let line = 1;
  let recordLine = 1;
  let quoteLine = 1;
  const n = text.length;
  const endRecord = () => {
    fields.push(field);
    quotedFlags.push(fieldQuoted);
    // A blank line is not a record.
    if (!(fields.length === 1 && fields[0] === '' && !fieldQuoted))
      records.push({ fields, line: recordLine, quoted: quotedFlags });
    fields = [];
    quotedFlags = [];
    field = '';
    fieldQuoted = false;
  };
  let i = 0;
  while (i < n && records.length < limit) {
    if (inQuotes) {
      const close = text.indexOf(quote, i);
      const end = close === -1 ? n : close;
      for (let nl = text.indexOf('\n', i); nl !== -1 && nl < end; nl = text.indexOf('\n', nl + 1)) line++;
      field += text.slice(i, end);
      if (close === -1) {
        i = n;
      } else if (text[close + 1] === quote) {
        field += quote;
        i = close + 2;
      } else {
        inQuotes = false;
        i = close + 1;
      }
      continue;
    }
    const ch = text[i]!;
    if (ch === quote && field === '' && !fieldQuoted) {
      inQuotes = true;
      fieldQuoted = true;
      quoteLine = line;
      i++;
    } else if (ch === delimiter) {
      fields.push(field);
      quotedFlags.push(fieldQuoted);
      field = '';
      fieldQuoted = false;
      i++;
    } else if (ch === '\n' || ch === '\r') {
      i += ch === '\r' && text[i + 1] === '\n' ? 2 : 1;
      endRecord();
      line++;
      recordLine = line;
    } else {
      // Plain text up to the next delimiter or line break; a quote inside it is literal.
      let j = i + 1;
      while (j < n) {
        const c = text[j];
        if (c === delimiter || c === '\n' || c === '\r') break;
        j++;
      }
      field += text.slice(i, j);
      i = j;
    }
  }
  const terminated = records.length;
  if (records.length < limit && !inQuotes && (field !== '' || fields.length > 0 || fieldQuoted)) endRecord();
  return { records, terminated, openQuoteLine: inQuotes ? quoteLine : null };
}

/**
 * Whether `text`, the start of a file, holds `count` whole records as the sniffer would parse it (with the delimiter
 * it would choose: under another one a quoted line break may look like the end of a record). When it does not, the
 * sniffer needs a longer sample: a header or a row is longer than the head sample.
 */
export function holdsRecords(text: string, count: number): boolean {
  return chooseDelimiter(text, false).parsed.terminated >= count;
}

type CellKind = 'empty' | 'number' | 'boolean' | 'date' | 'text';

const NUMBER = /^[-+]?(\d+([.,]\d*)?|[.,]\d+|\d{1,3}(\.\d{3})+(,\d+)?)([eE][-+]?\d+)?$/;
const BOOLEAN = /^(true|false)$/i;
const DATE = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}(:?\d{2})?)?$/;

function kindOf(value: string, quoted: boolean): CellKind {
  const v = value.trim();
  if (v === '') return 'empty';
  if (quoted) return 'text';
  if (NUMBER.test(v)) return 'number';
  if (BOOLEAN.test(v)) return 'boolean';
  if (DATE.test(v)) return 'date';
  return 'text';
}

/**
 * The first record is a header unless it looks like data: every cell has the kind that the same column has in
 * the records below, and at least one of them is not text (an all-text table gets a header: names are text).
 */
function looksLikeHeader(records: CsvRecord[]): boolean {
  const [first, ...rest] = records;
  if (!first) return true;
  if (rest.length === 0) return true;
  let typedMatches = 0;
  for (let c = 0; c < first.fields.length; c++) {
    // A blank header cell says nothing either way (a name may simply be missing).
    if (first.fields[c]!.trim() === '') continue;
    const counts = new Map<CellKind, number>();
    for (const r of rest.slice(0, 100)) {
      const k = kindOf(r.fields[c] ?? '', r.quoted[c] ?? false);
      if (k !== 'empty') counts.set(k, (counts.get(k) ?? 0) + 1);
    }
    const dominant = [...counts.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? 'text';
    const head = kindOf(first.fields[c]!, first.quoted[c] ?? false);
    if (head !== dominant) return true;
    if (head !== 'text') typedMatches++;
  }
  return typedMatches === 0;
}

/** Unique, non-empty column names: blanks become column_<n>, repeats get _2, _3. */
export function cleanColumnNames(raw: string[]): string[] {
  // DuckDB resolves column names case-insensitively, so uniqueness is case-insensitive too.
  const used = new Set<string>();
  return raw.map((name, i) => {
    const base = name.trim() || `column_${i + 1}`;
    let candidate = base;
    for (let n = 2; used.has(candidate.toLowerCase()); n++) candidate = `${base}_${n}`;
    used.add(candidate.toLowerCase());
    return candidate;
  });
}

function scoreDelimiter(records: CsvRecord[]): { consistent: number; width: number } {
  if (records.length === 0) return { consistent: 0, width: 0 };
  const widths = new Map<number, number>();
  for (const r of records) widths.set(r.fields.length, (widths.get(r.fields.length) ?? 0) + 1);
  const [width, count] = [...widths.entries()].sort((a, b) => b[1] - a[1] || b[0] - a[0])[0]!;
  return { consistent: count / records.length, width };
}

/**
 * The delimiter whose records have the most consistent width (the widest on a tie), and its parse of `text`; a
 * partial sample's last, possibly cut record is left out.
 */
function chooseDelimiter(text: string, complete: boolean): { delimiter: string; parsed: ParseResult } {
  let best: { delimiter: string; parsed: ParseResult; consistent: number; width: number } | null = null;
  for (const delimiter of DELIMITERS) {
    const parsed = parseCsv(text, delimiter);
    if (!complete && parsed.records.length > 1) parsed.records.pop();
    const { consistent, width } = scoreDelimiter(parsed.records);
    if (width < 2) continue;
    if (
      !best ||
      consistent > best.consistent + 1e-9 ||
      (Math.abs(consistent - best.consistent) < 1e-9 && width > best.width)
    ) {
      best = { delimiter, parsed, consistent, width };
    }
  }
  if (best) return best;
  const parsed = parseCsv(text, ',');
  if (!complete && parsed.records.length > 1) parsed.records.pop();
  return { delimiter: ',', parsed };
}

/**
 * @param text decoded sample from the start of the file
 * @param complete whether the sample is the whole file (else its last, possibly cut record is ignored)
 * @param maxColumns more fields in the first record is a 422 `too_many_columns`, before any per-column work
 */
export function sniffCsvDialect(text: string, complete: boolean, maxColumns = Number.POSITIVE_INFINITY): CsvDialect {
  const { delimiter, parsed } = chooseDelimiter(text, complete);
  if (complete && parsed.openQuoteLine !== null) {
    throw fileRejected('invalid_file', `A quoted field opened on line ${parsed.openQuoteLine} is never closed`, {
      line: parsed.openQuoteLine,
    });
  }
  const records = parsed.records;
  if (records.length === 0) throw fileRejected('empty_file', 'The file has no rows');
  const width = records[0]!.fields.length;
  checkColumnCount(width, maxColumns);
  const header = looksLikeHeader(records);
  const columns = header ? cleanColumnNames(records[0]!.fields) : records[0]!.fields.map((_, i) => `column_${i + 1}`);
  const data = header ? records.slice(1) : records;
  if (header && data.length === 0 && complete) {
    throw fileRejected('header_only', `The file has a header row (${columns.length} columns) but no data rows`, {
      line: 1,
    });
  }
  for (const [i, r] of data.entries()) {
    if (r.fields.length !== width) {
      const row = i + 1;
      throw fileRejected(
        'ragged_rows',
        `Row ${row} (line ${r.line}) has ${r.fields.length} fields; the ${header ? 'header has' : 'first row has'} ${width}`,
        { line: r.line, row },
      );
    }
  }
  const { decimal, thousandsColumns } = sniffDecimalFormat(
    data.map((r) => r.fields),
    delimiter,
  );
  return {
    delimiter,
    quote: '"',
    escape: '"',
    header,
    columns,
    decimal,
    thousandsColumns: thousandsColumns.map((i) => columns[i]!),
  };
}
