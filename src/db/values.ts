/** Normalizers for values that come back differently from SQLite and PostgreSQL. */

const CANONICAL_ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** Weir writes timestamps as canonical ISO strings, which SQLite gives back as they are (the common, fast case). */
export function toIso(value: Date | string): string {
  if (typeof value === 'string' && CANONICAL_ISO.test(value)) return value;
  return value instanceof Date ? value.toISOString() : new Date(value).toISOString();
}

/** toIso for a nullable column. */
export function isoOrNull(value: Date | string | null): string | null {
  return value === null ? null : toIso(value);
}

export function toNumber(value: number | string | bigint): number {
  return typeof value === 'number' ? value : Number(value);
}
