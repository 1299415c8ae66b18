import { Type, type Static, type TSchema } from 'typebox';
import { Id, NO_CONTROL_CHARACTERS, StringEnum } from '../http/schema-types.js';
import { ProfileResponse } from '../datasets/schemas.js';
import { CHART_SIZE } from './charts.js';
import { AGGREGATE_FUNCTIONS } from './query.js';
import { AGGREGATES, BUCKET_PATTERN, DEFAULT_SERIES, DOWNSAMPLE_MODES, MAX_SERIES } from './timeseries.js';

const Count = Type.Integer({ minimum: 0 });
const NullableNumber = Type.Unsafe<number | null>({ type: ['number', 'null'] });
const Version = Type.Optional(Id('dv', 'Version id (default: the latest)'));
const Column = (description: string) =>
  Type.String({ minLength: 1, maxLength: 1000, pattern: NO_CONTROL_CHARACTERS, description });

export const CHART_FORMATS = ['json', 'vega-lite', 'svg'] as const;
export type ChartFormat = (typeof CHART_FORMATS)[number];

/**
 * `?format=&width=&height=&title=` of every chart endpoint (the dataset charts here, a model version's charts in
 * src/models/schemas.ts); `titleDescription` says what the default title is.
 */
export const chartPresentationQuery = (titleDescription: string) => ({
  format: StringEnum(CHART_FORMATS, {
    default: 'json',
    description:
      'json: the numbers; vega-lite: a self-contained Vega-Lite spec (application/json); svg: the chart rendered on the server (image/svg+xml)',
  }),
  width: Type.Optional(
    Type.Integer({
      minimum: CHART_SIZE.min,
      maximum: CHART_SIZE.max,
      description: `Chart width in px (default ${CHART_SIZE.defaultWidth})`,
    }),
  ),
  height: Type.Optional(
    Type.Integer({
      minimum: CHART_SIZE.min,
      maximum: CHART_SIZE.max,
      description: `Chart height in px (default ${CHART_SIZE.defaultHeight})`,
    }),
  ),
  title: Type.Optional(
    Type.String({ maxLength: 200, pattern: '^[^\\u0000-\\u001f]*$', description: titleDescription }),
  ),
});

const ChartQuery = {
  version: Version,
  ...chartPresentationQuery(
    'Chart title (default: what is drawn, of which column, and the dataset name; empty: no title)',
  ),
};

const query = <P extends Record<string, TSchema>>(properties: P) =>
  Type.Object({ ...ChartQuery, ...properties }, { additionalProperties: false });

export const StatsQuery = query({});
export const HistogramQuery = query({
  column: Column('A numeric, timestamp or date column'),
  bins: Type.Integer({ minimum: 1, maximum: 200, default: 20 }),
});
export const ValueCountsQuery = query({
  column: Column('Any column of single values'),
  limit: Type.Integer({ minimum: 1, maximum: 1000, default: 20 }),
});
export const TimeseriesQuery = query({
  time: Column('A timestamp or date column'),
  value: Column('A numeric column'),
  agg: StringEnum(AGGREGATES, {
    default: 'mean',
    description: 'How the values of one bucket are combined (with `bucket`)',
  }),
  bucket: Type.Optional(
    Type.String({
      pattern: BUCKET_PATTERN,
      description: 'Aggregate per bucket of this size, UTC: 30s, 15m, 1h, 1d, 1w (from Monday), 1mo, 1y',
    }),
  ),
  points: Type.Integer({
    minimum: 2,
    maximum: 10_000,
    default: 1000,
    description: 'At most this many points are answered',
  }),
  mode: StringEnum(DOWNSAMPLE_MODES, {
    default: 'minmax',
    description:
      'How a longer series is reduced: minmax keeps the lowest and highest point of each time slice; lttb keeps the points of Largest-Triangle-Three-Buckets',
  }),
  from: Type.Optional(
    Type.String({
      format: 'date-time',
      description: 'Only rows at or after this instant (a zoomed view asks for its visible range, at full `points`)',
    }),
  ),
  to: Type.Optional(Type.String({ format: 'date-time', description: 'Only rows at or before this instant' })),
  series: Type.Optional(
    Column(
      'One line per value of this column (any column of single values; null is a value): the `seriesLimit` values with the most rows share `points`',
    ),
  ),
  seriesLimit: Type.Integer({
    minimum: 1,
    maximum: MAX_SERIES,
    default: DEFAULT_SERIES,
    description:
      'With `series`: at most this many series; the others are left out, and the answer says how many and their rows',
  }),
});

const Name = Type.String({
  minLength: 1,
  maxLength: 128,
  pattern: NO_CONTROL_CHARACTERS,
  description: 'Output column name',
});
const Expression = Type.String({
  minLength: 1,
  maxLength: 10_000,
  description: 'An expression of the pipeline expression language',
});
export const QueryBody = Type.Object(
  {
    version: Version,
    filter: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 10_000,
        description: 'A condition: only rows where it is true are aggregated',
      }),
    ),
    groupBy: Type.Optional(
      Type.Array(Type.Object({ expression: Expression, as: Name }, { additionalProperties: false }), { maxItems: 10 }),
    ),
    aggregations: Type.Array(
      Type.Object(
        { function: StringEnum(AGGREGATE_FUNCTIONS), expression: Type.Optional(Expression), as: Name },
        { additionalProperties: false },
      ),
      {
        minItems: 1,
        maxItems: 50,
        description: '`count` without an expression counts rows; every other function needs one',
      },
    ),
    orderBy: Type.Optional(
      Type.Array(
        Type.Object({ column: Name, descending: Type.Optional(Type.Boolean()) }, { additionalProperties: false }),
        { maxItems: 20 },
      ),
    ),
    // The most WEIR_QUERY_MAX_ROWS may be; the configured value is checked by the service.
    limit: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 1_000_000,
        description: 'Most rows answered (default 1000; at most WEIR_QUERY_MAX_ROWS)',
      }),
    ),
  },
  { additionalProperties: false },
);
export type QueryBodyT = Static<typeof QueryBody>;

export const QueryResponse = Type.Object({
  versionId: Type.String(),
  columns: Type.Array(Type.Object({ name: Type.String(), type: Type.String() })),
  rows: Type.Array(Type.Array(Type.Unknown())),
  truncated: Type.Boolean({ description: 'More rows matched than `limit`' }),
  elapsedMs: Type.Number(),
});

const Edge = Type.Unsafe<number | string>({ type: ['number', 'string'] });
/** A series' value of the split column as text; null for null. */
const SeriesKey = Type.Unsafe<string | null>({ type: ['string', 'null'] });

export const HistogramResponse = Type.Object({
  versionId: Type.String(),
  column: Type.String(),
  type: Type.String(),
  bins: Type.Array(Type.Object({ start: Edge, end: Edge, count: Count }), {
    description:
      'Edges are numbers, or ISO 8601 instants for timestamp and date columns; bins are [start, end), the last one holds the maximum',
  }),
  count: Count,
  nulls: Count,
});

export const ValueCountsResponse = Type.Object({
  versionId: Type.String(),
  column: Type.String(),
  type: Type.String(),
  values: Type.Array(Type.Object({ value: Type.Unsafe<string | null>({ type: ['string', 'null'] }), count: Count })),
  distinct: Count,
  otherCount: Count,
  rows: Count,
});

export const TimeseriesResponse = Type.Object({
  versionId: Type.String(),
  time: Type.String(),
  value: Type.String(),
  agg: StringEnum(AGGREGATES),
  bucket: Type.Unsafe<string | null>({ type: ['string', 'null'] }),
  mode: StringEnum(DOWNSAMPLE_MODES),
  rows: Count,
  points: Type.Array(
    Type.Object({
      time: Type.String({ format: 'date-time' }),
      value: NullableNumber,
      series: Type.Optional(SeriesKey),
    }),
  ),
  band: Type.Optional(
    Type.Array(
      Type.Object({
        time: Type.String({ format: 'date-time' }),
        min: NullableNumber,
        max: NullableNumber,
        series: Type.Optional(SeriesKey),
      }),
    ),
  ),
  downsampled: Type.Boolean(),
  series: Type.Optional(
    Type.Object(
      {
        column: Type.String(),
        limit: Count,
        total: Type.Integer({
          minimum: 0,
          description: 'Distinct values of the column among the rows with a time and a value',
        }),
        shown: Type.Array(Type.Object({ key: SeriesKey, rows: Count, downsampled: Type.Boolean() }), {
          description: 'The series answered, most rows first; each point names its series by `key`',
        }),
        omitted: Type.Integer({ minimum: 0, description: 'Series left out (those with the fewest rows)' }),
        omittedRows: Type.Integer({ minimum: 0, description: 'Rows of the series left out' }),
      },
      { description: 'Only with `series`: how the rows were split' },
    ),
  ),
});

export const StatsResponse = Type.Object({
  ...ProfileResponse.properties,
  correlation: Type.Object({
    method: Type.Literal('pearson'),
    columns: Type.Array(Type.String()),
    matrix: Type.Array(Type.Array(NullableNumber)),
    numericColumns: Count,
    truncated: Type.Boolean({ description: 'Only the first 50 numeric columns are in the matrix' }),
  }),
  missing: Type.Object({
    rows: Count,
    columns: Type.Array(Type.Object({ name: Type.String(), nulls: Count, fraction: Type.Number() })),
    rowsWithNulls: Count,
    rowsWithNullsFraction: Type.Number(),
    totalNulls: Count,
  }),
});

const Totals = { datasets: Count, versions: Count, rows: Count, parquetBytes: Count, sourceBytes: Count };
const JobCounts = {
  total: Count,
  byStatus: Type.Object({ queued: Count, running: Count, succeeded: Count, failed: Count, cancelled: Count }),
  successRate: Type.Unsafe<number | null>({
    type: ['number', 'null'],
    description: 'succeeded / (succeeded + failed)',
  }),
};

export const PlatformStatsQuery = Type.Object(
  {
    days: Type.Integer({
      minimum: 1,
      maximum: 365,
      default: 30,
      description: 'UTC days of the daily series, today included',
    }),
  },
  { additionalProperties: false },
);

export const PlatformStatsResponse = Type.Object({
  days: Count,
  since: Type.String({ format: 'date-time' }),
  totals: Type.Object(Totals),
  byFormat: Type.Array(Type.Object({ format: Type.String(), ...Totals })),
  byWorkspace: Type.Array(Type.Object({ workspaceId: Type.String(), name: Type.String(), ...Totals })),
  jobs: Type.Object({ ...JobCounts, byKind: Type.Array(Type.Object({ kind: Type.String(), ...JobCounts })) }),
  daily: Type.Array(
    Type.Object({
      date: Type.String({ format: 'date' }),
      versions: Count,
      rows: Count,
      parquetBytes: Count,
      sourceBytes: Count,
      jobsFinished: Count,
      jobsFailed: Count,
    }),
  ),
  largestDatasets: Type.Array(
    Type.Object({
      id: Type.String(),
      name: Type.String(),
      workspaceId: Type.String(),
      workspaceName: Type.String(),
      versions: Count,
      rows: Count,
      parquetBytes: Count,
      sourceBytes: Count,
    }),
  ),
});
