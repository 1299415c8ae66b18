import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline/promises';
import { InvalidArgumentError, type Command } from 'commander';
import { weirCommand } from '../weir-command.js';
import { arg, clientAction, integer, printJson, printLine, type ClientContext } from './command.js';
import { clean, formatDate, formatNumber, table, truncate } from './format.js';
import type { JobWire } from './jobs.js';
import {
  describeModel,
  leaderboardTable,
  metricsTable,
  progressLine,
  type FitProgressWire,
  type ModelVersionWire,
  type ModelWire,
} from './models-format.js';
import { DATASETS, resolveId, type ResourceKind } from './resolve.js';
import { watchJob } from './watch.js';

export const MODELS: ResourceKind = {
  noun: 'model',
  prefix: 'mdl',
  path: '/api/v1/models',
  listCommand: weirCommand('models ls'),
};

const TASKS = ['forecast', 'regression', 'classification'] as const;
const modelPath = (id: string) => `/api/v1/models/${encodeURIComponent(id)}`;
const VERSION = /^([1-9][0-9]{0,8}|mv_[0-9A-HJKMNP-TV-Z]{26})$/;

function task(value: string): string {
  if (!(TASKS as readonly string[]).includes(value)) throw new InvalidArgumentError(`expected ${TASKS.join(', ')}`);
  return value;
}
function version(value: string): string {
  if (!VERSION.test(value)) throw new InvalidArgumentError('expected a version number (1, 2, …) or id (mv_…)');
  return value;
}
const list = (value: string): string[] =>
  value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
function levels(value: string): number[] {
  const out = list(value).map(Number);
  if (out.length === 0 || out.some((l) => !(l > 0 && l < 1)))
    throw new InvalidArgumentError('expected levels between 0 and 1, e.g. 0.8,0.95');
  return out;
}

const modelOf = (ctx: ClientContext, given: string) => resolveId(ctx.client, MODELS, given);

interface TrainOptions {
  task: string;
  target: string;
  horizon?: number;
  algorithm?: string;
  features?: string[];
  timeColumn?: string;
  seriesColumn?: string;
  budget?: number;
  seed?: number;
  name?: string;
  watch?: boolean;
}

/** Follows the training job, showing phase, iteration and losses; on no terminal, a line per phase and algorithm. */
async function watchTraining(ctx: ClientContext, jobId: string): Promise<JobWire> {
  let shown = '';
  return watchJob(ctx.client, jobId, ctx.json, {
    describe: (p) => progressLine(p.data as FitProgressWire, p.message),
    onProgress: (p) => {
      if (ctx.json || process.stderr.isTTY) return;
      const d = p.data as FitProgressWire | null;
      const key = d && typeof d === 'object' ? `${d.phase ?? ''} ${d.algorithm ?? ''}` : (p.message ?? '');
      if (key === shown) return;
      shown = key;
      process.stderr.write(`${Math.round(p.progress)}% ${progressLine(d, p.message)}\n`);
    },
  });
}

async function train(ctx: ClientContext, datasetArg: string, opts: TrainOptions): Promise<void> {
  const datasetId = await resolveId(ctx.client, DATASETS, datasetArg);
  const body = {
    name: opts.name ?? `${datasetArg} ${opts.target} ${opts.task}`.slice(0, 200),
    datasetId,
    task: opts.task,
    target: opts.target,
    ...(opts.horizon !== undefined ? { horizon: opts.horizon } : {}),
    ...(opts.algorithm !== undefined ? { algorithm: opts.algorithm } : {}),
    ...(opts.features !== undefined ? { features: opts.features } : {}),
    ...(opts.timeColumn !== undefined ? { timeColumn: opts.timeColumn } : {}),
    ...(opts.seriesColumn !== undefined ? { seriesColumn: opts.seriesColumn } : {}),
    ...(opts.budget !== undefined ? { budgetSeconds: opts.budget } : {}),
    ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
  };
  const accepted = await ctx.client.postJson<{ model: ModelWire; job: JobWire }>('/api/v1/models', {
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!opts.watch) {
    if (ctx.json) return printJson(accepted);
    printLine(`Training model ${accepted.model.id} "${clean(accepted.model.name)}" as job ${accepted.job.id}.`);
    return printLine(
      `Follow it with ${weirCommand(`jobs watch ${accepted.job.id}`)}; then ${weirCommand(`models show ${accepted.model.id}`)}.`,
    );
  }
  await watchTraining(ctx, accepted.job.id);
  await show(ctx, accepted.model.id, {});
}

async function ls(
  ctx: ClientContext,
  opts: { task?: string; dataset?: string; search?: string; limit?: number; offset?: number },
): Promise<void> {
  const datasetId = opts.dataset ? await resolveId(ctx.client, DATASETS, opts.dataset) : undefined;
  const page = await ctx.client.getJson<{ items: ModelWire[]; total: number; offset: number }>('/api/v1/models', {
    task: opts.task,
    datasetId,
    search: opts.search,
    limit: opts.limit,
    offset: opts.offset,
  });
  if (ctx.json) return printJson(page);
  if (page.items.length === 0)
    return printLine(page.total === 0 ? 'no models' : `no models at offset ${page.offset} (${page.total} in all)`);
  const rows = page.items.map((m) => [
    m.id,
    truncate(clean(m.name), 40),
    m.task,
    truncate(clean(m.target), 24),
    m.currentVersion !== null ? `v${m.currentVersion}` : '-',
    String(m.versionCount),
    m.training?.status ?? '-',
    formatDate(m.createdAt),
  ]);
  printLine(table(['ID', 'NAME', 'TASK', 'TARGET', 'CURRENT', 'VERSIONS', 'TRAINING', 'CREATED'], rows));
}

async function show(ctx: ClientContext, id: string, opts: { version?: string }): Promise<void> {
  const model = await ctx.client.getJson<ModelWire>(modelPath(id));
  const ref = opts.version ?? model.currentVersionId;
  const v = ref ? await ctx.client.getJson<ModelVersionWire>(`${modelPath(id)}/versions/${ref}`) : null;
  if (ctx.json) return printJson({ model, version: v });
  printLine(describeModel(model, v));
  if (!v) return printLine(`\nno trained version yet${model.training ? ` (training ${model.training.status})` : ''}`);
  printLine(`\nTest metrics (original scale; * = the model, beside every baseline and the other candidates):`);
  printLine(metricsTable(v.report));
  if (v.report.leaderboard.length > 0) {
    printLine(`\nLeaderboard (validation part):`);
    printLine(leaderboardTable(v.report));
  }
}

async function versions(ctx: ClientContext, id: string): Promise<void> {
  const { items } = await ctx.client.getJson<{ items: ModelVersionWire[] }>(`${modelPath(id)}/versions`);
  if (ctx.json) return printJson({ items });
  if (items.length === 0) return printLine('no versions');
  const rows = items.map((v) => [
    `v${v.number}${v.current ? ' *' : ''}`,
    v.id,
    truncate(clean(v.algorithm), 24),
    v.datasetVersionId,
    `${v.trainingMs} ms`,
    formatDate(v.createdAt),
  ]);
  printLine(table(['VERSION', 'ID', 'ALGORITHM', 'DATASET VERSION', 'TRAINING', 'CREATED'], rows));
}

interface CompareWire {
  differences: { algorithm: string; metric: string; a: number | null; b: number | null; delta: number | null }[];
}

async function compare(ctx: ClientContext, id: string, a: string, b: string): Promise<void> {
  const answer = await ctx.client.getJson<CompareWire>(`${modelPath(id)}/compare`, { a, b });
  if (ctx.json) return printJson(answer);
  const n = (v: number | null) => (v === null ? '-' : formatNumber(v));
  const rows = answer.differences.map((d) => [
    truncate(clean(d.algorithm), 30),
    clean(d.metric),
    n(d.a),
    n(d.b),
    d.delta === null ? '-' : (d.delta > 0 ? '+' : '') + formatNumber(d.delta),
  ]);
  printLine(
    table(['ALGORITHM', 'METRIC', a.toUpperCase(), b.toUpperCase(), 'DELTA'], rows, [
      'left',
      'left',
      'right',
      'right',
      'right',
    ]),
  );
}

async function readRows(opts: { rows?: string; file?: string }): Promise<unknown[]> {
  const text =
    opts.rows ?? (opts.file ? await readFile(opts.file === '-' ? '/dev/stdin' : opts.file, 'utf8') : undefined);
  if (text === undefined) throw new Error('give the rows with --rows <json> or --file <rows.json> (- for stdin)');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new Error(`the rows are not JSON: ${(e as Error).message}`);
  }
  return Array.isArray(parsed) ? parsed : [parsed];
}

async function predict(
  ctx: ClientContext,
  id: string,
  opts: { rows?: string; file?: string; version?: string },
): Promise<void> {
  const rows = await readRows(opts);
  const answer = await ctx.client.postJson<{
    number: number;
    predictions: { prediction: number | string; probabilities?: Record<string, number> }[];
  }>(`${modelPath(id)}/predict`, {
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ rows, ...(opts.version ? { version: opts.version } : {}) }),
  });
  if (ctx.json) return printJson(answer);
  const out = answer.predictions.map((p, i) => [
    String(i),
    typeof p.prediction === 'number' ? formatNumber(p.prediction) : clean(p.prediction),
    p.probabilities
      ? Object.entries(p.probabilities)
          .map(([k, v]) => `${clean(k)}=${formatNumber(v)}`)
          .join(' ')
      : '',
  ]);
  printLine(table(['ROW', 'PREDICTION', 'PROBABILITIES'], out, ['right', 'right', 'left']));
}

interface ForecastWire {
  number: number;
  times: number[] | null;
  series: { name: string; values: number[]; intervals: { level: number; lower: number[]; upper: number[] }[] }[];
}

async function forecast(
  ctx: ClientContext,
  id: string,
  opts: { horizon?: number; level?: number[]; version?: string },
): Promise<void> {
  const body = {
    ...(opts.horizon !== undefined ? { horizon: opts.horizon } : {}),
    ...(opts.level !== undefined ? { levels: opts.level } : {}),
    ...(opts.version ? { version: opts.version } : {}),
  };
  const answer = await ctx.client.postJson<ForecastWire>(`${modelPath(id)}/forecast`, {
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (ctx.json) return printJson(answer);
  const levelNames = answer.series[0]?.intervals.map((i) => `${Math.round(i.level * 100)}%`) ?? [];
  const headers = ['SERIES', 'STEP', 'TIME', 'FORECAST', ...levelNames.flatMap((l) => [`LOW ${l}`, `HIGH ${l}`])];
  const rows = answer.series.flatMap((s) =>
    s.values.map((v, h) => [
      truncate(clean(s.name), 24),
      String(h + 1),
      answer.times ? new Date(answer.times[h]!).toISOString() : '-',
      formatNumber(v),
      ...s.intervals.flatMap((i) => [formatNumber(i.lower[h]!), formatNumber(i.upper[h]!)]),
    ]),
  );
  printLine(table(headers, rows, ['left', 'right', 'left', ...headers.slice(3).map(() => 'right' as const)]));
}

async function promote(ctx: ClientContext, id: string, ref: string): Promise<void> {
  const model = await ctx.client.postJson<ModelWire>(`${modelPath(id)}/versions/${ref}/promote`, { body: undefined });
  if (ctx.json) return printJson(model);
  printLine(`model ${model.id} "${clean(model.name)}" now serves v${model.currentVersion}`);
}

async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim());
  } finally {
    rl.close();
  }
}

async function remove(ctx: ClientContext, id: string, opts: { version?: string; yes?: boolean }): Promise<void> {
  const what = opts.version
    ? `version ${opts.version} of model ${id} and its artifact`
    : `model ${id} with every version and artifact`;
  if (!opts.yes) {
    if (!process.stdin.isTTY || !process.stderr.isTTY)
      throw new Error('refusing to delete without --yes (not running on a terminal, so cannot ask)');
    if (!(await confirm(`Delete ${what}? This cannot be undone.`))) {
      process.stderr.write('not deleted\n');
      return;
    }
  }
  await ctx.client.delete(opts.version ? `${modelPath(id)}/versions/${opts.version}` : modelPath(id));
  if (ctx.json) printJson({ id, ...(opts.version ? { version: opts.version } : {}), deleted: true });
  else printLine(`deleted ${what}`);
}

export function registerModels(program: Command): void {
  const models = program
    .command('models')
    .summary('train, inspect, compare, promote and serve models')
    .description('Models trained on datasets: forecasts, regression and classification (named by name or id, mdl_…).');

  clientAction<TrainOptions>(
    models
      .command('train')
      .description('train a model on a dataset as a job (the first version; --watch follows phase, iteration and loss)')
      .argument('<dataset>', 'dataset name or id (ds_…)')
      .requiredOption('--task <task>', `${TASKS.join(', ')}`, task)
      .requiredOption('--target <column>', 'the column to learn')
      .option('--horizon <n>', 'forecast: steps ahead', integer(1))
      .option('--algorithm <name>', "an algorithm name or 'auto' (the server's default)")
      .option(
        '--features <a,b>',
        'feature (or exogenous) columns, comma-separated (default: every usable column)',
        list,
      )
      .option('--time-column <column>', 'forecast: the time column')
      .option('--series-column <column>', 'forecast: one series per value of this column')
      .option('--budget <seconds>', 'time budget of the training', integer(1))
      .option('--seed <n>', 'random seed (the same seed and data give the same model)', integer(0))
      .option('--name <name>', 'model name (default: "<dataset> <target> <task>")')
      .option('--watch', 'follow the training live, then print the model beside its baselines'),
    (ctx, args, opts) => train(ctx, arg(args, 0), opts),
  );
  clientAction<{ task?: string; dataset?: string; search?: string; limit?: number; offset?: number }>(
    models
      .command('ls')
      .description('list models, newest first')
      .option('--task <task>', 'only this task', task)
      .option('--dataset <dataset>', 'only models trained on this dataset (name or id)')
      .option('--search <text>', 'names containing this (case-insensitive)')
      .option('--limit <n>', 'models per page (1-500, default 50)', integer(1))
      .option('--offset <n>', 'skip this many', integer(0)),
    (ctx, _args, opts) => ls(ctx, opts),
  );
  clientAction<{ version?: string }>(
    models
      .command('show')
      .description('show a model and the test metrics of a version (default: the current one) beside every baseline')
      .argument('<model>', 'model name or id (mdl_…)')
      .option('--version <version>', 'version number or id', version),
    async (ctx, args, opts) => show(ctx, await modelOf(ctx, arg(args, 0)), opts),
  );
  clientAction(
    models.command('versions').description('list the versions of a model').argument('<model>', 'model name or id'),
    async (ctx, args) => versions(ctx, await modelOf(ctx, arg(args, 0))),
  );
  clientAction(
    models
      .command('compare')
      .description('two versions side by side: every test metric and its change (b − a)')
      .argument('<model>', 'model name or id')
      .argument('<a>', 'version number or id')
      .argument('<b>', 'version number or id'),
    async (ctx, args) => compare(ctx, await modelOf(ctx, arg(args, 0)), version(arg(args, 1)), version(arg(args, 2))),
  );
  clientAction<{ rows?: string; file?: string; version?: string }>(
    models
      .command('predict')
      .description('predict JSON rows with a regression or classification model')
      .argument('<model>', 'model name or id')
      .option('--rows <json>', 'a JSON object or array of objects of feature values')
      .option('--file <path>', 'read the rows (JSON) from a file, or - for stdin')
      .option('--version <version>', 'version number or id (default: the current one)', version),
    async (ctx, args, opts) => predict(ctx, await modelOf(ctx, arg(args, 0)), opts),
  );
  clientAction<{ horizon?: number; level?: number[]; version?: string }>(
    models
      .command('forecast')
      .description("forecast from the end of the dataset's latest version, with prediction intervals")
      .argument('<model>', 'model name or id')
      .option('--horizon <n>', 'steps ahead (default: the model horizon)', integer(1))
      .option('--level <levels>', 'interval levels, comma-separated (default: the model levels, e.g. 0.8,0.95)', levels)
      .option('--version <version>', 'version number or id (default: the current one)', version),
    async (ctx, args, opts) => forecast(ctx, await modelOf(ctx, arg(args, 0)), opts),
  );
  clientAction(
    models
      .command('promote')
      .description('make a version the current one (what predict and forecast serve)')
      .argument('<model>', 'model name or id')
      .argument('<version>', 'version number or id'),
    async (ctx, args) => promote(ctx, await modelOf(ctx, arg(args, 0)), version(arg(args, 1))),
  );
  clientAction<{ version?: string; yes?: boolean }>(
    models
      .command('rm')
      .alias('delete')
      .description(
        'delete a model with its versions and artifacts, or one version (asks first on a terminal; elsewhere needs --yes)',
      )
      .argument('<model>', 'model name or id')
      .option('--version <version>', 'delete only this version', version)
      .option('-y, --yes', 'delete without asking'),
    async (ctx, args, opts) => remove(ctx, await modelOf(ctx, arg(args, 0)), opts),
  );
}
