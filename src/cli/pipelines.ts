import fs from 'node:fs/promises';
import { InvalidArgumentError, type Command } from 'commander';
import type { ColumnSchema } from './api-types.js';
import type { WeirClient } from './client.js';
import { arg, clientAction, integer, printJson, printLine, type ClientContext } from './command.js';
import { clean, formatCount, formatDate, formatValue, table, truncate } from './format.js';
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

/** A pipeline definition file (`-` reads stdin): JSON, either the definition itself or `{ definition, params }`. */
async function readDefinition(file: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = file === '-' ? await readStdin() : await fs.readFile(file, 'utf8');
  } catch (e) {
    throw new Error(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new Error(`${file} is not valid JSON: ${(e as Error).message}`, { cause: e });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error(`${file} must hold a JSON object (a pipeline definition)`);
  return parsed as Record<string, unknown>;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** `--param name=value` (repeatable): the value is read as JSON when it parses (20, true, "x"), else as text. */
function collectParam(value: string, previous: Record<string, unknown> = {}): Record<string, unknown> {
  const eq = value.indexOf('=');
  if (eq <= 0) throw new InvalidArgumentError('expected name=value');
  const name = value.slice(0, eq);
  const raw = value.slice(eq + 1);
  let parsed: unknown = raw;
  try {
    parsed = JSON.parse(raw);
  } catch {
    // Plain text: `--param site=north` needs no quotes.
  }
  return { ...previous, [name]: parsed };
}

/** A file holding `{ definition, params }` (what `--json` of preview accepts back) or a bare definition. */
function splitFile(file: Record<string, unknown>): { definition: unknown; params: Record<string, unknown> } {
  if ('definition' in file) return { definition: file.definition, params: (file.params as Record<string, unknown> | undefined) ?? {} };
  return { definition: file, params: {} };
}

export function describeRun(r: RunWire): string {
  const parts = [`run ${r.id} ${r.status}`];
  if (r.output.datasetId && r.output.versionId) parts.push(`→ dataset ${r.output.datasetId} version ${r.output.versionId}`);
  if (r.rowCount !== null) parts.push(`(${formatCount(r.rowCount)} rows${r.durationMs !== null ? `, ${(r.durationMs / 1000).toFixed(1)} s` : ''})`);
  if (r.error) parts.push(`: ${clean(r.error.message)} (${r.error.code})`);
  return parts.join(' ');
}

async function run(ctx: ClientContext, file: string, opts: { param?: Record<string, unknown>; watch?: boolean; name?: string }): Promise<void> {
  const { client, json } = ctx;
  const { definition, params } = splitFile(await readDefinition(file));
  const accepted = await client.postJson<RunAccepted>('/api/v1/pipelines/run', {
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ definition, params: { ...params, ...opts.param }, ...(opts.name ? { name: opts.name } : {}) }),
  });
  if (!opts.watch) {
    if (json) return printJson(accepted);
    printLine(`run ${accepted.runId} ${accepted.status} (job ${accepted.jobId}); follow it with: weir jobs watch ${accepted.jobId}`);
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

const fetchRun = (client: WeirClient, id: string) => client.getJson<RunWire>(`/api/v1/pipelines/runs/${encodeURIComponent(id)}`);

function cells(columns: ColumnSchema[], rows: PreviewStep['rows']): string[][] {
  return rows.map((row) => columns.map((_, i) => truncate(formatValue(row[i]), CELL)));
}

function stepTable(title: string, columns: ColumnSchema[], rows: PreviewStep['rows']): string {
  const align = columns.map((c) => (/INT|DOUBLE|FLOAT|DECIMAL|REAL|NUMERIC/i.test(c.type) ? 'right' : 'left') as 'left' | 'right');
  const body = columns.length === 0 ? '(no columns)' : rows.length === 0 ? `${columns.map((c) => clean(c.name)).join(', ')}\n(no rows)` : table(columns.map((c) => clean(c.name)), cells(columns, rows), align);
  return `${title}\n${body}`;
}

async function preview({ client, json }: ClientContext, file: string, opts: { param?: Record<string, unknown>; limit?: number }): Promise<void> {
  const { definition, params } = splitFile(await readDefinition(file));
  const answer = await client.postJson<PreviewWire>('/api/v1/pipelines/preview', {
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ definition, params: { ...params, ...opts.param }, ...(opts.limit ? { limit: opts.limit } : {}) }),
  });
  if (json) return printJson(answer);
  const parts = [stepTable(`input: dataset ${answer.input.datasetId} version ${answer.input.versionId}`, answer.input.columns, answer.input.rows)];
  for (const step of answer.steps) parts.push(stepTable(`step ${step.index}: ${clean(step.type)}`, step.columns, step.rows));
  printLine(parts.join('\n\n'));
}

async function list({ client, json }: ClientContext, opts: { search?: string; limit?: number; offset?: number }): Promise<void> {
  const page = await client.getJson<{ items: PipelineSummary[]; total: number }>('/api/v1/pipelines', { search: opts.search, limit: opts.limit, offset: opts.offset });
  if (json) return printJson(page);
  if (page.items.length === 0) return printLine('no pipelines');
  printLine(table(['ID', 'NAME', 'VERSION', 'UPDATED'], page.items.map((p) => [p.id, truncate(clean(p.name), 40), String(p.version), formatDate(p.updatedAt)]), ['left', 'left', 'right', 'left']));
}

async function runs({ client, json }: ClientContext, id: string, opts: { limit?: number }): Promise<void> {
  const page = await client.getJson<{ items: RunWire[] }>(`/api/v1/pipelines/${encodeURIComponent(id)}/runs`, { limit: opts.limit });
  if (json) return printJson(page);
  if (page.items.length === 0) return printLine('no runs');
  printLine(table(
    ['RUN', 'VERSION', 'STATUS', 'OUTPUT', 'ROWS', 'CREATED'],
    page.items.map((r) => [r.id, String(r.pipelineVersion ?? '-'), r.status, r.output.versionId ?? '-', r.rowCount === null ? '-' : formatCount(r.rowCount), formatDate(r.createdAt)]),
    ['left', 'right', 'left', 'left', 'right', 'left'],
  ));
}

export function registerPipelines(program: Command): void {
  const pipelines = program.command('pipelines').description('preview and run pipeline definitions; list saved pipelines and their runs');

  clientAction<{ param?: Record<string, unknown>; watch?: boolean; name?: string }>(
    pipelines
      .command('run')
      .description('run a pipeline definition (JSON file, or - for stdin) as a job that writes a new dataset version')
      .argument('<file>', 'pipeline definition (.json), or `{ "definition": …, "params": … }`')
      .option('--param <name=value>', 'a template parameter (repeatable; JSON values such as 20 or true, else text)', collectParam)
      .option('--name <name>', 'name of the output dataset when the definition names none')
      .option('--watch', 'follow the run live and exit 0 only when it succeeds'),
    (ctx, args, opts) => run(ctx, arg(args, 0), opts),
  );

  clientAction<{ param?: Record<string, unknown>; limit?: number }>(
    pipelines
      .command('preview')
      .description('print the schema and first rows after each step of a pipeline definition, writing nothing')
      .argument('<file>', 'pipeline definition (.json), or - for stdin')
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
      .argument('<id>', 'pipeline id (pl_…)')
      .option('--limit <n>', 'at most this many', integer(1)),
    (ctx, args, opts) => runs(ctx, arg(args, 0), opts),
  );
}
