import type { TypedRecord } from '../live/repo.js';
import { coerceValue } from './records.js';
import type { FieldSpec, RejectedInput, SourceRecord } from './sources/types.js';

/** At most this many rejections are kept per sync for its history (all are counted). */
export const KEPT_REJECTIONS = 20;

/**
 * Types a source's records against the live dataset's fields. A value that does not fit its column becomes null
 * and is reported; a record none of whose fields is present is rejected whole. Values of names that are not
 * columns are ignored (a source may send more than the dataset keeps).
 */
export function typeRecords(
  records: SourceRecord[],
  fields: FieldSpec[],
): { typed: TypedRecord[]; rejected: RejectedInput[] } {
  const typed: TypedRecord[] = [];
  const rejected: RejectedInput[] = [];
  for (const r of records) {
    const row: TypedRecord['row'] = {};
    let present = 0;
    for (const f of fields) {
      const raw = r.values[f.name];
      if (raw === undefined || raw === null || raw === '') {
        row[f.name] = null;
        continue;
      }
      present++;
      const c = coerceValue(raw, f.type);
      if (c.ok) row[f.name] = c.value as string | number | boolean | null;
      else {
        row[f.name] = null;
        rejected.push({ reason: `${f.name}: ${c.reason}`, sample: sampleOf(raw) });
      }
    }
    if (present === 0) {
      rejected.push({ reason: 'none of the dataset columns is in the record', sample: sampleOf(r.values) });
      continue;
    }
    typed.push({ key: r.key, cursor: r.cursor, row });
  }
  return { typed, rejected };
}

export function sampleOf(value: unknown): string {
  let text: string;
  try {
    text = typeof value === 'string' ? value : JSON.stringify(value);
  } catch {
    text = String(value);
  }
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}
