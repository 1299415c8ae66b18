import type { RejectedInput, SourceRecord } from './sources/types.js';
import { sampleOf } from './typing.js';

/** Most records one push may carry. */
export const MAX_PUSH_RECORDS = 10_000;

/**
 * A device push body as records: a JSON array of objects (or one object), NDJSON (one object a line), or a
 * ThingSpeak-style form (`field1=21.5&field2=40`). A line or element that is not an object is rejected and
 * counted; the others are kept. `keyField` names the value that deduplicates a record.
 */
export function parsePushBody(
  body: string | Buffer,
  contentType: string | undefined,
  keyField: string | undefined,
): { records: SourceRecord[]; rejected: RejectedInput[] } {
  const text = typeof body === 'string' ? body : body.toString('utf8');
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  const records: SourceRecord[] = [];
  const rejected: RejectedInput[] = [];
  const take = (value: unknown, where: string) => {
    if (records.length >= MAX_PUSH_RECORDS) {
      rejected.push({ reason: `${where}: more than ${MAX_PUSH_RECORDS} records in one push` });
      return;
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      rejected.push({ reason: `${where}: not a JSON object`, sample: sampleOf(value) });
      return;
    }
    const values = value as Record<string, unknown>;
    const key =
      keyField !== undefined && values[keyField] !== undefined && values[keyField] !== null
        ? String(values[keyField])
        : null;
    records.push({ key, cursor: null, values });
  };
  if (type === 'application/x-www-form-urlencoded') {
    const values: Record<string, unknown> = {};
    for (const [k, v] of new URLSearchParams(text)) if (k !== 'api_key') values[k] = v;
    take(values, 'form');
  } else if (type === 'application/x-ndjson' || type === 'application/ndjson' || type === 'application/jsonl') {
    text.split('\n').forEach((line, i) => {
      if (line.trim() === '') return;
      try {
        take(JSON.parse(line), `line ${i + 1}`);
      } catch {
        rejected.push({ reason: `line ${i + 1}: not valid JSON`, sample: sampleOf(line) });
      }
    });
  } else {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      rejected.push({ reason: 'the body is not valid JSON', sample: sampleOf(text) });
      return { records, rejected };
    }
    if (Array.isArray(parsed)) parsed.forEach((v, i) => take(v, `[${i}]`));
    else take(parsed, 'body');
  }
  return { records, rejected };
}
