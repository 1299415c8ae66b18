import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import { PassThrough, type Readable } from 'node:stream';
import type { Scratch } from '../blobs/scratch.js';
import { toPlain, type Engine } from '../engine/duckdb.js';
import {
  FORMULA_TRIGGER_REGEX,
  ident,
  isoTimestamp,
  jsonFriendly,
  literal,
  neutralizedText,
  typeFamily,
  type ColumnSchema,
} from '../engine/sql.js';
import { AppError } from '../errors.js';

export type ExportFormat = 'csv' | 'ndjson' | 'json' | 'parquet' | 'xlsx';

export const EXPORT_CONTENT_TYPES: Record<ExportFormat, string> = {
  csv: 'text/csv; charset=utf-8',
  ndjson: 'application/x-ndjson',
  json: 'application/json',
  parquet: 'application/vnd.apache.parquet',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
};

/** Excel's sheet has 1,048,576 rows; one is the header. */
export const XLSX_MAX_ROWS = 1_048_575;

/** CSV: ISO timestamps, text neutralized against formula injection (numbers are never touched). */
function csvProjection(col: ColumnSchema): string {
  const fam = typeFamily(col.type);
  if (fam === 'text') return neutralizedText(col);
  if (fam === 'timestamp') return `${isoTimestamp(ident(col.name))} AS ${ident(col.name)}`;
  if (fam === 'nested' || fam === 'binary') return jsonFriendly(col);
  return ident(col.name);
}

const FORMULA_TRIGGER = new RegExp(FORMULA_TRIGGER_REGEX);

/**
 * A CSV header cell: a column name is user text like any cell, so a name a spreadsheet would run as a formula gets
 * the same ' prefix as a text value (two names that then collide are told apart by DuckDB with a _1 suffix).
 */
export const csvHeaderName = (name: string): string => (FORMULA_TRIGGER.test(name) ? `'${name}` : name);

/** JSON: ISO timestamps and base64 binary; nested values stay nested. */
function jsonProjection(col: ColumnSchema): string {
  const fam = typeFamily(col.type);
  if (fam === 'timestamp' || fam === 'binary' || fam === 'date') return jsonFriendly(col);
  return ident(col.name);
}

/**
 * Streams a version in the requested format. Parquet is the stored file itself; CSV and JSON are written by
 * DuckDB into scratch space at native speed and streamed from there (removed when the stream ends); XLSX is
 * written row by row from a DuckDB result stream.
 */
export async function exportVersion(
  engine: Engine,
  scratch: Scratch,
  file: { path: string; source: string; single: boolean },
  schema: ColumnSchema[],
  rowCount: number,
  format: ExportFormat,
): Promise<Readable> {
  const source = file.source;
  // A live dataset's latest is its version and the segments flushed since: written out as one file.
  if (format === 'parquet' && file.single) return createReadStream(file.path);
  if (format === 'xlsx') {
    if (rowCount > XLSX_MAX_ROWS) {
      throw new AppError(
        'export_too_large',
        `The dataset has ${rowCount} rows; an XLSX sheet holds at most ${XLSX_MAX_ROWS}. Download it as CSV or Parquet.`,
      );
    }
    return xlsxStream(engine, source, schema);
  }
  const out = scratch.file(`.${format}`);
  const values = `SELECT ${schema.map(format === 'csv' ? csvProjection : jsonProjection).join(', ')} FROM ${source}`;
  const select =
    format === 'parquet'
      ? `SELECT * FROM ${source}`
      : format === 'csv'
        ? `SELECT ${schema.map((c) => `${ident(c.name)} AS ${ident(csvHeaderName(c.name))}`).join(', ')} FROM (${values})`
        : values;
  const options =
    format === 'csv'
      ? "(FORMAT csv, HEADER true, DELIMITER ',', QUOTE '\"')"
      : format === 'json'
        ? '(FORMAT json, ARRAY true)'
        : format === 'parquet'
          ? '(FORMAT parquet, COMPRESSION zstd)'
          : '(FORMAT json)';
  try {
    await engine.run(`COPY (${select}) TO ${literal(out)} ${options}`);
  } catch (e) {
    await scratch.remove(out);
    throw e;
  }
  if (format === 'json' && rowCount === 0) await fs.writeFile(out, '[]');
  const stream = createReadStream(out);
  stream.once('close', () => void scratch.remove(out));
  return stream;
}

function xlsxStream(engine: Engine, source: string, schema: ColumnSchema[]): Readable {
  const out = new PassThrough();
  const select = `SELECT ${schema.map((c) => (typeFamily(c.type) === 'timestamp' || typeFamily(c.type) === 'date' ? `CAST(${ident(c.name)} AS TIMESTAMP) AS ${ident(c.name)}` : jsonFriendly(c))).join(', ')} FROM ${source}`;
  void (async () => {
    const { writeXlsx } = await import('./xlsx/write.js');
    await engine.withConnection(async (c) => {
      const result = await c.stream(select);
      async function* rows(): AsyncGenerator<unknown[]> {
        for await (const batch of result.yieldRowsJs()) {
          for (const row of batch) yield row.map((v) => (v instanceof Date ? v : toPlain(v)));
        }
      }
      await writeXlsx(
        schema.map((s) => s.name),
        rows(),
        out,
      );
    });
  })().catch((e: unknown) => out.destroy(e instanceof Error ? e : new Error(String(e))));
  return out;
}
