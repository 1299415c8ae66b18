import { clean, formatDate, formatValue, keyValues, table, truncate } from './format.js';

/** Connectors as the API answers them (src/connectors/schemas.ts, written out by hand: the CLI depends on the wire only). */
export type ConnectorType = 'thingspeak' | 'http' | 'mqtt' | 'push';
export const CONNECTOR_TYPES: readonly ConnectorType[] = ['thingspeak', 'http', 'mqtt', 'push'];

export type FieldType = 'double' | 'bigint' | 'boolean' | 'varchar' | 'timestamp';
export const FIELD_TYPES: readonly FieldType[] = ['double', 'bigint', 'boolean', 'varchar', 'timestamp'];

export interface FieldSpec {
  name: string;
  type: FieldType;
}

export interface ConnectorHealthWire {
  breaker: 'closed' | 'open' | 'half-open';
  consecutiveFailures: number;
  lastSyncAt: string | null;
  lastSuccessAt: string | null;
  lastRecordAt: string | null;
  lastError: string | null;
  stale: boolean;
  lagSeconds: number | null;
  rateLimit: { used: number; limit: number } | null;
  stream: string | null;
  pendingRecords: number;
}

export interface ConnectorWire {
  id: string;
  workspaceId: string;
  name: string;
  description: string;
  type: ConnectorType;
  config: Record<string, unknown>;
  secrets: string[];
  fields: FieldSpec[];
  schedule: string | null;
  nextSyncAt: string | null;
  safety: Record<string, number>;
  live: Record<string, number>;
  datasetId: string;
  datasetName: string;
  state: 'active' | 'paused';
  pausedReason: string | null;
  cursor: string | null;
  health: ConnectorHealthWire;
  createdAt: string;
  updatedAt: string;
}

export interface RejectedWire {
  reason: string;
  sample?: string;
}

export interface SyncWire {
  id: string;
  connectorId: string;
  trigger: 'schedule' | 'manual' | 'backfill' | 'stream' | 'push';
  status: 'succeeded' | 'failed' | 'partial';
  records: number;
  duplicates: number;
  rejected: number;
  errors: RejectedWire[];
  cursorFrom: string | null;
  cursorTo: string | null;
  startedAt: string;
  durationMs: number;
}

export interface TestResultWire {
  fields: FieldSpec[];
  sample: Record<string, unknown>[];
  rejected: RejectedWire[];
  cursor: string | null;
}

export interface LatestWire {
  connectorId: string;
  at: string | null;
  values: Record<string, unknown>;
}

/** 42 → "42 s", 7260 → "2 h 1 min"; null (no record yet) → "-". */
export function formatLag(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return '-';
  const s = Math.max(0, Math.round(seconds));
  if (s < 120) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 120) return `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${m % 60} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

/** "active", "paused (5 failures in a row)", with "stale" and an open breaker added: what needs a look, in one cell. */
export function stateLabel(c: Pick<ConnectorWire, 'state' | 'pausedReason' | 'health'>): string {
  const parts: string[] = [c.state === 'paused' && c.pausedReason ? `paused (${clean(c.pausedReason)})` : c.state];
  if (c.health.breaker !== 'closed') parts.push(`breaker ${c.health.breaker}`);
  if (c.health.stale) parts.push('stale');
  return parts.join(', ');
}

/** "12/15" of the rate limit's window, or "-" for a source that has none (push, a streaming one). */
export function rateLabel(health: ConnectorHealthWire): string {
  return health.rateLimit ? `${health.rateLimit.used}/${health.rateLimit.limit}` : '-';
}

export function connectorsTable(items: ConnectorWire[]): string {
  const rows = items.map((c) => [
    c.id,
    truncate(clean(c.name), 32),
    c.type,
    truncate(stateLabel(c), 40),
    c.health.breaker,
    c.health.lastSyncAt ? formatDate(c.health.lastSyncAt) : '-',
    formatLag(c.health.lagSeconds),
    rateLabel(c.health),
  ]);
  return table(['ID', 'NAME', 'TYPE', 'STATE', 'BREAKER', 'LAST SYNC', 'LAG', 'RATE'], rows, [
    'left',
    'left',
    'left',
    'left',
    'left',
    'left',
    'right',
    'right',
  ]);
}

/** The source settings in one line each (`config.*`); secrets are never in them, only their names. */
function configPairs(config: Record<string, unknown>): [string, string][] {
  return Object.entries(config).map(([k, v]) => [
    `  ${clean(k)}`,
    truncate(typeof v === 'string' ? clean(v) : clean(JSON.stringify(v)), 100),
  ]);
}

export function describeConnector(c: ConnectorWire): string {
  const h = c.health;
  const pairs: [string, string][] = [
    ['id', c.id],
    ['name', clean(c.name)],
    ...(c.description ? [['description', truncate(clean(c.description), 100)] as [string, string]] : []),
    ['type', c.type],
    ['state', stateLabel(c)],
    ['dataset', `${c.datasetId} "${truncate(clean(c.datasetName), 60)}"`],
    ['schedule', c.schedule ? `${clean(c.schedule)} (UTC)` : '-'],
    ['next sync', c.nextSyncAt ? formatDate(c.nextSyncAt) : '-'],
    ['breaker', `${h.breaker}${h.consecutiveFailures > 0 ? ` (${h.consecutiveFailures} failures in a row)` : ''}`],
    ['last sync', h.lastSyncAt ? formatDate(h.lastSyncAt) : '-'],
    ['last success', h.lastSuccessAt ? formatDate(h.lastSuccessAt) : '-'],
    ['last record', h.lastRecordAt ? `${formatDate(h.lastRecordAt)} (lag ${formatLag(h.lagSeconds)})` : '-'],
    ['rate limit', h.rateLimit ? `${rateLabel(h)} requests this minute` : '-'],
    ...(h.stream !== null ? [['stream', clean(h.stream)] as [string, string]] : []),
    ['pending', `${h.pendingRecords} records not yet in a segment`],
    ['cursor', c.cursor !== null ? truncate(clean(c.cursor), 80) : '-'],
    ...(h.lastError ? [['last error', truncate(clean(h.lastError), 200)] as [string, string]] : []),
    ['fields', c.fields.map((f) => `${clean(f.name)}:${f.type}`).join(', ') || '-'],
    ['secrets', c.secrets.length > 0 ? c.secrets.map(clean).join(', ') + ' (set, never shown)' : '-'],
    ['config', ''],
    ...configPairs(c.config),
    ['created', formatDate(c.createdAt)],
  ];
  return keyValues(pairs);
}

function duration(ms: number): string {
  return ms < 1000 ? `${ms} ms` : ms < 120_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 60_000)} min`;
}

function cursorRange(s: SyncWire): string {
  if (s.cursorFrom === null && s.cursorTo === null) return '-';
  return `${truncate(clean(s.cursorFrom ?? ''), 24)}..${truncate(clean(s.cursorTo ?? ''), 24)}`;
}

export function syncsTable(items: SyncWire[]): string {
  const rows = items.map((s) => [
    formatDate(s.startedAt),
    s.trigger,
    s.status,
    String(s.records),
    String(s.duplicates),
    String(s.rejected),
    duration(s.durationMs),
    cursorRange(s),
    s.errors[0]
      ? truncate(clean(s.errors[0].reason), 50) + (s.errors.length > 1 ? ` (+${s.errors.length - 1})` : '')
      : '',
  ]);
  return table(
    ['STARTED', 'TRIGGER', 'STATUS', 'RECORDS', 'DUPLICATES', 'REJECTED', 'DURATION', 'CURSOR', 'ERROR'],
    rows,
    ['left', 'left', 'left', 'right', 'right', 'right', 'right', 'left', 'left'],
  );
}

/** One line about a finished sync, as `sync` prints it. */
export function syncLine(s: SyncWire): string {
  const counts = `${s.records} new, ${s.duplicates} duplicates, ${s.rejected} rejected`;
  const cursor = s.cursorTo !== null ? `; cursor now ${truncate(clean(s.cursorTo), 40)}` : '';
  return `sync ${s.status} in ${duration(s.durationMs)}: ${counts}${cursor}`;
}

/** Rejected records with their reason (and the start of what was sent), at most `max` of them. */
export function rejectedLines(rejected: RejectedWire[], max = 10): string[] {
  const lines = rejected
    .slice(0, max)
    .map((r) => `  ${truncate(clean(r.reason), 80)}${r.sample ? `: ${truncate(clean(r.sample), 60)}` : ''}`);
  if (rejected.length > max) lines.push(`  … and ${rejected.length - max} more`);
  return lines;
}

export function fieldsTable(fields: FieldSpec[]): string {
  return table(
    ['FIELD', 'TYPE'],
    fields.map((f) => [clean(f.name), f.type]),
  );
}

/** Sample records as a table: the fields' columns first, in order, then any other key the records have. */
export function sampleTable(fields: FieldSpec[], sample: Record<string, unknown>[], maxRows = 10, width = 24): string {
  const names = fields.map((f) => f.name);
  for (const r of sample) for (const k of Object.keys(r)) if (!names.includes(k)) names.push(k);
  const numeric = new Set(fields.filter((f) => f.type === 'double' || f.type === 'bigint').map((f) => f.name));
  const rows = sample.slice(0, maxRows).map((r) => names.map((n) => truncate(formatValue(r[n]), width)));
  return table(
    names.map((n) => truncate(clean(n), width)),
    rows,
    names.map((n) => (numeric.has(n) ? 'right' : 'left')),
  );
}

export function latestLines(latest: LatestWire): string {
  const entries = Object.entries(latest.values);
  if (entries.length === 0) return 'no values yet';
  const pairs = entries.map(([k, v]): [string, string] => [clean(k), truncate(formatValue(v), 80)]);
  // The time goes on its own line: a field may well be named `at` or `time`.
  return `as of ${latest.at ? formatDate(latest.at) : '-'}\n${keyValues(pairs)}`;
}

/** A record of the live tail on one line: `name=value` pairs in the record's order (strings quoted when they hold spaces). */
export function recordLine(record: Record<string, unknown>): string {
  return Object.entries(record)
    .map(([k, v]) => {
      const text = truncate(formatValue(v), 60);
      return `${clean(k)}=${typeof v === 'string' && /[\s=]/.test(v) ? JSON.stringify(text) : text}`;
    })
    .join(' ');
}

/**
 * `--fields at:timestamp,temp:double` → field specs. Throws an Error naming the first bad entry: a name that is not
 * a column name (letters, digits, `_`, not starting with a digit) or a type the live dataset does not have.
 */
export function parseFieldList(value: string): FieldSpec[] {
  const entries = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (entries.length === 0) throw new Error('expected name:type pairs, e.g. at:timestamp,temp:double');
  const seen = new Set<string>();
  return entries.map((entry) => {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)\s*:\s*([a-z]+)$/.exec(entry);
    if (!m) throw new Error(`"${entry}": expected name:type, e.g. temp:double`);
    const [, name, type] = m as unknown as [string, string, string];
    if (!(FIELD_TYPES as readonly string[]).includes(type))
      throw new Error(`"${entry}": the type must be one of ${FIELD_TYPES.join(', ')}`);
    if (seen.has(name)) throw new Error(`"${name}" is named twice`);
    seen.add(name);
    return { name, type: type as FieldType };
  });
}

/** `--map temp=$.main.temp:double[:iso]` (HTTP JSON sources) → a field mapping. */
export interface HttpFieldMapping extends FieldSpec {
  path: string;
  format?: 'iso' | 'epoch_s' | 'epoch_ms';
}

export function parseFieldMapping(value: string): HttpFieldMapping {
  const m = /^([A-Za-z_][A-Za-z0-9_]*)=(\$[^:]*):([a-z]+)(?::(iso|epoch_s|epoch_ms))?$/.exec(value.trim());
  if (!m)
    throw new Error(`"${value}": expected name=$.json.path:type[:iso|epoch_s|epoch_ms], e.g. temp=$.main.temp:double`);
  const [, name, path, type, format] = m as unknown as [string, string, string, string, string | undefined];
  if (!(FIELD_TYPES as readonly string[]).includes(type))
    throw new Error(`"${value}": the type must be one of ${FIELD_TYPES.join(', ')}`);
  return { name, path, type: type as FieldType, ...(format ? { format: format as HttpFieldMapping['format'] } : {}) };
}

/** The flags `weir connectors create|test` turn into a source's config (those given; the rest stay unset). */
export interface SourceFlags {
  channel?: number;
  apiKey?: string;
  baseUrl?: string;
  results?: number;
  sourceUrl?: string;
  topic?: string[];
  qos?: number;
  payload?: string;
  username?: string;
  password?: string;
  keyField?: string;
  timestampField?: string;
  recordsPath?: string;
  map?: HttpFieldMapping[];
  keyPath?: string;
  cursorPath?: string;
  authHeader?: string;
}

/**
 * A source's config from its flags, laid over `base` (a --config-file or --config JSON object): the flags win, and
 * only those that mean something for `type` are read. The server checks the result against the type's schema.
 */
export function configFromFlags(
  type: ConnectorType,
  flags: SourceFlags,
  base: Record<string, unknown> = {},
): Record<string, unknown> {
  const set = (out: Record<string, unknown>, key: string, value: unknown) => {
    if (value !== undefined) out[key] = value;
  };
  const out: Record<string, unknown> = { ...base };
  switch (type) {
    case 'thingspeak':
      set(out, 'channelId', flags.channel);
      set(out, 'apiKey', flags.apiKey);
      set(out, 'baseUrl', flags.baseUrl);
      set(out, 'results', flags.results);
      break;
    case 'http': {
      set(out, 'url', flags.sourceUrl);
      set(out, 'recordsPath', flags.recordsPath);
      if (flags.map && flags.map.length > 0) out.fields = flags.map;
      set(out, 'keyPath', flags.keyPath);
      set(out, 'cursorPath', flags.cursorPath);
      if (flags.authHeader !== undefined) {
        const i = flags.authHeader.indexOf(':');
        if (i <= 0) throw new Error('--auth-header: expected "Name: value", e.g. "Authorization: Bearer …"');
        out.authHeader = { name: flags.authHeader.slice(0, i).trim(), value: flags.authHeader.slice(i + 1).trim() };
      }
      break;
    }
    case 'mqtt':
      set(out, 'url', flags.sourceUrl);
      if (flags.topic && flags.topic.length > 0) out.topics = flags.topic;
      set(out, 'qos', flags.qos);
      set(out, 'payload', flags.payload);
      set(out, 'username', flags.username);
      set(out, 'password', flags.password);
      set(out, 'keyField', flags.keyField);
      set(out, 'timestampField', flags.timestampField);
      break;
    case 'push':
      set(out, 'keyField', flags.keyField);
      break;
  }
  return out;
}
