import { Argument, type Command } from 'commander';
import { weirCommand } from '../weir-command.js';
import type { ColumnSchema } from './api-types.js';
import type { WeirClient } from './client.js';
import { arg, CliFailure, clientAction, integer, printJson, printLine, type ClientContext } from './command.js';
import { clean, formatCount, formatDate, formatValue, table, truncate } from './format.js';
import {
  collectParam,
  isFileArgument,
  readDefinitionFile,
  withOutputName,
  type DefinitionFile,
} from './pipeline-files.js';
import { pipelineArgument, pipelineOf, pipelinePath, registerSavedPipelines } from './pipelines-saved.js';
import { looksLikeId, PIPELINES, resolveId } from './resolve.js';
import { watchJob } from './watch.js';

/** The pipeline API's answers, as far as the CLI reads them (written by hand like the rest of the CLI's wire types). */
interface RunAccepted {
  runId: string;
  jobId: string;
  status: string;
}

export interface RunWire {
  id: string;
  pipelineId: string | null;
  pipelineVersion: number | null;
  pipelineName: string;
  jobId: string | null;
  status: string;
  input: { datasetId: string; versionId: string | null };
  output: { datasetId: string | null; versionId: string | null };
  rowCount: number | null;
  durationMs: number | null;
  error: { code: string; message: string } | null;
  createdAt: string;
}

interface PreviewStep {
  index: number;
  type: string;
  columns: ColumnSchema[];
  rows: unknown[][];
}

interface PreviewWire {
  input: { datasetId: string; versionId: string; columns: ColumnSchema[]; rows: PreviewStep['rows'] };
  steps: PreviewStep[];
}

interface PipelineSummary {
  id: string;
  name: string;
  description: string;
  version: number;
  updatedAt: string;
}

/** Widest a table cell may get before it is cut with "…". */
const CELL = 32;

/** What `<file|pipeline>` names: a definition file, or a saved pipeline (by name or id). */
type Source = { file: DefinitionFile } | { pipelineId: string };

async function sourceOf(ctx: ClientContext, given: string): Promise<Source> {
  if (!looksLikeId(PIPELINES, given) && (await isFileArgument(given))) return { file: await readDefinitionFile(given) };
  try {
    return { pipelineId: await resolveId(ctx.client, PIPELINES, given) };
  } catch (e) {
    // Not a file either: say so, or a mistyped file name reads as a question about pipelines only.
    if (e instanceof CliFailure && e.lines.length === 0)
      throw new CliFailure(`${given}: no such file, and ${e.message}`, e.lines, e.body);
    throw e;
  }
}

export function describeRun(r: RunWire): string {
  const parts = [`run ${r.id} ${r.status}`];
  if (r.output.datasetId && r.output.versionId)
    parts.push(`→ dataset ${r.output.datasetId} version ${r.output.versionId}`);
  if (r.rowCount !== null)
    parts.push(
      `(${formatCount(r.rowCount)} rows${r.durationMs !== null ? `, ${(r.durationMs / 1000).toFixed(1)} s` : ''})`,
    );
  if (r.error) parts.push(`: ${clean(r.error.message)} (${r.error.code})`);
  return parts.join(' ');
}

const JSON_BODY = { 'content-type': 'application/json' };

/** Queues a run of a definition file (ad hoc) or of a saved pipeline. */
async function queueRun(ctx: ClientContext, given: string, opts: RunOptions): Promise<RunAccepted> {
  const source = await sourceOf(ctx, given);
  if ('pipelineId' in source) {
    if (opts.name !== undefined)
      throw new Error(
        `--name applies to a definition file; a saved pipeline stores where its definition says (change it with ${weirCommand('pipelines update')})`,
      );
    return ctx.client.postJson<RunAccepted>(`${pipelinePath(source.pipelineId)}/run`, {
      headers: JSON_BODY,
      body: JSON.stringify({ params: opts.param ?? {} }),
    });
  }
  const { params } = source.file;
  const definition =
    opts.name === undefined ? source.file.definition : withOutputName(source.file.definition, opts.name);
  return ctx.client.postJson<RunAccepted>('/api/v1/pipelines/run', {
    headers: JSON_BODY,
    body: JSON.stringify({ definition, params: { ...params, ...opts.param } }),
  });
}

interface RunOptions {
  param?: Record<string, unknown>;
  watch?: boolean;
  name?: string;
}

async function run(ctx: ClientContext, given: string, opts: RunOptions): Promise<void> {
  const { client, json } = ctx;
  const accepted = await queueRun(ctx, given, opts);
  if (!opts.watch) {
    if (json) return printJson(accepted);
    printLine(
      `run ${accepted.runId} ${accepted.status} (job ${accepted.jobId}); follow it with: ${weirCommand(`jobs watch ${accepted.jobId}`)}`,
    );
    return;
  }
  try {
    await watchJob(client, accepted.jobId, json);
  } finally {
    // Succeeded or not, the run record says what came of it (the output version, or the error).
    const finished = await fetchRun(client, accepted.runId).catch(() => null);
    if (finished && !json) printLine(describeRun(finished));
    if (finished && json) printJson(finished);
  }
}

const fetchRun = (client: WeirClient, id: string) =>
  client.getJson<RunWire>(`/api/v1/pipelines/runs/${encodeURIComponent(id)}`);

function cells(columns: ColumnSchema[], rows: PreviewStep['rows']): string[][] {
  return rows.map((row) => columns.map((_, i) => truncate(formatValue(row[i]), CELL)));
}

function stepTable(title: string, columns: ColumnSchema[], rows: PreviewStep['rows']): string {
  const align = columns.map(
    (c) => (/INT|DOUBLE|FLOAT|DECIMAL|REAL|NUMERIC/i.test(c.type) ? 'right' : 'left') as 'left' | 'right',
  );
  const body =
    columns.length === 0
      ? '(no columns)'
      : rows.length === 0
        ? `${columns.map((c) => clean(c.name)).join(', ')}\n(no rows)`
        : table(
            columns.map((c) => clean(c.name)),
            cells(columns, rows),
            align,
          );
  return `${title}\n${body}`;
}

async function preview(
  ctx: ClientContext,
  given: string,
  opts: { param?: Record<string, unknown>; limit?: number },
): Promise<void> {
  const { client, json } = ctx;
  const source = await sourceOf(ctx, given);
  const { definition, params } =
    'file' in source
      ? source.file
      : {
          definition: (await client.getJson<{ definition: unknown }>(pipelinePath(source.pipelineId))).definition,
          params: {},
        };
  const answer = await client.postJson<PreviewWire>('/api/v1/pipelines/preview', {
    headers: JSON_BODY,
    body: JSON.stringify({
      definition,
      params: { ...params, ...opts.param },
      ...(opts.limit ? { limit: opts.limit } : {}),
    }),
  });
  if (json) return printJson(answer);
  const parts = [
    stepTable(
      `input: dataset ${answer.input.datasetId} version ${answer.input.versionId}`,
      answer.input.columns,
      answer.input.rows,
    ),
  ];
  for (const step of answer.steps)
    parts.push(stepTable(`step ${step.index}: ${clean(step.type)}`, step.columns, step.rows));
  printLine(parts.join('\n\n'));
}

async function list(
  { client, json }: ClientContext,
  opts: { search?: string; limit?: number; offset?: number },
): Promise<void> {
  const page = await client.getJson<{ items: PipelineSummary[]; total: number }>('/api/v1/pipelines', {
    search: opts.search,
    limit: opts.limit,
    offset: opts.offset,
  });
  if (json) return printJson(page);
  if (page.items.length === 0) return printLine('no pipelines');
  printLine(
    table(
      ['ID', 'NAME', 'VERSION', 'UPDATED'],
      page.items.map((p) => [p.id, truncate(clean(p.name), 40), String(p.version), formatDate(p.updatedAt)]),
      ['left', 'left', 'right', 'left'],
    ),
  );
}

async function runs({ client, json }: ClientContext, id: string, opts: { limit?: number }): Promise<void> {
  const page = await client.getJson<{ items: RunWire[] }>(`${pipelinePath(id)}/runs`, { limit: opts.limit });
  if (json) return printJson(page);
  if (page.items.length === 0) return printLine('no runs');
  printLine(
    table(
      ['RUN', 'VERSION', 'STATUS', 'OUTPUT', 'ROWS', 'CREATED'],
      page.items.map((r) => [
        r.id,
        String(r.pipelineVersion ?? '-'),
        r.status,
        r.output.versionId ?? '-',
        r.rowCount === null ? '-' : formatCount(r.rowCount),
        formatDate(r.createdAt),
      ]),
      ['left', 'right', 'left', 'left', 'right', 'left'],
    ),
  );
}

export function registerPipelines(program: Command): void {
  const pipelines = program
    .command('pipelines')
    .description('preview, run, save and inspect pipelines; list their versions and runs');

  clientAction<RunOptions>(
    pipelines
      .command('run')
      .description(
        'run a pipeline definition (JSON file, or - for stdin) or a saved pipeline as a job that writes a new dataset version',
      )
      .addArgument(sourceArgument())
      .option(
        '--param <name=value>',
        'a template parameter (repeatable; JSON values such as 20 or true, else text)',
        collectParam,
      )
      .option(
        '--name <name>',
        'output dataset (sets output.name): adds a version to the dataset of this name, or creates it',
      )
      .option('--watch', 'follow the run live and exit 0 only when it succeeds'),
    (ctx, args, opts) => run(ctx, arg(args, 0), opts),
  );

  clientAction<{ param?: Record<string, unknown>; limit?: number }>(
    pipelines
      .command('preview')
      .description(
        'print the schema and first rows after each step of a pipeline definition or saved pipeline, writing nothing',
      )
      .addArgument(sourceArgument())
      .option('--param <name=value>', 'a template parameter (repeatable)', collectParam)
      .option('--limit <n>', 'rows shown per step (server default 20)', integer(1)),
    (ctx, args, opts) => preview(ctx, arg(args, 0), opts),
  );

  clientAction<{ search?: string; limit?: number; offset?: number }>(
    pipelines
      .command('ls')
      .alias('list')
      .description('list saved pipelines')
      .option('--search <text>', 'only names containing this text')
      .option('--limit <n>', 'at most this many', integer(1))
      .option('--offset <n>', 'skip this many', integer(0)),
    (ctx, _args, opts) => list(ctx, opts),
  );

  clientAction<{ limit?: number }>(
    pipelines
      .command('runs')
      .description('run history of a saved pipeline, newest first')
      .addArgument(pipelineArgument())
      .option('--limit <n>', 'at most this many', integer(1)),
    async (ctx, args, opts) => runs(ctx, await pipelineOf(ctx, args), opts),
  );

  registerSavedPipelines(pipelines);
}

const sourceArgument = () =>
  new Argument(
    '<file|pipeline>',
    'pipeline definition (.json, - for stdin, or `{ "definition": …, "params": … }`), or a saved pipeline\'s name or id (pl_…)',
  );
