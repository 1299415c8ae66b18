/**
 * The whitelist of functions expressions may call: each maps to DuckDB SQL with its arity and argument and
 * return types. Nothing outside this table is callable. Functions that DuckDB would fail on for bad data
 * (sqrt of a negative, ln of 0, casts of unparsable text, out-of-range epochs) yield null instead, so one bad
 * row never aborts a whole pipeline run.
 */
import { isoTimestamp } from '../../engine/sql.js';
import type { ValueType } from './types.js';

export type ArgSpec =
  /** Any value of the listed types (`[]`: any type at all); null and unknown-typed columns always fit. */
  | { kind: 'value'; types: readonly ValueType[] }
  /** Every `same` argument of one call is unified to one type, which `returns: 'same'` then gives back. */
  | { kind: 'same' }
  /** A text literal from `units` (case-insensitive), bound as a parameter in its lower-case spelling. */
  | { kind: 'unit'; units: readonly string[] }
  /** A text literal that is a strftime format DuckDB supports. */
  | { kind: 'format' }
  /** An integer literal between -38 and 38 (DuckDB rounds decimals only to a constant number of digits). */
  | { kind: 'digits' };

export interface FunctionDef {
  /** How the function is called, for hints: `round(x[, digits])`. */
  usage: string;
  args: readonly ArgSpec[];
  /** Required arguments; any further entries of `args` are optional. */
  min: number;
  /** The last entry of `args` repeats without bound. */
  variadic?: boolean;
  returns: ValueType | 'same';
  /**
   * DuckDB SQL for the call. `args` are SQL fragments (already parenthesized or atomic); `types` are the checked
   * argument types, with a null literal reported as the first type its spec accepts (it is cast to that type).
   */
  sql: (args: readonly string[], types: readonly ValueType[]) => string;
}

export const TIME_UNITS = [
  'year',
  'quarter',
  'month',
  'week',
  'day',
  'hour',
  'minute',
  'second',
  'millisecond',
] as const;

const num: ArgSpec = { kind: 'value', types: ['number'] };
const text: ArgSpec = { kind: 'value', types: ['text'] };
const temporal: ArgSpec = { kind: 'value', types: ['timestamp', 'date'] };
const anything: ArgSpec = { kind: 'value', types: [] };
const same: ArgSpec = { kind: 'same' };
const unit: ArgSpec = { kind: 'unit', units: TIME_UNITS };

/** `name(a, b, …)`: the common case of a DuckDB function of the same name and arguments. */
const plain =
  (name: string) =>
  (a: readonly string[]): string =>
    `${name}(${a.join(', ')})`;

/** Wraps calls that raise errors on some inputs (sqrt(-1), ln(0), huge epochs) so those rows get null. */
const orNull =
  (name: string) =>
  (a: readonly string[]): string =>
    `try(${name}(${a.join(', ')}))`;

/** Text for any value; timestamps and dates in the ISO 8601 form Weir's JSON uses (UTC). */
export function toTextSql(arg: string, type: ValueType): string {
  if (type === 'timestamp') return isoTimestamp(arg);
  if (type === 'date') return `strftime(${arg}, '%Y-%m-%d')`;
  return type === 'text' ? arg : `CAST(${arg} AS VARCHAR)`;
}

const fn = (
  usage: string,
  args: readonly ArgSpec[],
  returns: FunctionDef['returns'],
  sql: FunctionDef['sql'],
  extra: Partial<Pick<FunctionDef, 'min' | 'variadic'>> = {},
): FunctionDef => ({
  usage,
  args,
  min: extra.min ?? args.length,
  variadic: extra.variadic ?? false,
  returns,
  sql,
});

const table: Record<string, FunctionDef> = {
  // math
  abs: fn('abs(x)', [num], 'number', plain('abs')),
  round: fn('round(x[, digits])', [num, { kind: 'digits' }], 'number', plain('round'), { min: 1 }),
  floor: fn('floor(x)', [num], 'number', plain('floor')),
  ceil: fn('ceil(x)', [num], 'number', plain('ceil')),
  sqrt: fn('sqrt(x)', [num], 'number', orNull('sqrt')),
  ln: fn('ln(x)', [num], 'number', orNull('ln')),
  log10: fn('log10(x)', [num], 'number', orNull('log10')),
  exp: fn('exp(x)', [num], 'number', plain('exp')),
  power: fn('power(x, y)', [num, num], 'number', plain('power')),
  least: fn('least(a, b, …)', [same], 'same', plain('least'), { min: 1, variadic: true }),
  greatest: fn('greatest(a, b, …)', [same], 'same', plain('greatest'), { min: 1, variadic: true }),
  // nulls
  coalesce: fn('coalesce(a, b, …)', [same], 'same', plain('coalesce'), { min: 1, variadic: true }),
  nullif: fn('nullif(a, b)', [same, same], 'same', plain('nullif')),
  // text
  lower: fn('lower(s)', [text], 'text', plain('lower')),
  upper: fn('upper(s)', [text], 'text', plain('upper')),
  trim: fn('trim(s)', [text], 'text', plain('trim')),
  length: fn('length(s)', [text], 'number', plain('length')),
  substr: fn(
    'substr(s, start[, length])',
    [text, num, num],
    'text',
    ([s, ...rest]) => `substr(${[s, ...rest.map((a) => `TRY_CAST(${a} AS BIGINT)`)].join(', ')})`,
    { min: 2 },
  ),
  replace: fn('replace(s, from, to)', [text, text, text], 'text', plain('replace')),
  starts_with: fn('starts_with(s, prefix)', [text, text], 'boolean', plain('starts_with')),
  ends_with: fn('ends_with(s, suffix)', [text, text], 'boolean', plain('ends_with')),
  contains: fn('contains(s, part)', [text, text], 'boolean', plain('contains')),
  // concat skips nulls (unlike ||) and writes timestamps and dates as ISO 8601
  concat: fn(
    'concat(a, b, …)',
    [anything],
    'text',
    (a, t) => `concat(${a.map((x, i) => toTextSql(x, t[i] ?? 'any')).join(', ')})`,
    { min: 1, variadic: true },
  ),
  // dates and times (TIMESTAMPTZ results are in UTC: the engine's session time zone)
  year: fn('year(t)', [temporal], 'number', plain('year')),
  month: fn('month(t)', [temporal], 'number', plain('month')),
  day: fn('day(t)', [temporal], 'number', plain('day')),
  hour: fn('hour(t)', [temporal], 'number', plain('hour')),
  minute: fn('minute(t)', [temporal], 'number', plain('minute')),
  second: fn('second(t)', [temporal], 'number', plain('second')),
  date_trunc: fn(`date_trunc(unit, t)`, [unit, temporal], 'timestamp', plain('date_trunc')),
  date_diff: fn(`date_diff(unit, start, end)`, [unit, temporal, temporal], 'number', plain('date_diff')),
  now: fn('now()', [], 'timestamp', () => 'now()'),
  strftime: fn('strftime(t, format)', [temporal, { kind: 'format' }], 'text', plain('strftime')),
  // conversions: text that does not parse becomes null
  to_number: fn('to_number(x)', [{ kind: 'value', types: ['number', 'text', 'boolean'] }], 'number', ([a], [t]) =>
    t === 'number' ? `${a}` : `TRY_CAST(${a} AS DOUBLE)`,
  ),
  to_text: fn('to_text(x)', [anything], 'text', ([a], [t]) => toTextSql(`${a}`, t ?? 'any')),
  to_boolean: fn(
    'to_boolean(x)',
    [{ kind: 'value', types: ['boolean', 'text', 'number'] }],
    'boolean',
    ([a]) => `TRY_CAST(${a} AS BOOLEAN)`,
  ),
  to_date: fn('to_date(x)', [{ kind: 'value', types: ['text', 'timestamp', 'date'] }], 'date', ([a], [t]) =>
    t === 'text' || t === 'any' ? `TRY_CAST(${a} AS DATE)` : `CAST(${a} AS DATE)`,
  ),
  to_timestamp: fn(
    'to_timestamp(epoch_seconds | text)',
    [{ kind: 'value', types: ['number', 'text', 'timestamp', 'date'] }],
    'timestamp',
    ([a], [t]) => {
      if (t === 'number') return `try(to_timestamp(CAST(${a} AS DOUBLE)))`;
      return t === 'text' || t === 'any' ? `TRY_CAST(${a} AS TIMESTAMPTZ)` : `CAST(${a} AS TIMESTAMPTZ)`;
    },
  ),
};

/** Looked up by lower-case name; a Map so that names like `constructor` or `__proto__` find nothing. */
export const FUNCTIONS: ReadonlyMap<string, FunctionDef> = new Map(Object.entries(table));
