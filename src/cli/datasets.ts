import { createInterface } from 'node:readline/promises';
import { Argument, Option, type Command } from 'commander';
import {
  DATASET_FORMATS,
  type ColumnProfile,
  type Dataset,
  type DatasetList,
  type Preview,
  type Profile,
  type VersionList,
} from './api-types.js';
import { arg, clientAction, integer, printJson, printLine, type ClientContext } from './command.js';
import { registerDownload } from './download.js';
import { clean, formatBytes, formatCount, formatDate, formatValue, keyValues, table, truncate } from './format.js';
import { DATASETS, resolveId } from './resolve.js';

export const datasetPath = (id: string) => `/api/v1/datasets/${encodeURIComponent(id)}`;

/** The `<dataset>` argument of every command that acts on one: its name or its id. */
export const datasetArgument = () => new Argument('<dataset>', 'dataset name or id (ds_…)');

/** The dataset id the command's first argument stands for (see resolve.ts). */
export const datasetOf = (ctx: ClientContext, args: string[]) => resolveId(ctx.client, DATASETS, arg(args, 0));

/** Widest a table cell may get before it is cut with "…". */
const CELL = 40;

interface ListOptions {
  search?: string;
  tag?: string;
  format?: string;
  limit?: number;
  offset?: number;
}

async function list({ client, json }: ClientContext, opts: ListOptions): Promise<void> {
  const page = await client.getJson<DatasetList>('/api/v1/datasets', {
    search: opts.search,
    tag: opts.tag,
    format: opts.format,
    limit: opts.limit,
    offset: opts.offset,
  });
  if (json) return printJson(page);
  if (page.items.length === 0) {
    printLine(page.total === 0 ? 'no datasets' : `no datasets at offset ${page.offset} (${page.total} in all)`);
    return;
  }
  const rows = page.items.map((d) => [
    d.id,
    truncate(clean(d.name), CELL),
    d.format,
    d.latestVersion ? formatCount(d.latestVersion.rowCount) : '-',
    String(d.versionCount),
    d.latestVersion ? formatBytes(d.latestVersion.sourceBytes) : '-',
    formatDate(d.createdAt),
  ]);
  printLine(
    table(['ID', 'NAME', 'FORMAT', 'ROWS', 'VERSIONS', 'SIZE', 'CREATED'], rows, [
      'left',
      'left',
      'left',
      'right',
      'right',
      'right',
    ]),
  );
  if (page.total > page.items.length) {
    printLine(
      `\n${page.offset + 1}–${page.offset + page.items.length} of ${page.total}; see more with --offset ${page.offset + page.items.length}`,
    );
  }
}

function describe(d: Dataset): string {
  const v = d.latestVersion;
  const pairs: [string, string][] = [
    ['id', d.id],
    ['name', clean(d.name)],
    ['description', clean(d.description) || '-'],
    ['tags', d.tags.length > 0 ? d.tags.map(clean).join(', ') : '-'],
    ['format', d.format],
    ['versions', String(d.versionCount)],
    ['created', formatDate(d.createdAt)],
    ['updated', formatDate(d.updatedAt)],
  ];
  if (!v) return keyValues(pairs);
  pairs.push(
    ['latest', `version ${v.number} (${v.id}), ${formatDate(v.createdAt)}`],
    [
      'source',
      `${clean(v.sourceFilename)}, ${v.sourceFormat}${v.sourceEncoding ? `, ${v.sourceEncoding}` : ''}, ${formatBytes(v.sourceBytes)}`,
    ],
    ['stored', `${formatBytes(v.parquetBytes)} Parquet`],
    ['rows', formatCount(v.rowCount)],
    ['sha256', v.sha256 ?? '-'],
  );
  const schema = table(
    ['COLUMN', 'TYPE', 'NULLABLE'],
    v.schema.map((c) => [clean(c.name), c.type, c.nullable ? 'yes' : 'no']),
  );
  return `${keyValues(pairs)}\n\n${schema}`;
}

async function show({ client, json }: ClientContext, id: string): Promise<void> {
  const dataset = await client.getJson<Dataset>(datasetPath(id));
  if (json) printJson(dataset);
  else printLine(describe(dataset));
}

interface PreviewOptions {
  limit?: number;
  offset?: number;
  columns?: string;
  version?: string;
}

async function preview({ client, json }: ClientContext, id: string, opts: PreviewOptions): Promise<void> {
  const page = await client.getJson<Preview>(`${datasetPath(id)}/preview`, {
    limit: opts.limit,
    offset: opts.offset,
    columns: opts.columns,
    version: opts.version,
  });
  if (json) return printJson(page);
  const numeric = page.columns.map(
    (c) => (/INT|DOUBLE|FLOAT|DECIMAL|REAL|NUMERIC/i.test(c.type) ? 'right' : 'left') as 'left' | 'right',
  );
  const rows = page.rows.map((r) => page.columns.map((_, i) => truncate(formatValue(r[i]), CELL)));
  printLine(
    table(
      page.columns.map((c) => clean(c.name)),
      rows,
      numeric,
    ),
  );
  const first = page.rows.length === 0 ? 0 : (opts.offset ?? 0) + 1;
  const last = (opts.offset ?? 0) + page.rows.length;
  printLine(
    `\nrows ${formatCount(first)}–${formatCount(last)} of ${formatCount(page.total)} (version ${page.versionId})`,
  );
}

async function profile({ client, json }: ClientContext, id: string, opts: { version?: string }): Promise<void> {
  const p = await client.getJson<Profile>(`${datasetPath(id)}/profile`, { version: opts.version });
  if (json) return printJson(p);
  const rows = p.columns.map((c) => [
    truncate(clean(c.name), CELL),
    c.type,
    formatCount(c.nulls),
    formatDistinct(c),
    truncate(formatValue(c.min), 24),
    truncate(formatValue(c.max), 24),
    c.mean === null ? '' : formatValue(c.mean),
  ]);
  const parts = [
    table(['COLUMN', 'TYPE', 'NULLS', 'DISTINCT', 'MIN', 'MAX', 'MEAN'], rows, [
      'left',
      'left',
      'right',
      'right',
      'left',
      'left',
      'right',
    ]),
  ];
  const quantiles = p.columns.flatMap((c) =>
    c.quantiles ? [[truncate(clean(c.name), CELL), ...QUANTILES.map((q) => formatValue(c.quantiles![q]))]] : [],
  );
  if (quantiles.length > 0) {
    parts.push(
      `quantiles (approximate)\n${table(['COLUMN', 'P5', 'P25', 'P50', 'P75', 'P95'], quantiles, ['left', 'right', 'right', 'right', 'right', 'right'])}`,
    );
  }
  // The column's name heads its first value only, so the values read as a group.
  const top = p.columns.flatMap((c) =>
    (c.topValues ?? []).map((v, i) => [
      i === 0 ? truncate(clean(c.name), CELL) : '',
      truncate(formatValue(v.value), CELL),
      formatCount(v.count),
    ]),
  );
  if (top.length > 0) parts.push(`top values\n${table(['COLUMN', 'VALUE', 'COUNT'], top, ['left', 'left', 'right'])}`);
  const estimated = p.columns.some((c) => !c.distinctExact);
  parts.push(
    `${formatCount(p.rowCount)} rows (version ${p.versionId})${estimated ? '; ≈ marks an estimated distinct count' : ''}`,
  );
  printLine(parts.join('\n\n'));
}

const QUANTILES = ['p05', 'p25', 'p50', 'p75', 'p95'] as const;

/** A distinct count, `≈` before an estimate. */
export const formatDistinct = (c: Pick<ColumnProfile, 'distinctEstimate' | 'distinctExact'>): string =>
  `${c.distinctExact ? '' : '≈'}${formatCount(c.distinctEstimate)}`;

async function versions({ client, json }: ClientContext, id: string): Promise<void> {
  const list = await client.getJson<VersionList>(`${datasetPath(id)}/versions`);
  if (json) return printJson(list);
  const rows = list.items.map((v) => [
    String(v.number),
    v.id,
    formatCount(v.rowCount),
    String(v.schema.length),
    formatBytes(v.parquetBytes),
    truncate(clean(v.sourceFilename), CELL),
    formatDate(v.createdAt),
  ]);
  printLine(
    table(['VERSION', 'ID', 'ROWS', 'COLUMNS', 'STORED', 'SOURCE', 'CREATED'], rows, [
      'right',
      'left',
      'right',
      'right',
      'right',
      'left',
      'left',
    ]),
  );
}

async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim());
  } finally {
    rl.close();
  }
}

async function remove({ client, json }: ClientContext, id: string, opts: { yes?: boolean }): Promise<void> {
  if (!opts.yes) {
    if (!process.stdin.isTTY || !process.stderr.isTTY)
      throw new Error('refusing to delete without --yes (not running on a terminal, so cannot ask)');
    const d = await client.getJson<Dataset>(datasetPath(id));
    const ok = await confirm(
      `Delete dataset ${d.id} "${clean(d.name)}" and its ${d.versionCount} version(s)? This cannot be undone.`,
    );
    if (!ok) {
      process.stderr.write('not deleted\n');
      return;
    }
  }
  await client.delete(datasetPath(id));
  if (json) printJson({ id, deleted: true });
  else printLine(`deleted ${id}`);
}

export const versionOption = () => new Option('--version <id>', 'version id (dv_…; default: the latest)');

/** `weir datasets …`; answers the `datasets` command so other modules can add theirs (stats, chart, lineage). */
export function registerDatasets(program: Command): Command {
  const datasets = program
    .command('datasets')
    .description('list, inspect, preview, profile, chart, download and delete datasets, and trace their lineage');

  clientAction<ListOptions>(
    datasets
      .command('ls')
      .alias('list')
      .description('list datasets, newest first')
      .option('--search <text>', 'only names containing this text (case-insensitive)')
      .option('--tag <tag>', 'only datasets with this tag')
      .addOption(new Option('--format <format>', 'only datasets of this source format').choices(DATASET_FORMATS))
      .option('--limit <n>', 'at most this many datasets (1-500; server default 50)', integer(1))
      .option('--offset <n>', 'skip this many datasets', integer(0)),
    (ctx, _args, opts) => list(ctx, opts),
  );

  clientAction(
    datasets
      .command('show')
      .description('show a dataset: metadata, latest version and its schema')
      .addArgument(datasetArgument()),
    async (ctx, args) => show(ctx, await datasetOf(ctx, args)),
  );

  clientAction(
    datasets
      .command('versions')
      .description('list the versions of a dataset, newest first')
      .addArgument(datasetArgument()),
    async (ctx, args) => versions(ctx, await datasetOf(ctx, args)),
  );

  clientAction<PreviewOptions>(
    datasets
      .command('preview')
      .description('print rows of a dataset version as an aligned table')
      .addArgument(datasetArgument())
      .option('--limit <n>', 'at most this many rows (server default 100)', integer(1))
      .option('--offset <n>', 'skip this many rows', integer(0))
      .option('--columns <names>', 'comma-separated column names to show (default: all)')
      .addOption(versionOption()),
    async (ctx, args, opts) => preview(ctx, await datasetOf(ctx, args), opts),
  );

  clientAction<{ version?: string }>(
    datasets
      .command('profile')
      .description(
        'print the column profile of a version: type, nulls, distinct values, min, max, mean, quantiles and top values',
      )
      .addArgument(datasetArgument())
      .addOption(versionOption()),
    async (ctx, args, opts) => profile(ctx, await datasetOf(ctx, args), opts),
  );

  registerDownload(datasets);

  clientAction<{ yes?: boolean }>(
    datasets
      .command('rm')
      .alias('delete')
      .description('delete a dataset with all its versions and files (asks first on a terminal; elsewhere needs --yes)')
      .addArgument(datasetArgument())
      .option('-y, --yes', 'delete without asking'),
    async (ctx, args, opts) => remove(ctx, await datasetOf(ctx, args), opts),
  );
  return datasets;
}
