import { once } from 'node:events';
import type { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setImmediate as nextMacrotask } from 'node:timers/promises';
import { FORMULA_TRIGGER_REGEX } from '../../engine/sql.js';
import { AppError } from '../../errors.js';
import { count } from './units.js';

/** XLSX export. exceljs is loaded lazily: it takes hundreds of milliseconds to import. */

/** Excel's own grid limits; a bigger export would open truncated or not at all. */
const EXCEL_MAX_ROWS = 1_048_576;
const EXCEL_MAX_COLUMNS = 16_384;

/** How often the writer yields to the event loop so that downstream congestion becomes visible. */
const FLOW_CHECK_ROWS = 256;

/** The CSV export's test, so that the two exports can never disagree on what a spreadsheet runs as a formula. */
const FORMULA_TRIGGER = new RegExp(FORMULA_TRIGGER_REGEX);

/**
 * Whether the zip entry's input, where exceljs puts the sheet's XML for the deflate thread, holds more than its
 * high-water mark. exceljs writes to it without waiting (its StreamBuf calls write() and moves on), so on a busy
 * machine, where deflate lags, XML piles up there while the output towards `out` still looks free; watching it
 * bounds what is buffered by bytes instead of by how fast the zlib thread happens to run. Internals of exceljs 4
 * (`_stream`: the sheet's StreamBuf; `pipes`: what it writes to once the archiver reached the entry) and of the
 * readable-stream 2/3 PassThrough the archiver gives it (`_writableState`; no `writableNeedDrain` there): when
 * they are not found, the output check alone applies.
 */
function congestedSheetInput(sheet: object): EventEmitter | null {
  const pipes = (sheet as { _stream?: { pipes?: unknown[] } })._stream?.pipes;
  const input = pipes?.[0] as (EventEmitter & { _writableState?: { needDrain?: unknown } }) | undefined;
  return input?._writableState?.needDrain === true ? input : null;
}

const neutralized = (text: string): string => (FORMULA_TRIGGER.test(text) ? `'${text}` : text);

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
  return neutralized(
    typeof value === 'object'
      ? JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))
      : String(value),
  );
}

/**
 * Writes a one-sheet workbook (sheet "data": header row of `columns`, then `rows`) to `out` with exceljs's
 * streaming writer, committing each row. Text that starts with = + - @ tab or CR gets a leading `'` so that it
 * cannot run as a formula; numbers are untouched. exceljs ignores backpressure internally, so production pauses
 * while the stream towards `out` is congested. Resolves once `out` has finished; on failure `out` is destroyed.
 */
export async function writeXlsx(
  columns: string[],
  rows: AsyncIterable<unknown[]>,
  out: NodeJS.WritableStream,
): Promise<void> {
  if (columns.length > EXCEL_MAX_COLUMNS) {
    throw new AppError(
      'export_too_large',
      `XLSX holds at most ${count(EXCEL_MAX_COLUMNS)} columns; the dataset has ${count(columns.length)}`,
    );
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
      if (values.length > columns.length)
        throw new Error(`writeXlsx: row ${n} has ${values.length} values for ${columns.length} columns`);
      if (n >= EXCEL_MAX_ROWS) {
        throw new AppError(
          'export_too_large',
          `XLSX holds at most ${count(EXCEL_MAX_ROWS - 1)} data rows; the dataset has more`,
        );
      }
      // Array.from: a sparse array starting with a hole would shift every value one column to the left in exceljs.
      sheet.addRow(Array.from(values, cellOut)).commit();
      if (n % FLOW_CHECK_ROWS === 0) {
        await nextMacrotask();
        for (let input = congestedSheetInput(sheet); input; input = congestedSheetInput(sheet))
          await once(input, 'drain', { signal: delivery.signal });
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
