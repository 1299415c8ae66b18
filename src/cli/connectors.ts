import { readFile } from 'node:fs/promises';
import { InvalidArgumentError, type Command } from 'commander';
import { weirCommand } from '../weir-command.js';
import { arg, clientAction, integer, printJson, printLine, type ClientContext } from './command.js';
import {
  configFromFlags,
  CONNECTOR_TYPES,
  connectorsTable,
  describeConnector,
  fieldsTable,
  latestLines,
  parseFieldList,
  parseFieldMapping,
  recordLine,
  rejectedLines,
  sampleTable,
  stateLabel,
  syncLine,
  syncsTable,
  type ConnectorType,
  type ConnectorWire,
  type FieldSpec,
  type HttpFieldMapping,
  type LatestWire,
  type SourceFlags,
  type SyncWire,
  type TestResultWire,
} from './connectors-format.js';
import { followTopic } from './follow-topic.js';
import { clean } from './format.js';
import { CONNECTORS, resolveId } from './resolve.js';

const connectorPath = (id: string) => `/api/v1/connectors/${encodeURIComponent(id)}`;
const connectorOf = (ctx: ClientContext, given: string) => resolveId(ctx.client, CONNECTORS, given);
const JSON_BODY = { 'content-type': 'application/json' };
/** Syncs `show` lists under the connector. */
const RECENT_SYNCS = 10;

function connectorType(value: string): ConnectorType {
  if (!(CONNECTOR_TYPES as readonly string[]).includes(value))
    throw new InvalidArgumentError(`expected ${CONNECTOR_TYPES.join(', ')}`);
  return value as ConnectorType;
}
function fieldList(value: string): FieldSpec[] {
  try {
    return parseFieldList(value);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
}
function fieldMapping(value: string, previous: HttpFieldMapping[] = []): HttpFieldMapping[] {
  try {
    return [...previous, parseFieldMapping(value)];
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
}
const repeated = (value: string, previous: string[] = []) => [...previous, value];
function qos(value: string): number {
  if (value !== '0' && value !== '1') throw new InvalidArgumentError('expected 0 or 1');
  return Number(value);
}

interface SourceOptions extends SourceFlags {
  type: ConnectorType;
  config?: string;
  configFile?: string;
}

interface CreateOptions extends SourceOptions {
  name: string;
  description?: string;
  fields?: FieldSpec[];
  schedule?: string;
}

/** `--config '{…}'` or `--config-file file.json` (- for stdin): a JSON object the flags are laid over. */
async function baseConfig(opts: { config?: string; configFile?: string }): Promise<Record<string, unknown>> {
  if (opts.config !== undefined && opts.configFile !== undefined)
    throw new Error('give the config with --config or --config-file, not both');
  const text =
    opts.config ??
    (opts.configFile !== undefined
      ? await readFile(opts.configFile === '-' ? '/dev/stdin' : opts.configFile, 'utf8')
      : undefined);
  if (text === undefined) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new Error(`the config is not JSON: ${(e as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new Error('the config must be a JSON object, e.g. {"channelId": 12397}');
  return parsed as Record<string, unknown>;
}

/** Adds the source flags of every type to `command` (those of other types than --type are ignored). */
function sourceOptions(command: Command): Command {
  return (
    command
      .requiredOption('--type <type>', CONNECTOR_TYPES.join(', '), connectorType)
      .option('--config <json>', 'the source settings as a JSON object (flags below are laid over it)')
      .option('--config-file <path>', 'read the source settings from a JSON file (- for stdin)')
      .option('--channel <id>', 'thingspeak: channel id', integer(1))
      .option('--api-key <key>', 'thingspeak: read API key of a private channel')
      .option('--base-url <url>', 'thingspeak: server (default https://api.thingspeak.com)')
      .option('--results <n>', 'thingspeak: entries a poll asks for (≤ 8000)', integer(1))
      // Not --url: that is the Weir server's, on every client command.
      .option('--source-url <url>', 'http: URL template (may hold {cursor}); mqtt: broker URL (mqtt://host:1883)')
      .option('--records-path <path>', 'http: JSON path of the records array, e.g. $.data')
      .option(
        '--map <name=$.path:type>',
        'http: a field from a JSON path, e.g. temp=$.main.temp:double or at=$.ts:timestamp:epoch_s (repeatable)',
        fieldMapping,
      )
      .option('--key-path <path>', "http: JSON path of a record's dedupe key")
      .option('--cursor-path <path>', "http: JSON path of a record's cursor")
      .option('--auth-header <"Name: value">', 'http: a header sent with each request (kept encrypted)')
      .option('--topic <filter>', 'mqtt: topic filter, + and # allowed (repeatable)', repeated)
      .option('--qos <n>', 'mqtt: 0 or 1 (default 1)', qos)
      .option('--payload <kind>', 'mqtt: json, kv or auto')
      .option('--username <name>', 'mqtt: user name')
      .option('--password <password>', 'mqtt: password (kept encrypted)')
      .option('--key-field <field>', 'mqtt, push: the field that identifies a record (duplicates are dropped)')
      .option('--timestamp-field <field>', "mqtt: the field holding a record's time")
  );
}

async function ls(
  ctx: ClientContext,
  opts: { type?: ConnectorType; name?: string; limit?: number; offset?: number },
): Promise<void> {
  const page = await ctx.client.getJson<{ items: ConnectorWire[]; total: number; offset: number }>(
    '/api/v1/connectors',
    { type: opts.type, name: opts.name, limit: opts.limit, offset: opts.offset },
  );
  if (ctx.json) return printJson(page);
  if (page.items.length === 0)
    return printLine(
      page.total === 0 ? 'no connectors' : `no connectors at offset ${page.offset} (${page.total} in all)`,
    );
  printLine(connectorsTable(page.items));
  if (page.total > page.offset + page.items.length)
    printLine(
      `\n${page.offset + 1}–${page.offset + page.items.length} of ${page.total}; see more with --offset ${page.offset + page.items.length}`,
    );
}

async function show(ctx: ClientContext, id: string, opts: { syncs?: number }): Promise<void> {
  const [connector, syncs, latest] = await Promise.all([
    ctx.client.getJson<ConnectorWire>(connectorPath(id)),
    ctx.client.getJson<{ items: SyncWire[]; total: number }>(`${connectorPath(id)}/syncs`, {
      limit: opts.syncs ?? RECENT_SYNCS,
    }),
    ctx.client.getJson<LatestWire>(`${connectorPath(id)}/latest`),
  ]);
  if (ctx.json) return printJson({ connector, syncs, latest });
  printLine(describeConnector(connector));
  printLine(`\nLatest values:`);
  printLine(latestLines(latest));
  printLine(`\nSyncs (${syncs.items.length} of ${syncs.total}, newest first):`);
  printLine(syncs.items.length > 0 ? syncsTable(syncs.items) : 'none yet');
}

async function create(ctx: ClientContext, opts: CreateOptions): Promise<void> {
  const config = configFromFlags(opts.type, opts, await baseConfig(opts));
  const body = {
    name: opts.name,
    type: opts.type,
    config,
    ...(opts.description !== undefined ? { description: opts.description } : {}),
    ...(opts.fields !== undefined ? { fields: opts.fields } : {}),
    ...(opts.schedule !== undefined ? { schedule: opts.schedule } : {}),
  };
  const created = await ctx.client.postJson<{ connector: ConnectorWire; pushKey?: string }>('/api/v1/connectors', {
    headers: JSON_BODY,
    body: JSON.stringify(body),
  });
  if (ctx.json) return printJson(created);
  const c = created.connector;
  printLine(`created connector ${c.id} "${clean(c.name)}" (${c.type}), writing to dataset ${c.datasetId}`);
  printLine(`fields: ${c.fields.map((f) => `${clean(f.name)}:${f.type}`).join(', ') || '-'}`);
  if (created.pushKey) {
    printLine(`\npush key (shown only now; rotate it with POST ${connectorPath(c.id)}/push-key):`);
    printLine(`  ${created.pushKey}`);
    printLine(`\nsend records with:`);
    printLine(
      `  curl -X POST ${ctx.url}${connectorPath(c.id)}/records -H 'authorization: Bearer <push key>' -H 'content-type: application/json' -d '${JSON.stringify([exampleRecord(c.fields)])}'`,
    );
  }
  printLine(`\nwatch it with ${weirCommand(`connectors tail ${c.id}`)}`);
}

/** A record of the connector's own columns, for the curl line a new push connector prints. */
function exampleRecord(fields: { name: string; type: string }[]): Record<string, unknown> {
  const example: Record<string, unknown> = {};
  for (const f of fields.slice(0, 6))
    example[f.name] =
      f.type === 'double'
        ? 21.5
        : f.type === 'bigint'
          ? 1
          : f.type === 'boolean'
            ? true
            : f.type === 'timestamp'
              ? new Date().toISOString().slice(0, 19) + 'Z'
              : 'sensor-1';
  return example;
}

async function test(ctx: ClientContext, opts: SourceOptions & { rows?: number }): Promise<void> {
  if (opts.type !== 'thingspeak' && opts.type !== 'http')
    throw new Error(
      `a dry run reads a sample from a polled source (thingspeak or http); ${opts.type} sources send theirs`,
    );
  const config = configFromFlags(opts.type, opts, await baseConfig(opts));
  const result = await ctx.client.postJson<TestResultWire>('/api/v1/connectors/test', {
    headers: JSON_BODY,
    body: JSON.stringify({ type: opts.type, config }),
  });
  if (ctx.json) return printJson(result);
  printLine(`Inferred fields (${result.fields.length}):`);
  printLine(fieldsTable(result.fields));
  printLine(`\nSample (${Math.min(result.sample.length, opts.rows ?? 10)} of ${result.sample.length} records):`);
  printLine(result.sample.length > 0 ? sampleTable(result.fields, result.sample, opts.rows ?? 10) : 'no records');
  if (result.rejected.length > 0) {
    printLine(`\nRejected (${result.rejected.length}):`);
    for (const line of rejectedLines(result.rejected)) printLine(line);
  }
  if (result.cursor !== null) printLine(`\ncursor after the sample: ${clean(result.cursor)}`);
  printLine(
    `\nnothing was stored; create it with ${weirCommand('connectors create --name <name> …')} and the same flags`,
  );
}

async function sync(ctx: ClientContext, id: string): Promise<void> {
  const s = await ctx.client.postJson<SyncWire>(`${connectorPath(id)}/sync`, { body: undefined });
  if (ctx.json) return printJson(s);
  printLine(syncLine(s));
  for (const line of rejectedLines(s.errors)) printLine(line);
  if (s.status === 'failed') process.exitCode = 1;
}

async function setState(ctx: ClientContext, id: string, action: 'pause' | 'resume'): Promise<void> {
  const c = await ctx.client.postJson<ConnectorWire>(`${connectorPath(id)}/${action}`, { body: undefined });
  if (ctx.json) return printJson(c);
  printLine(`connector ${c.id} "${clean(c.name)}": ${stateLabel(c)}`);
}

/** Follows `connector:<id>` until Ctrl-C: records on stdout, state changes and finished syncs on stderr. */
async function tail(ctx: ClientContext, id: string): Promise<void> {
  const connector = await ctx.client.getJson<ConnectorWire>(connectorPath(id));
  const note = (text: string) => {
    if (!ctx.json) process.stderr.write(`${text}\n`);
  };
  note(`following ${connector.id} "${clean(connector.name)}" (${stateLabel(connector)}); Ctrl-C to stop`);
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    await followTopic(
      ctx.client,
      `connector:${connector.id}`,
      (e) => {
        if (ctx.json) return process.stdout.write(`${JSON.stringify(e)}\n`);
        const data = e.data as Record<string, unknown>;
        if (e.event === 'connector.records') {
          const records = (data.records ?? []) as Record<string, unknown>[];
          for (const r of records) printLine(recordLine(r));
          const count = typeof data.count === 'number' ? data.count : records.length;
          if (count > records.length)
            note(`(${count - records.length} more records arrived; the tail shows the newest)`);
        } else if (e.event === 'connector.sync') note(syncLine(data.sync as SyncWire));
        else if (e.event === 'connector.state') note(`state: ${stateLabel(data.connector as ConnectorWire)}`);
        else if (e.event === 'connector.alert')
          note(`alert: ${clean(String(data.kind))} ${clean(String(data.detail ?? ''))}`);
      },
      { signal: controller.signal, onNotice: note },
    );
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}

export function registerConnectors(program: Command): void {
  const connectors = program
    .command('connectors')
    .summary('connect ThingSpeak channels, MQTT topics, HTTP APIs and device pushes to live datasets')
    .description('Connectors that pull or receive records into live datasets (named by name or id, con_…).');

  clientAction<{ type?: ConnectorType; name?: string; limit?: number; offset?: number }>(
    connectors
      .command('ls')
      .description('list connectors with their state: breaker, last sync, lag, rate-limit use')
      .option('--type <type>', 'only this source type', connectorType)
      .option('--name <name>', 'only the connector of this exact name')
      .option('--limit <n>', 'connectors per page (1-500, default 50)', integer(1))
      .option('--offset <n>', 'skip this many', integer(0)),
    (ctx, _args, opts) => ls(ctx, opts),
  );
  clientAction<{ syncs?: number }>(
    connectors
      .command('show')
      .description('show a connector: settings, health, latest values and recent syncs')
      .argument('<connector>', 'connector name or id (con_…)')
      .option('--syncs <n>', `syncs to list (default ${RECENT_SYNCS})`, integer(1)),
    async (ctx, args, opts) => show(ctx, await connectorOf(ctx, arg(args, 0)), opts),
  );
  clientAction<CreateOptions>(
    sourceOptions(
      connectors
        .command('create')
        .description('create a connector and its live dataset (a push connector prints its key once)')
        .requiredOption('--name <name>', 'connector name (its dataset is named after it)'),
    )
      .option('--description <text>', 'what it is for')
      .option(
        '--fields <name:type,…>',
        'the live dataset columns, e.g. at:timestamp,temp:double (default: inferred from a sample)',
        fieldList,
      )
      .option('--schedule <cron>', 'polled sources: a 5-field cron expression in UTC, e.g. "*/5 * * * *"'),
    (ctx, _args, opts) => create(ctx, opts),
  );
  clientAction<SourceOptions & { rows?: number }>(
    sourceOptions(
      connectors
        .command('test')
        .description(
          'dry run of a polled source: fetch a sample, print the inferred fields and records, store nothing',
        ),
    ).option('--rows <n>', 'sample records to print (default 10)', integer(1)),
    (ctx, _args, opts) => test(ctx, opts),
  );
  clientAction(
    connectors
      .command('sync')
      .description('poll a connector now and print what the sync stored (exit code 1 when it failed)')
      .argument('<connector>', 'connector name or id'),
    async (ctx, args) => sync(ctx, await connectorOf(ctx, arg(args, 0))),
  );
  clientAction(
    connectors
      .command('pause')
      .description('stop polling or receiving until resumed')
      .argument('<connector>', 'connector name or id'),
    async (ctx, args) => setState(ctx, await connectorOf(ctx, arg(args, 0)), 'pause'),
  );
  clientAction(
    connectors
      .command('resume')
      .description('start a paused connector again (its failure count starts over)')
      .argument('<connector>', 'connector name or id'),
    async (ctx, args) => setState(ctx, await connectorOf(ctx, arg(args, 0)), 'resume'),
  );
  clientAction(
    connectors
      .command('tail')
      .description(
        'print records as they arrive until Ctrl-C (state changes and syncs on stderr; --json: one event per line)',
      )
      .argument('<connector>', 'connector name or id'),
    async (ctx, args) => tail(ctx, await connectorOf(ctx, arg(args, 0))),
  );
}
