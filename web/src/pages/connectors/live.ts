/**
 * The live series of a connector's detail page, folded from `connector.records` events: pure, so it is tested
 * without a browser. A point is one numeric value of one field at one time; the chart draws one line per field.
 */

export interface LivePoint {
  /** Milliseconds since the epoch: the record's own time when it has one, else when its event was published. */
  t: number;
  field: string;
  value: number;
}

export interface LiveSeries {
  points: LivePoint[];
  /** Records received since the page opened (the tail carries at most 50 a second; `count` says how many came). */
  received: number;
  /** Records that came but were not in a tail (more than the tail carries). */
  skipped: number;
}

export const NO_SERIES: LiveSeries = { points: [], received: 0, skipped: 0 };

/** Points kept per field: the chart shows the newest, so the page's memory stays flat however long it is open. */
export const POINTS_PER_FIELD = 300;

interface FieldLike {
  name: string;
  type: string;
}

const NUMERIC = new Set(['double', 'bigint']);

/** The fields the chart draws: the connector's numeric ones. */
export function numericFields(fields: readonly FieldLike[]): string[] {
  return fields.filter((f) => NUMERIC.has(f.type)).map((f) => f.name);
}

/** The field that gives a record its time: the first timestamp field. */
export function timeField(fields: readonly FieldLike[]): string | null {
  return fields.find((f) => f.type === 'timestamp')?.name ?? null;
}

function toMillis(value: unknown): number | null {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string') {
    const t = Date.parse(value);
    return Number.isNaN(t) ? null : t;
  }
  return null;
}

function toNumber(value: unknown): number | null {
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  // bigint columns travel as strings when they exceed 2^53; a chart can still place them.
  if (typeof value === 'string' && value.trim() !== '') {
    const n = Number(value);
    return Number.isFinite(n) ? n : null;
  }
  return null;
}

/**
 * Adds one tail event to the series: every numeric value of every record as a point, timed by the record's
 * timestamp field (or the event's time), oldest points dropped beyond POINTS_PER_FIELD per field.
 */
export function applyRecords(
  series: LiveSeries,
  tail: { count: number; records: Record<string, unknown>[] },
  fields: readonly FieldLike[],
  eventTime: string,
): LiveSeries {
  const numeric = numericFields(fields);
  const timeName = timeField(fields);
  const fallback = toMillis(eventTime) ?? Date.now();
  const added: LivePoint[] = [];
  for (const record of tail.records) {
    const t = (timeName !== null ? toMillis(record[timeName]) : null) ?? fallback;
    for (const field of numeric) {
      const value = toNumber(record[field]);
      if (value !== null) added.push({ t, field, value });
    }
  }
  let points = [...series.points, ...added];
  if (points.length > POINTS_PER_FIELD * Math.max(1, numeric.length)) {
    const kept = new Map<string, number>();
    const out: LivePoint[] = [];
    for (let i = points.length - 1; i >= 0; i--) {
      const p = points[i]!;
      const n = kept.get(p.field) ?? 0;
      if (n >= POINTS_PER_FIELD) continue;
      kept.set(p.field, n + 1);
      out.push(p);
    }
    points = out.reverse();
  }
  const count = Math.max(tail.count, tail.records.length);
  return {
    points,
    received: series.received + count,
    skipped: series.skipped + (count - tail.records.length),
  };
}

/**
 * The latest values with the tail's records laid over them, oldest first: what the page shows without asking again.
 * A null is a missing reading, not a new value (as the server keeps them: src/connectors/runtime.ts `remember`).
 */
export function mergeLatest<L extends { at: string | null; values: Record<string, unknown> }>(
  latest: L,
  records: Record<string, unknown>[],
  eventTime: string,
): L {
  if (records.length === 0) return latest;
  const values = { ...latest.values };
  for (const record of records)
    for (const [k, v] of Object.entries(record)) if (v !== null && v !== undefined) values[k] = v;
  return { ...latest, at: eventTime, values };
}

/** The connector's health once records came at `eventTime`: its last record and lag, until it is read again. */
export function withRecordAt<C extends { health: { lastRecordAt: string | null; lagSeconds: number | null } }>(
  connector: C,
  eventTime: string,
): C {
  return { ...connector, health: { ...connector.health, lastRecordAt: eventTime, lagSeconds: 0 } };
}

/** "5 records", "1 record". */
export function records(n: number): string {
  return `${n.toLocaleString()} record${n === 1 ? '' : 's'}`;
}
