import type { Matrix } from '../types.js';

/**
 * Feature encoding for tabular learning, fitted on the training part only and stored (JSON) in the artifact so
 * inference encodes a request row exactly as training encoded its rows.
 * - numeric and boolean: the value; missing → the train median, plus a `<name>:missing` indicator column when the
 *   training part had missing values;
 * - categorical (text): codes by train frequency (most frequent 0, ties by text), one extra code for a category
 *   unseen in training or missing;
 * - time (epoch ms): calendar features (year, month, day of month, weekday, hour), imputed like numerics.
 */

export type FeatureKind = 'numeric' | 'categorical' | 'boolean' | 'time';
export type RawValues = Float64Array | (string | null)[];

export interface RawFeature {
  name: string;
  kind: FeatureKind;
  values: RawValues;
}

export interface NumericEncoder {
  kind: 'numeric' | 'boolean';
  name: string;
  median: number;
  missingIndicator: boolean;
}
export interface CategoricalEncoder {
  kind: 'categorical';
  name: string;
  /** Train categories by frequency; code = index; `categories.length` is the unseen/missing code. */
  categories: string[];
}
export interface TimeEncoder {
  kind: 'time';
  name: string;
  /** Medians of the calendar parts, in CALENDAR_PARTS order. */
  medians: number[];
  missingIndicator: boolean;
}
export type FeatureEncoder = NumericEncoder | CategoricalEncoder | TimeEncoder;

const CALENDAR_PARTS = ['year', 'month', 'day', 'weekday', 'hour'] as const;

function calendar(ms: number): number[] {
  if (Number.isNaN(ms)) return CALENDAR_PARTS.map(() => NaN);
  const d = new Date(ms);
  return [d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate(), d.getUTCDay(), d.getUTCHours()];
}

function median(values: number[]): number {
  const v = values.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  if (v.length === 0) return 0;
  const mid = v.length >> 1;
  return v.length % 2 === 1 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
}

function numbersOf(values: RawValues, rows: number): number[] {
  const out = new Array<number>(rows);
  for (let i = 0; i < rows; i++) {
    const v = values[i];
    out[i] = typeof v === 'number' ? v : v === null || v === undefined ? NaN : Number(v);
  }
  return out;
}

/** Fits one encoder per feature on rows [0, trainRows). */
export function fitEncoders(features: RawFeature[], trainRows: number): FeatureEncoder[] {
  return features.map((f): FeatureEncoder => {
    if (f.kind === 'categorical') {
      const counts = new Map<string, number>();
      for (let i = 0; i < trainRows; i++) {
        const v = f.values[i];
        if (v === null || (typeof v === 'number' && Number.isNaN(v))) continue;
        const key = String(v);
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
      const categories = [...counts.entries()]
        .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
        .map(([k]) => k);
      return { kind: 'categorical', name: f.name, categories };
    }
    const train = numbersOf(f.values, trainRows);
    const missingIndicator = train.some((x) => Number.isNaN(x));
    if (f.kind === 'time') {
      const parts = train.map(calendar);
      return {
        kind: 'time',
        name: f.name,
        medians: CALENDAR_PARTS.map((_, p) => median(parts.map((r) => r[p]!))),
        missingIndicator,
      };
    }
    return { kind: f.kind, name: f.name, median: median(train), missingIndicator };
  });
}

/** The encoded column names, in matrix order, with which input feature each comes from. */
export function encodedColumns(encoders: FeatureEncoder[]): { name: string; source: number; categorical: boolean }[] {
  const out: { name: string; source: number; categorical: boolean }[] = [];
  encoders.forEach((e, source) => {
    if (e.kind === 'categorical') out.push({ name: e.name, source, categorical: true });
    else if (e.kind === 'time')
      for (const p of CALENDAR_PARTS) out.push({ name: `${e.name}:${p}`, source, categorical: false });
    else out.push({ name: e.name, source, categorical: false });
    if (e.kind !== 'categorical' && e.missingIndicator)
      out.push({ name: `${e.name}:missing`, source, categorical: false });
  });
  return out;
}

/** Encodes one value of a feature into its columns (appended to `out`). `value`: number, string or null. */
export function encodeValue(e: FeatureEncoder, value: number | string | null, out: number[]): void {
  if (e.kind === 'categorical') {
    const code = value === null ? -1 : e.categories.indexOf(String(value));
    out.push(code === -1 ? e.categories.length : code);
    return;
  }
  const x = value === null ? NaN : typeof value === 'number' ? value : Number(value);
  if (e.kind === 'time') {
    const parts = calendar(x);
    parts.forEach((p, i) => out.push(Number.isNaN(p) ? e.medians[i]! : p));
  } else out.push(Number.isNaN(x) ? e.median : x);
  if (e.missingIndicator) out.push(Number.isNaN(x) ? 1 : 0);
}

/** Encodes all rows of the raw features into a column-major matrix. */
export function encodeRows(encoders: FeatureEncoder[], features: RawFeature[], rows: number): Matrix {
  const width = encodedColumns(encoders).length;
  const columns = Array.from({ length: width }, () => new Float64Array(rows));
  const lookups = encoders.map((e) => (e.kind === 'categorical' ? new Map(e.categories.map((c, i) => [c, i])) : null));
  const cell: number[] = [];
  for (let r = 0; r < rows; r++) {
    cell.length = 0;
    encoders.forEach((e, f) => {
      const raw = features[f]!.values[r];
      const lookup = lookups[f];
      if (lookup && e.kind === 'categorical') {
        const code = raw === null || raw === undefined ? undefined : lookup.get(String(raw));
        cell.push(code ?? e.categories.length);
      } else encodeValue(e, typeof raw === 'number' || typeof raw === 'string' ? raw : null, cell);
    });
    for (let c = 0; c < width; c++) columns[c]![r] = cell[c]!;
  }
  return { rows, columns };
}
