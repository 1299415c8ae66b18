import { InvalidArgumentError, type Command } from 'commander';
import { parseDuration } from '../config/reader.js';
import { arg, clientAction, printJson, printLine, type ClientContext } from './command.js';
import { clean, formatDate, table, truncate } from './format.js';

/** `weir keys create | ls | revoke`: API keys of the workspace, for scripts and machines (WEIR_TOKEN). */

interface ApiKey {
  id: string;
  workspaceId: string;
  name: string;
  prefix: string;
  scopes: string[];
  createdBy: string;
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
  lastUsedAt: string | null;
}

interface CreateOptions {
  name: string;
  scope?: string[];
  expires?: string;
}

const keyPath = (id: string) => `/api/v1/keys/${encodeURIComponent(id)}`;

/** `--expires 30d` (from now: ms, s, m, h, d) or an ISO date/time → ISO timestamp in the future. */
export function parseExpiry(value: string, now = Date.now()): string {
  const ms = parseDuration(value);
  if (ms !== undefined) return new Date(now + ms).toISOString();
  const at = /^\d{4}-\d{2}-\d{2}/.test(value.trim()) ? Date.parse(value.trim()) : NaN;
  if (Number.isNaN(at))
    throw new InvalidArgumentError('expected a duration such as 30d or 12h, or an ISO date such as 2027-01-31');
  if (at <= now) throw new InvalidArgumentError('must be in the future');
  return new Date(at).toISOString();
}

function collect(value: string, previous: string[] = []): string[] {
  return [
    ...previous,
    ...value
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  ];
}

async function create({ client, json }: ClientContext, opts: CreateOptions): Promise<void> {
  const created = await client.postJson<{ key: ApiKey; token: string }>('/api/v1/keys', {
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: opts.name, scopes: opts.scope, expiresAt: opts.expires }),
  });
  if (json) return printJson(created);
  const { key, token } = created;
  printLine(`Created API key ${key.id} "${clean(key.name)}" in ${key.workspaceId}`);
  printLine(`  scopes   ${key.scopes.join(', ') || '-'}`);
  printLine(`  expires  ${key.expiresAt ? formatDate(key.expiresAt) : 'never'}`);
  printLine();
  printLine(token);
  printLine();
  printLine(
    'This is the only time the token is shown: it cannot be shown again. Store it now (e.g. in a secret manager);',
  );
  printLine('use it as WEIR_TOKEN or as the header `Authorization: Bearer <token>`.');
}

async function list({ client, json }: ClientContext): Promise<void> {
  const { items } = await client.getJson<{ items: ApiKey[] }>('/api/v1/keys');
  if (json) return printJson({ items });
  if (items.length === 0) return printLine('no API keys');
  const when = (iso: string | null) => (iso ? formatDate(iso) : '-');
  const rows = items.map((k) => [
    k.id,
    truncate(clean(k.name), 30),
    k.prefix,
    truncate(k.scopes.join(','), 60),
    formatDate(k.createdAt),
    when(k.expiresAt),
    when(k.revokedAt),
    when(k.lastUsedAt),
  ]);
  printLine(table(['ID', 'NAME', 'PREFIX', 'SCOPES', 'CREATED', 'EXPIRES', 'REVOKED', 'LAST USED'], rows));
}

async function revoke({ client, json }: ClientContext, id: string): Promise<void> {
  const key = await client.deleteJson<ApiKey>(keyPath(id));
  if (json) printJson(key);
  else printLine(`Revoked ${key.id} "${clean(key.name)}": requests with it are refused from now on`);
}

export function registerKeys(program: Command): void {
  const keys = program.command('keys').description('API keys of the workspace: create (shown once), list, revoke');
  clientAction<CreateOptions>(
    keys
      .command('create')
      .description('create an API key; its token is printed once and never again')
      .requiredOption('--name <name>', 'what the key is for, e.g. "nightly export"')
      .option(
        '--scope <permission>',
        'a permission the key holds (repeat, or comma-separate); default: all a key may hold that you hold',
        collect,
      )
      .option('--expires <when>', 'expiry: a duration from now (30d, 12h) or an ISO date; default: never', (v) =>
        parseExpiry(v),
      ),
    (ctx, _args, opts) => create(ctx, opts),
  );
  clientAction(
    keys.command('ls').alias('list').description('list the API keys of the workspace (never their tokens)'),
    (ctx) => list(ctx),
  );
  clientAction(
    keys
      .command('revoke')
      .description('revoke an API key: refused from the next request on')
      .argument('<id>', 'key id (key_…)'),
    (ctx, args) => revoke(ctx, arg(args, 0)),
  );
}
