import { Readable } from 'node:stream';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import path from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { Profile } from './api-types.js';
import { clientAction, integer, printJson, printLine, type ClientContext } from './command.js';
import { datasetArgument, datasetOf, datasetPath, formatDistinct, versionOption } from './datasets.js';
import { saveTo } from './download.js';
import { clean, formatCount, formatValue, table, truncate } from './format.js';

/** GET /datasets/:id/stats, as far as the CLI reads it (written by hand like the rest of the CLI's wire types). */
interface StatsWire extends Profile {
  correlation: { method: string; columns: string[]; matrix: (number | null)[][]; truncated: boolean };
  missing: {
    rows: number;
    columns: { name: string; nulls: number; fraction: number }[];
    rowsWithNulls: number;
    rowsWithNullsFraction: number;
    totalNulls: number;
  };
}

const CELL = 24;
const percent = (fraction: number) => `${(fraction * 100).toFixed(fraction > 0 && fraction < 0.001 ? 3 : 1)}%`;

function describeStats(s: StatsWire): string {
  const profile = table(
    ['COLUMN', 'TYPE', 'NULLS', 'MISSING', 'DISTINCT', 'MIN', 'MAX', 'MEAN', 'STDDEV'],
    s.columns.map((c) => {
      const missing = s.missing.columns.find((m) => m.name === c.name);
      return [
        truncate(clean(c.name), CELL),
        c.type,
        formatCount(c.nulls),
        missing ? percent(missing.fraction) : '',
        formatDistinct(c),
        truncate(formatValue(c.min), CELL),
        truncate(formatValue(c.max), CELL),
        c.mean === null ? '' : formatValue(c.mean),
        c.stddev === null ? '' : formatValue(c.stddev),
      ];
    }),
    ['left', 'left', 'right', 'right', 'right', 'left', 'left', 'right', 'right'],
  );
  const parts = [
    profile,
    `\n${formatCount(s.rowCount)} rows; ${formatCount(s.missing.rowsWithNulls)} (${percent(s.missing.rowsWithNullsFraction)}) with a missing value`,
  ];
  const names = s.correlation.columns;
  if (names.length >= 2) {
    const short = names.map((n) => truncate(clean(n), 12));
    const rows = s.correlation.matrix.map((row, i) => [
      short[i]!,
      ...row.map((r) => (r === null ? '–' : r.toFixed(2))),
    ]);
    parts.push(
      `\ncorrelation (Pearson)${s.correlation.truncated ? `, first ${names.length} numeric columns` : ''}\n${table(['', ...short], rows, ['left', ...names.map(() => 'right' as const)])}`,
    );
  }
  return parts.join('\n');
}

async function stats({ client, json }: ClientContext, id: string, opts: { version?: string }): Promise<void> {
  const s = await client.getJson<StatsWire>(`${datasetPath(id)}/stats`, { version: opts.version });
  if (json) return printJson(s);
  printLine(describeStats(s));
}

type ChartFormat = 'svg' | 'vega-lite';

interface ChartOptions {
  time?: string;
  value?: string;
  agg?: string;
  bucket?: string;
  points?: number;
  mode?: string;
  series?: string;
  seriesLimit?: number;
  histogram?: string;
  bins?: number;
  valueCounts?: string;
  limit?: number;
  format?: ChartFormat;
  out?: string;
  width?: number;
  height?: number;
  title?: string;
  version?: string;
}

/** Which chart the options ask for: exactly one of a time series, a histogram or value counts. */
function chartRequest(o: ChartOptions): { endpoint: string; query: Record<string, string | number | undefined> } {
  const kinds = [
    o.time !== undefined || o.value !== undefined,
    o.histogram !== undefined,
    o.valueCounts !== undefined,
  ].filter(Boolean).length;
  if (kinds !== 1)
    throw new InvalidArgumentError(
      'choose one chart: --time and --value (a time series), --histogram <column> or --value-counts <column>',
    );
  if (o.histogram !== undefined) return { endpoint: 'histogram', query: { column: o.histogram, bins: o.bins } };
  if (o.valueCounts !== undefined)
    return { endpoint: 'value-counts', query: { column: o.valueCounts, limit: o.limit } };
  if (o.time === undefined || o.value === undefined)
    throw new InvalidArgumentError('a time series needs both --time <column> and --value <column>');
  if (o.seriesLimit !== undefined && o.series === undefined)
    throw new InvalidArgumentError('--series-limit needs --series <column>');
  return {
    endpoint: 'timeseries',
    query: {
      time: o.time,
      value: o.value,
      agg: o.agg,
      bucket: o.bucket,
      points: o.points,
      mode: o.mode,
      series: o.series,
      seriesLimit: o.seriesLimit,
    },
  };
}

/** --format, else from --out's extension (.json → the Vega-Lite spec), else SVG. */
function chartFormat(o: ChartOptions): ChartFormat {
  if (o.format) return o.format;
  return o.out && path.extname(o.out).toLowerCase() === '.json' ? 'vega-lite' : 'svg';
}

async function chart({ client, json }: ClientContext, id: string, o: ChartOptions): Promise<void> {
  const { endpoint, query } = chartRequest(o);
  const format = chartFormat(o);
  const response = await client.request('GET', `${datasetPath(id)}/${endpoint}`, {
    query: { ...query, format, width: o.width, height: o.height, title: o.title, version: o.version },
  });
  if (!o.out) {
    const body = await response.text();
    process.stdout.write(body.endsWith('\n') ? body : `${body}\n`);
    return;
  }
  // Written beside the destination and renamed, as downloads are: an interrupted command leaves no half chart.
  const bytes = await saveTo(Readable.fromWeb(response.body as NodeReadableStream), o.out).catch((e: unknown) => {
    throw new Error(`cannot write ${o.out}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, {
      cause: e,
    });
  });
  if (json) printJson({ out: o.out, format, bytes });
  else
    printLine(
      `wrote ${format === 'svg' ? 'an SVG chart' : 'a Vega-Lite spec'} to ${o.out} (${formatCount(bytes)} bytes)`,
    );
}

/** `weir datasets stats` and `weir datasets chart`, under the `datasets` command. */
export function registerAnalytics(datasets: Command): void {
  clientAction<{ version?: string }>(
    datasets
      .command('stats')
      .description(
        'profile of a version with missing values per column and the correlation matrix of its numeric columns',
      )
      .addArgument(datasetArgument())
      .addOption(versionOption()),
    async (ctx, args, opts) => stats(ctx, await datasetOf(ctx, args), opts),
  );

  clientAction<ChartOptions>(
    datasets
      .command('chart')
      .description(
        'render a chart of a version on the server: a time series (--time, --value), a histogram or value counts; SVG or Vega-Lite',
      )
      .addArgument(datasetArgument())
      .option('--time <column>', 'time series: the timestamp or date column')
      .option('--value <column>', 'time series: the numeric column')
      .addOption(
        new Option('--agg <function>', 'time series: aggregate per bucket').choices([
          'mean',
          'sum',
          'min',
          'max',
          'count',
        ]),
      )
      .option('--bucket <size>', 'time series: aggregate per bucket of this size (30s, 15m, 1h, 1d, 1w, 1mo, 1y)')
      .option('--points <n>', 'time series: at most this many points (server default 1000)', integer(2))
      .addOption(new Option('--mode <mode>', 'time series: how a long series is reduced').choices(['minmax', 'lttb']))
      .option(
        '--series <column>',
        'time series: one line per value of this column (the largest ones, see --series-limit)',
      )
      .option(
        '--series-limit <n>',
        'time series: at most this many lines with --series (1-20; server default 10)',
        integer(1),
      )
      .option('--histogram <column>', 'a histogram of this numeric or time column')
      .option('--bins <n>', 'histogram: number of bins (server default 20)', integer(1))
      .option('--value-counts <column>', 'the most frequent values of this column')
      .option('--limit <n>', 'value counts: at most this many values (server default 20)', integer(1))
      .addOption(
        new Option(
          '--format <format>',
          "svg, or vega-lite for the spec (default: from --out's extension, .json → vega-lite; else svg)",
        ).choices(['svg', 'vega-lite']),
      )
      .option('--out <file>', 'write the chart to this file (default: stdout)')
      .option('--width <px>', 'chart width (100-4000)', integer(100))
      .option('--height <px>', 'chart height (100-4000)', integer(100))
      .option('--title <text>', 'chart title (default: what is drawn and the dataset name; "" for none)')
      .addOption(versionOption()),
    async (ctx, args, opts) => {
      chartRequest(opts);
      return chart(ctx, await datasetOf(ctx, args), opts);
    },
  );
}
