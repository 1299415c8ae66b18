import type { FieldSpec, FieldType } from './sources/types.js';

/**
 * Typing values from outside into a live dataset's column types, shared by every source. A value that does not fit
 * is not an exception: the caller keeps the record with null there and counts the reason as rejected input.
 */

export type TimestampFormat = 'iso' | 'epoch_s' | 'epoch_ms';

export type Coerced = { ok: true; value: number | boolean | string | null } | { ok: false; reason: string };

const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const INTEGER = /^[+-]?\d+$/;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?(?:Z|[+-]\d{2}:?\d{2})?$/i;
const HAS_ZONE = /(?:Z|[+-]\d{2}:?\d{2})$/i;
/** Dates outside years 0001-9999 do not survive a round trip through ISO 8601 and Parquet timestamps. */
const MIN_MS = Date.parse('0001-01-01T00:00:00Z');
const MAX_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

function describe(value: unknown): string {
  const text = typeof value === 'string' ? `'${value}'` : (JSON.stringify(value) ?? String(value));
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function toDouble(value: unknown): Coerced {
  if (typeof value === 'number') {
    return Number.isFinite(value) ? { ok: true, value } : { ok: false, reason: `${value} is not a finite number` };
  }
  if (typeof value === 'string' && DECIMAL.test(value.trim())) {
    const parsed = Number(value.trim());
    if (Number.isFinite(parsed)) return { ok: true, value: parsed };
    return { ok: false, reason: `${describe(value)} is out of range for a double` };
  }
  return { ok: false, reason: `${describe(value)} is not a number` };
}

function toBigint(value: unknown): Coerced {
  let parsed: number;
  if (typeof value === 'number') parsed = value;
  else if (typeof value === 'string' && INTEGER.test(value.trim())) parsed = Number(value.trim());
  else return { ok: false, reason: `${describe(value)} is not an integer` };
  if (!Number.isInteger(parsed)) return { ok: false, reason: `${describe(value)} is not an integer` };
  // Values are carried as JS numbers: past 2^53 they would silently change.
  if (!Number.isSafeInteger(parsed))
    return { ok: false, reason: `${describe(value)} is outside the safe integer range` };
  return { ok: true, value: parsed };
}

function toBoolean(value: unknown): Coerced {
  if (typeof value === 'boolean') return { ok: true, value };
  if (value === 1 || value === 0) return { ok: true, value: value === 1 };
  if (typeof value === 'string') {
    const text = value.trim().toLowerCase();
    if (text === 'true' || text === '1' || text === 'yes') return { ok: true, value: true };
    if (text === 'false' || text === '0' || text === 'no') return { ok: true, value: false };
  }
  return { ok: false, reason: `${describe(value)} is not a boolean` };
}

function toVarchar(value: unknown): Coerced {
  if (typeof value === 'string') return { ok: true, value };
  if (typeof value === 'number' || typeof value === 'boolean') return { ok: true, value: String(value) };
  return { ok: true, value: JSON.stringify(value) };
}

function fromEpoch(ms: number, value: unknown): Coerced {
  if (!Number.isFinite(ms) || ms < MIN_MS || ms > MAX_MS) {
    return { ok: false, reason: `${describe(value)} is not a valid time` };
  }
  return { ok: true, value: new Date(ms).toISOString() };
}

function toTimestamp(value: unknown, format: TimestampFormat): Coerced {
  if (format !== 'iso') {
    const number = toDouble(value);
    if (!number.ok)
      return {
        ok: false,
        reason: `${describe(value)} is not an epoch time in ${format === 'epoch_s' ? 'seconds' : 'milliseconds'}`,
      };
    return fromEpoch((number.value as number) * (format === 'epoch_s' ? 1000 : 1), value);
  }
  if (value instanceof Date) return fromEpoch(value.getTime(), value);
  if (typeof value !== 'string' || !ISO_DATE.test(value.trim())) {
    return { ok: false, reason: `${describe(value)} is not an ISO 8601 time` };
  }
  // A time without a zone is taken as UTC, never as the server's local time.
  let text = value.trim().replace(' ', 'T');
  if (text.length > 10 && !HAS_ZONE.test(text)) text += 'Z';
  return fromEpoch(Date.parse(text), value);
}

/**
 * `value` typed as `type`. Null, undefined and (for every type but varchar) the empty string are null: a missing
 * reading, not a bad one. Timestamps become ISO 8601 strings in UTC.
 */
export function coerceValue(value: unknown, type: FieldType, format: TimestampFormat = 'iso'): Coerced {
  if (value === null || value === undefined) return { ok: true, value: null };
  if (value === '' && type !== 'varchar') return { ok: true, value: null };
  switch (type) {
    case 'double':
      return toDouble(value);
    case 'bigint':
      return toBigint(value);
    case 'boolean':
      return toBoolean(value);
    case 'varchar':
      return toVarchar(value);
    case 'timestamp':
      return toTimestamp(value, format);
  }
}

function typeOf(value: unknown): FieldType | null {
  if (value === null || value === undefined || value === '') return null;
  if (typeof value === 'boolean') return 'boolean';
  if (typeof value === 'number') return Number.isSafeInteger(value) ? 'bigint' : 'double';
  if (typeof value === 'string') {
    const text = value.trim();
    if (INTEGER.test(text) && Number.isSafeInteger(Number(text))) return 'bigint';
    if (DECIMAL.test(text) && Number.isFinite(Number(text))) return 'double';
    if (ISO_DATE.test(text) && text.length > 10 && Number.isFinite(Date.parse(text.replace(' ', 'T')))) {
      return 'timestamp';
    }
  }
  return 'varchar';
}

function widen(a: FieldType | null, b: FieldType | null): FieldType | null {
  if (a === null) return b;
  if (b === null || a === b) return a;
  if ((a === 'bigint' && b === 'double') || (a === 'double' && b === 'bigint')) return 'double';
  return 'varchar';
}

/**
 * Column names and types for `records` (top-level keys, in order of first appearance), for a dry run to show:
 * the narrowest type every non-empty value fits; integers widen to double, anything mixed to varchar, a column
 * with no value at all is varchar.
 */
export function inferFields(records: readonly Record<string, unknown>[]): FieldSpec[] {
  const types = new Map<string, FieldType | null>();
  for (const record of records) {
    for (const [name, value] of Object.entries(record)) {
      types.set(name, widen(types.get(name) ?? null, typeOf(value)));
    }
  }
  return [...types].map(([name, type]) => ({ name, type: type ?? 'varchar' }));
}

/** The first 200 characters of what was received, for a RejectedInput's sample. */
export function sampleOf(value: unknown): string {
  const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  return text.length > 200 ? text.slice(0, 200) : text;
}
