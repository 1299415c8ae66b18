import { Type, type Static } from 'typebox';
import { ident, isNumeric, typeFamily, type ColumnSchema } from '../../engine/sql.js';
import { quoteForMessage } from '../expr/errors.js';
import { DURATION_HELP, parseDuration, type Duration, type DurationUnit } from './duration.js';
import { ColumnName, pointerToken, requireColumn, requireColumns, stepError } from './common.js';
import type { CompiledStep, KnownRows, StepInput, StepKind } from './types.js';

/**
 * Time buckets of a timestamp or date column, one row per bucket (and group) with one aggregate per column.
 *
 * Where bucket boundaries fall:
 * - day, week (Monday), month and year buckets start at local midnight in `timezone`: rows are moved to that zone's
 *   wall-clock time, bucketed there and the bucket start converted back, so a day across a DST change is 23 or 25
 *   hours long;
 * - second, minute and hour buckets are fixed lengths of absolute time (aligned in UTC): bucketing wall-clock time
 *   would merge the repeated hour when clocks go back;
 * - a naive TIMESTAMP is UTC (as everywhere in Weir); a DATE is that calendar day, midnight in the zone.
 * Rows with a null time belong to no bucket. Output: the time column (bucket start, TIMESTAMPTZ), the group columns,
 * one column per aggregation named as its source; ordered by the groups, then time. first/last are the earliest/
 * latest non-null value (of rows at the same instant, any one).
 *
 * Fill (every mode but `none` adds the missing buckets between each group's first and last bucket): `null`, `zero`,
 * `forward` (the last value before), `linear` (between the nearest values before and after, by bucket position;
 * the column becomes DOUBLE). A count is 0 in an added bucket whatever the mode: an empty bucket's count is known.
 * Only added buckets are filled; a bucket with rows keeps its aggregate, null or not. The buckets a fill makes are
 * counted before the step runs (`knownRows`): a grid over a wide span (a century of seconds) is refused, not started.
 */

const ResampleSchema = Type.Object(
  {
    type: Type.Literal('resample'),
    time: Type.String({ ...ColumnName, description: 'Timestamp or date column' }),
    every: Type.String({ minLength: 1, maxLength: 16, description: `Bucket width: ${DURATION_HELP}` }),
    aggregations: Type.Record(
      ColumnName,
      Type.Union([
        Type.Literal('mean'),
        Type.Literal('sum'),
        Type.Literal('min'),
        Type.Literal('max'),
        Type.Literal('count'),
        Type.Literal('first'),
        Type.Literal('last'),
        Type.Literal('median'),
      ]),
      { minProperties: 1 },
    ),
    fill: Type.Optional(
      Type.Union([
        Type.Literal('none'),
        Type.Literal('null'),
        Type.Literal('zero'),
        Type.Literal('forward'),
        Type.Literal('linear'),
      ]),
    ),
    groupBy: Type.Optional(Type.Array(ColumnName)),
    timezone: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 64,
        description: "IANA time zone of day, week, month and year boundaries (default 'UTC')",
      }),
    ),
  },
  { additionalProperties: false },
);

export type ResampleStep = Static<typeof ResampleSchema>;
type Fill = NonNullable<ResampleStep['fill']>;
type Aggregation = ResampleStep['aggregations'][string];

const NUMERIC_ONLY = new Set<Aggregation>(['mean', 'sum', 'median']);

/** `a` aggregated over the rows of a bucket, `t` their time: first/last are the earliest/latest non-null value. */
const AGGREGATE_SQL: Record<Aggregation, (v: string, t: string) => string> = {
  mean: (v) => `avg(${v})`,
  sum: (v) => `sum(${v})`,
  min: (v) => `min(${v})`,
  max: (v) => `max(${v})`,
  count: (v) => `count(${v})`,
  first: (v, t) => `arg_min(${v}, ${t})`,
  last: (v, t) => `arg_max(${v}, ${t})`,
  median: (v) => `quantile_cont(${v}, 0.5)`,
};

let zones: Set<string> | undefined;

/**
 * IANA names Node knows (its canonical list plus the aliases it accepts, e.g. Asia/Kolkata beside Asia/Calcutta),
 * and UTC. The name is bound as a parameter, so this check is about a helpful 400, not about safety.
 */
export function isTimeZone(name: string): boolean {
  zones ??= new Set([...Intl.supportedValuesOf('timeZone'), 'UTC']);
  if (zones.has(name)) return true;
  if (!/^[A-Za-z_]+(?:\/[A-Za-z0-9_+-]+)+$/.test(name)) return false;
  try {
    new Intl.DateTimeFormat('en', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

/**
 * Wall-clock time of `column` in the zone bound to `zone` (a naive TIMESTAMP). In UTC, which every sub-day bucket
 * and most calendar ones use, the instant's microseconds are the wall clock: `make_timestamp(epoch_us(…))` is
 * integer work, where `timezone()` asks ICU for every row (4× the cost of the whole step on 10M rows).
 */
function wallClock(column: ColumnSchema, zone: string, utc: boolean): string {
  const c = ident(column.name);
  if (typeFamily(column.type) === 'date') return `CAST(${c} AS TIMESTAMP)`;
  const zoned = column.type.toUpperCase() === 'TIMESTAMP WITH TIME ZONE';
  if (utc) return zoned ? `make_timestamp(epoch_us(${c}))` : `CAST(${c} AS TIMESTAMP)`;
  if (zoned) return `timezone(${zone}, ${c})`;
  return `timezone(${zone}, timezone('UTC', CAST(${c} AS TIMESTAMP)))`;
}

interface Measure {
  column: ColumnSchema;
  aggregation: Aggregation;
}

function requireMeasures(
  step: ResampleStep,
  input: StepInput,
  time: ColumnSchema,
  keys: ColumnSchema[],
  fill: Fill,
): Measure[] {
  return Object.entries(step.aggregations).map(([name, aggregation]) => {
    const at = `${input.pointer}/aggregations/${pointerToken(name)}`;
    const column = requireColumn(input.schema, name, at);
    if (column === time)
      throw stepError(at, `${quoteForMessage(name)} is the time column; its buckets are the output's time`);
    if (keys.includes(column))
      throw stepError(at, `${quoteForMessage(name)} is a group column; it cannot also be aggregated`);
    if (NUMERIC_ONLY.has(aggregation) && !isNumeric(column.type))
      throw stepError(at, `column ${quoteForMessage(name)} is ${column.type}; ${aggregation} needs a numeric column`);
    const numericResult = aggregation === 'count' || isNumeric(column.type);
    if ((fill === 'zero' || fill === 'linear') && !numericResult)
      throw stepError(
        at,
        `fill '${fill}' needs numbers, and ${aggregation} of ${quoteForMessage(name)} is ${column.type}`,
      );
    return { column, aggregation };
  });
}

/** The value of measure `i` in a bucket the grid added (`seen` false) or one with rows. */
function filled(measure: Measure, i: number, fill: Fill): string {
  const a = `a${i}`;
  if (measure.aggregation === 'count') return `coalesce(${a}, 0)`;
  switch (fill) {
    case 'none':
    case 'null':
      return a;
    case 'zero':
      return `CASE WHEN seen THEN ${a} ELSE 0 END`;
    case 'forward':
      return `CASE WHEN seen THEN ${a} ELSE last_value(${a} IGNORE NULLS) OVER weir_before END`;
    case 'linear': {
      const [before, after] = [
        `CAST(last_value(${a} IGNORE NULLS) OVER weir_before AS DOUBLE)`,
        `CAST(first_value(${a} IGNORE NULLS) OVER weir_after AS DOUBLE)`,
      ];
      const [nBefore, nAfter] = [
        `last_value(CASE WHEN ${a} IS NOT NULL THEN n END IGNORE NULLS) OVER weir_before`,
        `first_value(CASE WHEN ${a} IS NOT NULL THEN n END IGNORE NULLS) OVER weir_after`,
      ];
      return `CASE WHEN seen THEN CAST(${a} AS DOUBLE) ELSE ${before} + (${after} - ${before}) * (n - ${nBefore}) / (${nAfter} - ${nBefore}) END`;
    }
  }
}

/**
 * Every bucket from each group's first to its last (`weir_grid`), joined to the buckets with rows (`seen`) and
 * numbered in time order (`n`, the position linear fill interpolates by). The grid streams out of the
 * generate_series TABLE function, joined laterally to each group's span: the scalar generate_series builds a LIST,
 * one value allocated whole outside DuckDB's memory limit and out of reach of an interrupt (a century of seconds
 * took 22 GB before the kernel stopped it).
 */
function gridCtes(k: string[], measureCount: number, width: string): string[] {
  const partition = k.length > 0 ? `PARTITION BY ${k.map((x) => `weir_grid.${x}`).join(', ')} ` : '';
  const sameGroup = k.map((x) => ` AND weir_grid.${x} IS NOT DISTINCT FROM weir_buckets.${x}`).join('');
  // Without groups, min/max over no buckets is still one row (of nulls): HAVING keeps the grid empty then.
  const spans = `SELECT ${[...k, 'min(b) AS lo', 'max(b) AS hi'].join(', ')} FROM weir_buckets${k.length > 0 ? ` GROUP BY ${k.join(', ')}` : ' HAVING count(*) > 0'}`;
  const columns = [
    'weir_grid.b',
    ...k.map((x) => `weir_grid.${x}`),
    ...Array.from({ length: measureCount }, (_, i) => `a${i}`),
  ];
  const gridColumns = [...k.map((x) => `weir_spans.${x}`), 'weir_series.b'];
  return [
    `weir_spans AS (${spans})`,
    `weir_grid AS (SELECT ${gridColumns.join(', ')} FROM weir_spans, generate_series(weir_spans.lo, weir_spans.hi, ${width}) AS weir_series(b))`,
    `weir_filled AS (SELECT ${columns.join(', ')}, weir_buckets.b IS NOT NULL AS seen, row_number() OVER (${partition}ORDER BY weir_grid.b) AS n ` +
      `FROM weir_grid LEFT JOIN weir_buckets ON weir_grid.b = weir_buckets.b${sameGroup})`,
  ];
}

/**
 * Buckets from `lo` to `hi` (both bucket starts) as a count of the date part the width is made of: exact, since both
 * are aligned to the same origin and the grid steps by whole widths of wall-clock time.
 */
const BUCKET_PART: Record<DurationUnit, { part: string; per: number }> = {
  s: { part: 'second', per: 1 },
  m: { part: 'second', per: 60 },
  h: { part: 'second', per: 3600 },
  d: { part: 'day', per: 1 },
  w: { part: 'day', per: 7 },
  mo: { part: 'month', per: 1 },
  y: { part: 'month', per: 12 },
};

/**
 * The rows a fill makes: per group, the buckets from its first to its last, summed. Reads the time and group columns
 * only, grouped by the groups (not by bucket), so it costs a fraction of the step. Its placeholders are its own:
 * the zone only when wall-clock time needs it.
 */
function knownRows(
  time: ColumnSchema,
  keys: ColumnSchema[],
  every: Duration,
  zoneName: string,
  input: StepInput,
  step: ResampleStep,
): KnownRows {
  const utc = zoneName === 'UTC';
  const zone = `$${input.paramOffset + 1}`;
  const width = `CAST($${input.paramOffset + (utc ? 1 : 2)} AS INTERVAL)`;
  const { part, per } = BUCKET_PART[every.unit];
  // Integers of the closed duration grammar, not user text.
  const buckets = `CAST(date_diff('${part}', time_bucket(${width}, lo), time_bucket(${width}, hi)) // ${per * every.amount} AS DOUBLE) + 1`;
  const rows = [`${wallClock(time, zone, utc)} AS t`, ...keys.map((c, j) => `${ident(c.name)} AS k${j}`)];
  const groups = keys.length > 0 ? ` GROUP BY ${keys.map((_, j) => `k${j}`).join(', ')}` : '';
  return {
    sql:
      `WITH weir_rows AS (SELECT ${rows.join(', ')} FROM ${input.from} WHERE ${ident(time.name)} IS NOT NULL) ` +
      `SELECT coalesce(sum(${buckets}), 0) AS rows FROM (SELECT min(t) AS lo, max(t) AS hi FROM weir_rows${groups})`,
    params: utc ? [every.interval] : [zoneName, every.interval],
    what: `buckets from ${keys.length > 0 ? "each group's first to its last" : 'the first to the last'}, every ${quoteForMessage(step.every)}`,
    hint: `use a wider 'every', filter the rows to a shorter time range first, or fill 'none'`,
    pointer: `${input.pointer}/every`,
  };
}

function compile(step: ResampleStep, input: StepInput): CompiledStep {
  const { pointer } = input;
  const time = requireColumn(input.schema, step.time, `${pointer}/time`);
  if (!['timestamp', 'date'].includes(typeFamily(time.type)))
    throw stepError(
      `${pointer}/time`,
      `column ${quoteForMessage(time.name)} is ${time.type}; resample needs a timestamp or date column`,
    );
  const every = parseDuration(step.every);
  if (!every)
    throw stepError(`${pointer}/every`, `${quoteForMessage(step.every)} is not a bucket width; use ${DURATION_HELP}`);
  const timezone = step.timezone ?? 'UTC';
  if (!isTimeZone(timezone))
    throw stepError(
      `${pointer}/timezone`,
      `${quoteForMessage(timezone)} is not a known IANA time zone, e.g. 'Europe/Berlin' or 'UTC'`,
    );
  const keys = requireColumns(input.schema, step.groupBy ?? [], `${pointer}/groupBy`);
  keys.forEach((k, j) => {
    if (k === time)
      throw stepError(
        `${pointer}/groupBy/${j}`,
        `${quoteForMessage(k.name)} is the time column; it cannot also be a group column`,
      );
  });
  const fill = step.fill ?? 'none';
  const measures = requireMeasures(step, input, time, keys, fill);

  const zone = `$${input.paramOffset + 1}`;
  const width = `CAST($${input.paramOffset + 2} AS INTERVAL)`;
  const zoneName = every.calendar ? timezone : 'UTC';
  const params = [zoneName, every.interval];
  const k = keys.map((_, j) => `k${j}`);
  const rows = [
    `${wallClock(time, zone, zoneName === 'UTC')} AS t`,
    ...keys.map((c, j) => `${ident(c.name)} AS k${j}`),
    ...measures.map((m, i) => `${ident(m.column.name)} AS v${i}`),
  ];
  const aggregates = measures.map((m, i) => `${AGGREGATE_SQL[m.aggregation](`v${i}`, 't')} AS a${i}`);
  const ctes = [
    `weir_rows AS (SELECT ${rows.join(', ')} FROM ${input.from} WHERE ${ident(time.name)} IS NOT NULL)`,
    `weir_buckets AS (SELECT time_bucket(${width}, t) AS b, ${[...k, ...aggregates].join(', ')} FROM weir_rows GROUP BY ${['b', ...k].join(', ')})`,
  ];
  if (fill !== 'none') ctes.push(...gridCtes(k, measures.length, width));
  const output = [
    `timezone(${zone}, b) AS ${ident(time.name)}`,
    ...keys.map((c, j) => `k${j} AS ${ident(c.name)}`),
    ...measures.map((m, i) => `${filled(m, i, fill)} AS ${ident(m.column.name)}`),
  ];
  const windowPartition = k.length > 0 ? `PARTITION BY ${k.join(', ')} ` : '';
  const windows =
    fill === 'forward' || fill === 'linear'
      ? ` WINDOW weir_before AS (${windowPartition}ORDER BY b ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW), weir_after AS (${windowPartition}ORDER BY b ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING)`
      : '';
  // By position (groups are 2…, time is 1): in ORDER BY an output name (a user's column name) would win over ours.
  const order = [...keys.map((_, j) => String(j + 2)), '1'].join(', ');
  const sql = `WITH ${ctes.join(', ')} SELECT ${output.join(', ')} FROM ${fill === 'none' ? 'weir_buckets' : 'weir_filled'}${windows} ORDER BY ${order}`;
  // Without fill, the buckets with rows are at most the rows.
  return fill === 'none'
    ? { sql, params }
    : { sql, params, knownRows: knownRows(time, keys, every, zoneName, input, step) };
}

export const resampleStep: StepKind<ResampleStep> = {
  type: 'resample',
  summary: 'Aggregate rows into regular time buckets (per group), optionally filling the missing buckets',
  schema: ResampleSchema,
  compile,
};
