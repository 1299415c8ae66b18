import { Type, type Static } from 'typebox';
import { Id, NullableString, StringEnum } from '../http/schema-types.js';

/**
 * HTTP shapes of /api/v1/connectors. A connector's secrets (API keys, passwords, auth header values) are accepted
 * on create and update and never returned: a connector shows only which secrets it holds.
 */

const Name = Type.String({ minLength: 1, maxLength: 200, pattern: '^[^\\u0000-\\u001f\\u007f]*$' });
const ColumnName = Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z_][A-Za-z0-9_]*$' });
const Url = Type.String({ minLength: 1, maxLength: 2048, pattern: '^(https?|mqtts?)://' });
const Secret = Type.String({ minLength: 1, maxLength: 4096 });
const JsonPath = Type.String({ minLength: 1, maxLength: 500, pattern: '^\\$' });

export const ConnectorType = StringEnum(['thingspeak', 'http', 'mqtt', 'push'] as const);
export const FieldTypeSchema = StringEnum(['double', 'bigint', 'boolean', 'varchar', 'timestamp'] as const);
export const FieldSpecSchema = Type.Object(
  { name: ColumnName, type: FieldTypeSchema },
  { additionalProperties: false },
);

export const ThingSpeakConfig = Type.Object(
  {
    channelId: Type.Integer({ minimum: 1, maximum: 2 ** 31 - 1 }),
    baseUrl: Type.Optional(Url),
    results: Type.Optional(Type.Integer({ minimum: 1, maximum: 8000, description: 'Entries a poll asks for' })),
    apiKey: Type.Optional(Secret),
  },
  { additionalProperties: false },
);

export const HttpFieldMapping = Type.Object(
  {
    name: ColumnName,
    path: JsonPath,
    type: FieldTypeSchema,
    format: Type.Optional(StringEnum(['iso', 'epoch_s', 'epoch_ms'] as const)),
  },
  { additionalProperties: false },
);

export const HttpConfig = Type.Object(
  {
    url: Type.String({ minLength: 1, maxLength: 2048, pattern: '^https?://', description: 'May hold {cursor}' }),
    authHeader: Type.Optional(
      Type.Object(
        { name: Type.String({ minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9-]+$' }), value: Secret },
        { additionalProperties: false },
      ),
    ),
    recordsPath: JsonPath,
    fields: Type.Array(HttpFieldMapping, { minItems: 1, maxItems: 200 }),
    keyPath: Type.Optional(JsonPath),
    cursorPath: Type.Optional(JsonPath),
    pagination: Type.Optional(
      Type.Union([
        Type.Object({ kind: Type.Literal('none') }, { additionalProperties: false }),
        Type.Object(
          { kind: Type.Literal('cursor'), nextPath: JsonPath, param: Type.String({ minLength: 1, maxLength: 100 }) },
          { additionalProperties: false },
        ),
        Type.Object(
          {
            kind: Type.Literal('page'),
            param: Type.String({ minLength: 1, maxLength: 100 }),
            start: Type.Optional(Type.Integer({ minimum: 0 })),
          },
          { additionalProperties: false },
        ),
        Type.Object({ kind: Type.Literal('link') }, { additionalProperties: false }),
      ]),
    ),
    maxPages: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
  },
  { additionalProperties: false },
);

export const MqttConfig = Type.Object(
  {
    url: Url,
    topics: Type.Array(Type.String({ minLength: 1, maxLength: 500 }), { minItems: 1, maxItems: 50 }),
    qos: Type.Optional(Type.Union([Type.Literal(0), Type.Literal(1)])),
    payload: Type.Optional(StringEnum(['json', 'kv', 'auto'] as const)),
    keyField: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    timestampField: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    username: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    password: Type.Optional(Secret),
  },
  { additionalProperties: false },
);

export const PushConfig = Type.Object(
  {
    keyField: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'Dedupe key of a record' })),
  },
  { additionalProperties: false },
);

export const SafetySchema = Type.Object(
  {
    requestsPerMinute: Type.Integer({ minimum: 1, maximum: 100_000 }),
    timeoutMs: Type.Integer({ minimum: 100, maximum: 300_000 }),
    retries: Type.Integer({ minimum: 0, maximum: 10 }),
    breakerFailures: Type.Integer({ minimum: 1, maximum: 1000 }),
    breakerResetMs: Type.Integer({ minimum: 100, maximum: 86_400_000 }),
    cacheTtlMs: Type.Integer({ minimum: 0, maximum: 86_400_000 }),
    pauseAfterFailures: Type.Integer({ minimum: 1, maximum: 100_000 }),
    staleAfterMinutes: Type.Integer({ minimum: 1, maximum: 525_600 }),
  },
  { additionalProperties: false },
);

export const LivePolicySchema = Type.Object(
  {
    flushRows: Type.Integer({ minimum: 1, maximum: 100_000 }),
    flushMs: Type.Integer({ minimum: 50, maximum: 3_600_000 }),
    compactRows: Type.Integer({ minimum: 1, maximum: 1_000_000_000 }),
    compactMs: Type.Integer({ minimum: 1000, maximum: 30 * 86_400_000 }),
    maxSegments: Type.Integer({ minimum: 1, maximum: 10_000 }),
    dedupeWindowMs: Type.Integer({ minimum: 0, maximum: 365 * 86_400_000 }),
  },
  { additionalProperties: false },
);

const Cron = Type.String({ minLength: 9, maxLength: 100, description: '5-field cron expression (UTC)' });

const sourceFields = {
  description: Type.Optional(Type.String({ maxLength: 2000 })),
  fields: Type.Optional(
    Type.Array(FieldSpecSchema, {
      minItems: 1,
      maxItems: 200,
      description: 'The live dataset columns (default: inferred from a sample of the source)',
    }),
  ),
  schedule: Type.Optional(Type.Union([Cron, Type.Null()])),
  safety: Type.Optional(Type.Partial(SafetySchema)),
  live: Type.Optional(Type.Partial(LivePolicySchema)),
};

export const CreateConnectorBody = Type.Union([
  Type.Object(
    { name: Name, type: Type.Literal('thingspeak'), config: ThingSpeakConfig, ...sourceFields },
    { additionalProperties: false },
  ),
  Type.Object(
    { name: Name, type: Type.Literal('http'), config: HttpConfig, ...sourceFields },
    { additionalProperties: false },
  ),
  Type.Object(
    { name: Name, type: Type.Literal('mqtt'), config: MqttConfig, ...sourceFields },
    { additionalProperties: false },
  ),
  Type.Object(
    { name: Name, type: Type.Literal('push'), config: PushConfig, ...sourceFields },
    { additionalProperties: false },
  ),
]);
export type CreateConnectorBody = Static<typeof CreateConnectorBody>;

export const TestConnectorBody = Type.Union([
  Type.Object({ type: Type.Literal('thingspeak'), config: ThingSpeakConfig }, { additionalProperties: false }),
  Type.Object({ type: Type.Literal('http'), config: HttpConfig }, { additionalProperties: false }),
]);
export type TestConnectorBody = Static<typeof TestConnectorBody>;

export const UpdateConnectorBody = Type.Object(
  {
    name: Type.Optional(Name),
    description: Type.Optional(Type.String({ maxLength: 2000 })),
    schedule: Type.Optional(Type.Union([Cron, Type.Null()])),
    safety: Type.Optional(Type.Partial(SafetySchema)),
    live: Type.Optional(Type.Partial(LivePolicySchema)),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type UpdateConnectorBody = Static<typeof UpdateConnectorBody>;

export const ConnectorParams = Type.Object({ id: Id('con', 'Connector id') });

const NullableTime = NullableString({ format: 'date-time' });

export const ConnectorHealthSchema = Type.Object({
  breaker: StringEnum(['closed', 'open', 'half-open'] as const),
  consecutiveFailures: Type.Integer(),
  lastSyncAt: NullableTime,
  lastSuccessAt: NullableTime,
  lastRecordAt: NullableTime,
  lastError: NullableString(),
  stale: Type.Boolean(),
  /** Seconds since the last record arrived (null before the first). */
  lagSeconds: Type.Union([Type.Number(), Type.Null()]),
  rateLimit: Type.Union([Type.Object({ used: Type.Integer(), limit: Type.Integer() }), Type.Null()]),
  /** A streaming source's connection: connecting | connected | reconnecting | stopped (null for the others). */
  stream: NullableString(),
  /** Records waiting in the append log, not yet in a segment. */
  pendingRecords: Type.Integer(),
});

export const ConnectorSchema = Type.Object({
  id: Type.String(),
  workspaceId: Type.String(),
  name: Type.String(),
  description: Type.String(),
  type: ConnectorType,
  config: Type.Object({}, { additionalProperties: true, description: 'The source settings, secrets left out' }),
  secrets: Type.Array(Type.String(), { description: 'Which secrets the connector holds (never their values)' }),
  fields: Type.Array(FieldSpecSchema),
  schedule: NullableString(),
  nextSyncAt: NullableTime,
  safety: SafetySchema,
  live: LivePolicySchema,
  datasetId: Type.String(),
  datasetName: Type.String(),
  state: StringEnum(['active', 'paused'] as const),
  pausedReason: NullableString(),
  cursor: NullableString(),
  health: ConnectorHealthSchema,
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
});

export const CreatedConnectorSchema = Type.Object({
  connector: ConnectorSchema,
  /** Device push: the connector-scoped key, shown once. */
  pushKey: Type.Optional(Type.String()),
});

export const ConnectorListQuery = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: 500, default: 50 }),
  offset: Type.Integer({ minimum: 0, default: 0 }),
  type: Type.Optional(ConnectorType),
  name: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'Exactly this name' })),
  search: Type.Optional(
    Type.String({ minLength: 1, maxLength: 200, description: 'Names containing this, in any case' }),
  ),
});

export const ConnectorListResponse = Type.Object({
  items: Type.Array(ConnectorSchema),
  total: Type.Integer(),
  limit: Type.Integer(),
  offset: Type.Integer(),
});

const RejectedSchema = Type.Object({ reason: Type.String(), sample: Type.Optional(Type.String()) });

export const SyncSchema = Type.Object({
  id: Type.String(),
  connectorId: Type.String(),
  trigger: StringEnum(['schedule', 'manual', 'backfill', 'stream', 'push'] as const),
  status: StringEnum(['succeeded', 'failed', 'partial'] as const),
  records: Type.Integer({ description: 'New records stored' }),
  duplicates: Type.Integer(),
  rejected: Type.Integer(),
  errors: Type.Array(RejectedSchema),
  cursorFrom: NullableString(),
  cursorTo: NullableString(),
  startedAt: Type.String({ format: 'date-time' }),
  durationMs: Type.Integer(),
});

export const SyncListQuery = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: 500, default: 50 }),
  offset: Type.Integer({ minimum: 0, default: 0 }),
});
export const SyncListResponse = Type.Object({ items: Type.Array(SyncSchema), total: Type.Integer() });

export const TestResultSchema = Type.Object({
  fields: Type.Array(FieldSpecSchema),
  sample: Type.Array(Type.Object({}, { additionalProperties: true })),
  rejected: Type.Array(RejectedSchema),
  cursor: NullableString(),
});

export const LatestSchema = Type.Object({
  connectorId: Type.String(),
  at: NullableTime,
  values: Type.Object({}, { additionalProperties: true, description: 'The last value received per field' }),
});

export const BackfillBody = Type.Object(
  { from: Type.String({ format: 'date-time' }), to: Type.String({ format: 'date-time' }) },
  { additionalProperties: false },
);
export type BackfillBody = Static<typeof BackfillBody>;

export const PushQuery = Type.Object({
  api_key: Type.Optional(Type.String({ maxLength: 200, description: 'The push key (or Authorization: Bearer)' })),
});
export const PushResponse = Type.Object({
  accepted: Type.Integer({ description: 'New records stored (durable when this answer is sent)' }),
  duplicates: Type.Integer(),
  rejected: Type.Integer(),
  errors: Type.Array(RejectedSchema),
});
export const PushKeyResponse = Type.Object({ pushKey: Type.String() });
