import { Argument, type Command } from 'commander';
import { arg, clientAction, integer, printJson, printLine, type ClientContext } from './command.js';
import { clean, formatDate, keyValues, table, truncate } from './format.js';
import { readDefinitionFile } from './pipeline-files.js';
import { PIPELINES, resolveId } from './resolve.js';

/** Saved pipelines: `weir pipelines save|update|show|versions`. */

/** A definition as the CLI reads it back (written by hand like the rest of the CLI's wire types). */
interface DefinitionWire {
  input: { datasetId: string; versionId?: string };
  steps: ({ type: string } & Record<string, unknown>)[];
  output?: { name?: string; description?: string; datasetId?: string };
  parameters?: { name: string; type: string; default?: unknown }[];
}

interface PipelineWire {
  id: string;
  name: string;
  description: string;
  version: number;
  outputDatasetId: string | null;
  createdAt: string;
  updatedAt: string;
  definition: DefinitionWire;
}

interface VersionWire {
  pipelineId: string;
  version: number;
  definition: DefinitionWire;
  createdAt: string;
}

export const pipelinePath = (id: string) => `/api/v1/pipelines/${encodeURIComponent(id)}`;

/** The `<pipeline>` argument of every command that acts on a saved one: its name or its id. */
export const pipelineArgument = () => new Argument('<pipeline>', 'saved pipeline name or id (pl_…)');

/** The pipeline id the command's first argument stands for (see resolve.ts). */
export const pipelineOf = (ctx: ClientContext, args: string[]) => resolveId(ctx.client, PIPELINES, arg(args, 0));

const JSON_BODY = { 'content-type': 'application/json' };
/** Widest a step's fields may get in `show` before they are cut with "…". */
const FIELDS = 120;

interface SaveOptions {
  name?: string;
  description?: string;
}

function reportSaved({ json }: ClientContext, p: PipelineWire): void {
  if (json) return printJson(p);
  const what = `pipeline ${p.id} "${clean(p.name)}"`;
  printLine(p.version === 1 ? `saved ${what} (version 1)` : `saved version ${p.version} of ${what}`);
}

/** A new pipeline, or a new version of the one that has the name already (pipeline names are unique in a workspace). */
async function save(ctx: ClientContext, file: string, opts: SaveOptions): Promise<void> {
  const f = await readDefinitionFile(file);
  const name = opts.name ?? f.name;
  if (name === undefined) throw new Error(`name the pipeline with --name (or a "name" beside "definition" in ${file})`);
  const description = opts.description ?? f.description;
  const existing = (await ctx.client.getJson<{ items: { id: string }[] }>('/api/v1/pipelines', { name, limit: 1 }))
    .items[0];
  const saved = existing
    ? await ctx.client.putJson<PipelineWire>(pipelinePath(existing.id), {
        headers: JSON_BODY,
        body: JSON.stringify({ definition: f.definition, description }),
      })
    : await ctx.client.postJson<PipelineWire>('/api/v1/pipelines', {
        headers: JSON_BODY,
        body: JSON.stringify({ name, description, definition: f.definition }),
      });
  reportSaved(ctx, saved);
}

/** A new version of a saved pipeline, found by name or id; --name (or the file's name) renames it. */
async function update(ctx: ClientContext, id: string, file: string, opts: SaveOptions): Promise<void> {
  const f = await readDefinitionFile(file);
  const body = { definition: f.definition, name: opts.name ?? f.name, description: opts.description ?? f.description };
  reportSaved(
    ctx,
    await ctx.client.putJson<PipelineWire>(pipelinePath(id), { headers: JSON_BODY, body: JSON.stringify(body) }),
  );
}

/** Where the runs of a pipeline (at this definition) store, in words. */
function outputOf(p: PipelineWire, d: DefinitionWire): string {
  if (d.output?.datasetId) return `dataset ${d.output.datasetId}`;
  if (p.outputDatasetId) return `dataset ${p.outputDatasetId} (made by its first run)`;
  if (d.output?.name) return `the dataset named "${clean(d.output.name)}" (the first run creates it when none is)`;
  return `a new dataset "${clean(p.name)} output", made by the first run`;
}

function parameters(d: DefinitionWire): string {
  if (!d.parameters?.length) return '-';
  return d.parameters
    .map(
      (x) => `${clean(x.name)} (${x.type}${x.default === undefined ? '' : ` = ${clean(JSON.stringify(x.default))}`})`,
    )
    .join(', ');
}

function describe(p: PipelineWire, shown: VersionWire | null): string {
  const d = shown?.definition ?? p.definition;
  const pairs: [string, string][] = [
    ['id', p.id],
    ['name', clean(p.name)],
    ['description', clean(p.description) || '-'],
    ['version', shown ? `${shown.version} of ${p.version}, saved ${formatDate(shown.createdAt)}` : `${p.version}`],
    [
      'input',
      `dataset ${clean(d.input.datasetId)}${d.input.versionId ? ` version ${clean(d.input.versionId)} (pinned)` : ' (its latest version when run)'}`,
    ],
    ['output', outputOf(p, d)],
    ['parameters', parameters(d)],
    ['created', formatDate(p.createdAt)],
    ['updated', formatDate(p.updatedAt)],
  ];
  const steps = d.steps.map((s, i) => {
    const { type, ...fields } = s;
    return [String(i), clean(type), truncate(clean(JSON.stringify(fields)), FIELDS)];
  });
  return `${keyValues(pairs)}\n\n${steps.length === 0 ? '(no steps)' : table(['STEP', 'TYPE', 'FIELDS'], steps, ['right'])}`;
}

async function show({ client, json }: ClientContext, id: string, opts: { version?: number }): Promise<void> {
  const pipeline = await client.getJson<PipelineWire>(pipelinePath(id));
  const version =
    opts.version === undefined
      ? null
      : await client.getJson<VersionWire>(`${pipelinePath(id)}/versions/${opts.version}`);
  if (json) return printJson(version ?? pipeline);
  printLine(describe(pipeline, version));
}

async function versions({ client, json }: ClientContext, id: string): Promise<void> {
  const list = await client.getJson<{ items: VersionWire[] }>(`${pipelinePath(id)}/versions`);
  if (json) return printJson(list);
  const rows = list.items.map((v) => [
    String(v.version),
    String(v.definition.steps.length),
    clean(v.definition.input.datasetId),
    formatDate(v.createdAt),
  ]);
  printLine(table(['VERSION', 'STEPS', 'INPUT', 'SAVED'], rows, ['right', 'right', 'left', 'left']));
}

export function registerSavedPipelines(pipelines: Command): void {
  clientAction<SaveOptions>(
    pipelines
      .command('save')
      .description('save a definition file as a pipeline, or as a new version of the pipeline that has its name')
      .argument(
        '<file>',
        'pipeline definition (.json, or - for stdin), or `{ "name": …, "description": …, "definition": … }` as show --json prints it',
      )
      .option('--name <name>', 'pipeline name (default: the file\'s "name")')
      .option('--description <text>', 'pipeline description'),
    (ctx, args, opts) => save(ctx, arg(args, 0), opts),
  );

  clientAction<SaveOptions>(
    pipelines
      .command('update')
      .description('save a definition file as a new version of a saved pipeline (earlier versions stay readable)')
      .addArgument(pipelineArgument())
      .argument('<file>', 'pipeline definition (.json, or - for stdin)')
      .option('--name <name>', 'rename the pipeline')
      .option('--description <text>', 'change its description'),
    async (ctx, args, opts) => update(ctx, await pipelineOf(ctx, args), arg(args, 1), opts),
  );

  clientAction<{ version?: number }>(
    pipelines
      .command('show')
      .description('show a saved pipeline: where it reads and stores, its parameters and steps')
      .addArgument(pipelineArgument())
      .option('--version <n>', 'an earlier version (default: the current one)', integer(1)),
    async (ctx, args, opts) => show(ctx, await pipelineOf(ctx, args), opts),
  );

  clientAction(
    pipelines
      .command('versions')
      .description('list the versions of a saved pipeline, newest first')
      .addArgument(pipelineArgument()),
    async (ctx, args) => versions(ctx, await pipelineOf(ctx, args)),
  );
}
