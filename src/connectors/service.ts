import { createHash } from 'node:crypto';
import { Cron } from 'croner';
import { isUniqueViolation } from '../db/index.js';
import { AppError, errors } from '../errors.js';
import { safeEqual, randomToken } from '../identity/secrets.js';
import { newId } from '../ids.js';
import type { Job } from '../jobs/types.js';
import type { JobService } from '../jobs/service.js';
import type { Log } from '../logger.js';
import type { DatasetService } from '../datasets/service.js';
import type { LiveRepo } from '../live/repo.js';
import { DEFAULT_LIVE_POLICY, type LiveWriter } from '../live/writer.js';
import { profileParquet } from '../engine/profile.js';
import type { Engine } from '../engine/duckdb.js';
import { duckType } from '../live/writer.js';
import { CONNECTOR_BACKFILL_KIND, type BackfillPayload } from './jobs.js';
import { DEFAULT_SAFETY, type Connector, type ConnectorType, type StoredConnector, type Sync } from './model.js';
import { parsePushBody } from './push.js';
import type { ConnectorListFilter, ConnectorRepo } from './repo.js';
import type { ConnectorRuntime } from './runtime.js';
import type { BackfillBody, CreateConnectorBody, TestConnectorBody, UpdateConnectorBody } from './schemas.js';
import type { SecretBox } from './secrets.js';
import { assertReachable, createGuard, pollSourceFor, splitSecrets, type SourceSecrets } from './sources/index.js';
import type { FieldSpec, PollContext } from './sources/types.js';
import { mqttSourceConfigErrors, type MqttSourceConfig } from './sources/mqtt-config.js';
import { typeRecords } from './typing.js';

/** A sample for the dry run and for inferring a new connector's columns: a page of the source. */
const SAMPLE_ROWS = 20;

const hashKey = (key: string): string => createHash('sha256').update(key, 'utf8').digest('hex');

/** Connectors: CRUD, dry runs, syncs, backfills, device pushes, their history and their latest values. */
export class ConnectorService {
  constructor(
    private readonly o: {
      repo: ConnectorRepo;
      liveRepo: LiveRepo;
      writer: LiveWriter;
      runtime: ConnectorRuntime;
      datasets: DatasetService;
      engine: Engine;
      jobs: JobService;
      secrets: SecretBox;
      allowPrivateNetworks: boolean;
      log: Log;
    },
  ) {}

  /** The secrets of a stored connector, opened. */
  secretsOf(c: StoredConnector): SourceSecrets {
    return c.secretsSealed ? (JSON.parse(this.o.secrets.open(c.secretsSealed)) as SourceSecrets) : {};
  }

  async workspaceOf(id: string): Promise<string | null> {
    return (await this.o.repo.byId(id))?.workspaceId ?? null;
  }

  private async require(workspaceId: string, id: string): Promise<StoredConnector> {
    const c = await this.o.repo.get(workspaceId, id);
    if (!c) throw errors.notFound('Connector', id);
    return c;
  }

  async get(workspaceId: string, id: string): Promise<Connector> {
    return this.toPublic(await this.require(workspaceId, id));
  }

  async list(q: ConnectorListFilter) {
    const { items, total } = await this.o.repo.list(q);
    return { items: await Promise.all(items.map((c) => this.toPublic(c))), total };
  }

  private async toPublic(c: StoredConnector): Promise<Connector> {
    const [dataset, pending, rateLimit] = await Promise.all([
      this.o.datasets.get(c.workspaceId, c.datasetId).catch(() => null),
      this.o.liveRepo.pendingCount(c.id),
      this.o.runtime.rateLimitUse(c),
    ]);
    const lastRecord = c.lastRecordAt ? Date.parse(c.lastRecordAt) : null;
    return {
      id: c.id,
      workspaceId: c.workspaceId,
      name: c.name,
      description: c.description,
      type: c.type,
      config: c.config,
      secrets: c.secretsSealed ? Object.keys(this.secretsOf(c)) : [],
      fields: c.fields,
      schedule: c.schedule,
      nextSyncAt: c.state === 'active' && c.schedule ? (this.o.runtime.nextSyncAt(c.id) ?? nextRun(c.schedule)) : null,
      safety: c.safety,
      live: c.live,
      datasetId: c.datasetId,
      datasetName: dataset?.name ?? c.name,
      state: c.state,
      pausedReason: c.pausedReason,
      cursor: c.cursor,
      health: {
        breaker: this.o.runtime.breakerState(c.id),
        consecutiveFailures: c.consecutiveFailures,
        lastSyncAt: c.lastSyncAt,
        lastSuccessAt: c.lastSuccessAt,
        lastRecordAt: c.lastRecordAt,
        lastError: c.lastError,
        stale: c.stale,
        lagSeconds: lastRecord === null ? null : Math.max(0, Math.round((Date.now() - lastRecord) / 1000)),
        rateLimit,
        stream: this.o.runtime.streamStatus(c.id),
        pendingRecords: pending,
      },
      createdAt: c.createdAt,
      updatedAt: c.updatedAt,
    };
  }

  /**
   * Creates a connector and its live dataset (named like it, with an empty first version) in one transaction.
   * Columns are given, or inferred from a sample of a ThingSpeak or HTTP source. Device push answers its key once.
   */
  async create(
    workspaceId: string,
    userId: string | null,
    body: CreateConnectorBody,
  ): Promise<{ connector: Connector; pushKey?: string }> {
    const schedule = body.schedule ?? null;
    if (schedule !== null) assertCron(schedule);
    if (schedule !== null && (body.type === 'mqtt' || body.type === 'push'))
      throw errors.validation('Only polling connectors have a schedule', [
        { pointer: '/body/schedule', message: `a ${body.type} connector receives records as they come` },
      ]);
    const { config, secrets } = splitSecrets(body.type, body.config as Record<string, unknown>);
    assertSourceConfig(body.type, config, secrets);
    await this.checkReachable(body.type, body.config as Record<string, unknown>);
    let fields = body.fields;
    if (!fields) {
      if (body.type === 'mqtt' || body.type === 'push')
        throw errors.validation(`A ${body.type} connector needs its columns`, [
          { pointer: '/body/fields', message: 'list the columns as [{ "name", "type" }]' },
        ]);
      fields = (await this.sample(body.type, config, secrets)).fields;
      if (fields.length === 0)
        throw errors.validation('The source answered no records to infer columns from', [
          { pointer: '/body/fields', message: 'list the columns, or try again when the source has data' },
        ]);
    }
    assertFields(fields);
    const existing = await this.o.repo.list({ workspaceId, limit: 1, offset: 0, name: body.name });
    if (existing.total > 0) throw errors.conflict(`A connector named '${body.name}' already exists`);
    const now = new Date().toISOString();
    const pushKey = body.type === 'push' ? `wpk_${randomToken(24)}` : undefined;
    const stored: StoredConnector = {
      id: newId('con'),
      workspaceId,
      name: body.name,
      description: body.description ?? '',
      type: body.type,
      config,
      secretsSealed: Object.keys(secrets).length > 0 ? this.o.secrets.seal(JSON.stringify(secrets)) : null,
      fields,
      safety: { ...DEFAULT_SAFETY, ...body.safety },
      live: { ...DEFAULT_LIVE_POLICY, ...body.live },
      schedule,
      datasetId: newId('ds'),
      state: 'active',
      pausedReason: null,
      cursor: null,
      consecutiveFailures: 0,
      lastSyncAt: null,
      lastSuccessAt: null,
      lastRecordAt: null,
      lastError: null,
      stale: false,
      pushKeyHash: pushKey ? hashKey(pushKey) : null,
      createdBy: userId,
      createdAt: now,
      updatedAt: now,
    };
    const parquet = await this.o.writer.emptyFile(fields);
    const schema = fields.map((f) => ({ name: f.name, type: duckType(f.type), nullable: true }));
    try {
      await this.o.datasets.storeLive({
        workspaceId,
        datasetId: stored.datasetId,
        newDataset: {
          name: body.name,
          description: `Live dataset of the ${body.type} connector '${body.name}'`,
          tags: ['live'],
        },
        versionId: newId('dv'),
        parquetPath: parquet,
        sourceFilename: `connector:${body.name}`,
        schema,
        rowCount: 0,
        profile: await profileParquet(this.o.engine, parquet, schema),
        alsoInTransaction: (trx) => this.o.repo.insert(stored, trx),
      });
    } catch (e) {
      if (isUniqueViolation(e)) throw errors.conflict(`A connector named '${body.name}' already exists`);
      throw e;
    }
    await this.o.runtime.changed();
    this.o.log.info({ connectorId: stored.id, type: stored.type, datasetId: stored.datasetId }, 'connector created');
    return { connector: await this.toPublic(stored), ...(pushKey ? { pushKey } : {}) };
  }

  /** The dry run: a page of the source and the columns inferred from it; nothing is stored. */
  async test(body: TestConnectorBody) {
    await this.checkReachable(body.type, body.config as Record<string, unknown>);
    const { config, secrets } = splitSecrets(body.type, body.config as Record<string, unknown>);
    return this.sample(body.type, config, secrets);
  }

  private async sample(type: ConnectorType, config: Record<string, unknown>, secrets: SourceSecrets) {
    // Dry runs share one cache entry per URL for the cache's lifetime: "Test connection" pressed again, and the create
    // that follows a dry run, do not spend the source's rate limit twice.
    const probe = {
      id: 'con_dryrun',
      name: 'test',
      type,
      config,
      safety: { ...DEFAULT_SAFETY, retries: 0 },
    } as unknown as StoredConnector;
    const guard = createGuard({
      connector: probe,
      redis: null,
      redisPrefix: 'test',
      allowPrivateNetworks: this.o.allowPrivateNetworks,
    });
    try {
      const source = pollSourceFor(probe, secrets);
      const ctx: PollContext = {
        fetch: (request, signal) => guard.fetch({ ...request, cacheable: true }, signal),
        signal: AbortSignal.timeout(30_000),
        log: this.o.log,
      };
      const page = await source.poll(null, ctx).catch((e: unknown) => {
        throw new AppError('bad_request', `The source could not be read: ${(e as Error).message}`, [
          { pointer: '/body/config', message: 'check the address, the id and the key' },
        ]);
      });
      const fields = page.fields ?? inferFromValues(page.records.map((r) => r.values));
      const { typed, rejected } = typeRecords(page.records.slice(-SAMPLE_ROWS), fields);
      return {
        fields,
        sample: typed.map((t) => t.row),
        rejected: [...page.rejected, ...rejected].slice(0, 20),
        cursor: page.cursor,
      };
    } finally {
      guard.dispose();
    }
  }

  private async checkReachable(type: ConnectorType, config: Record<string, unknown>): Promise<void> {
    const url =
      typeof config.url === 'string' ? config.url : typeof config.baseUrl === 'string' ? config.baseUrl : null;
    if (url === null || this.o.allowPrivateNetworks) return;
    await assertReachable(
      url,
      type === 'http' ? '/body/config/url' : type === 'mqtt' ? '/body/config/url' : '/body/config/baseUrl',
    );
  }

  async update(workspaceId: string, id: string, patch: UpdateConnectorBody): Promise<Connector> {
    const c = await this.require(workspaceId, id);
    if (patch.schedule !== undefined && patch.schedule !== null) {
      assertCron(patch.schedule);
      if (c.type === 'mqtt' || c.type === 'push')
        throw errors.validation('Only polling connectors have a schedule', [
          { pointer: '/body/schedule', message: `a ${c.type} connector receives records as they come` },
        ]);
    }
    try {
      await this.o.repo.update(id, {
        ...(patch.name !== undefined ? { name: patch.name } : {}),
        ...(patch.description !== undefined ? { description: patch.description } : {}),
        ...(patch.schedule !== undefined ? { schedule: patch.schedule } : {}),
        ...(patch.safety ? { safety_json: JSON.stringify({ ...c.safety, ...patch.safety }) } : {}),
        ...(patch.live ? { live_json: JSON.stringify({ ...c.live, ...patch.live }) } : {}),
      });
    } catch (e) {
      if (isUniqueViolation(e)) throw errors.conflict(`A connector named '${patch.name}' already exists`);
      throw e;
    }
    await this.o.runtime.changed();
    return this.get(workspaceId, id);
  }

  /** Deletes the connector, its history and its live dataset (versions, segments, waiting records). */
  async delete(workspaceId: string, id: string, log: Log): Promise<void> {
    const c = await this.require(workspaceId, id);
    await this.o.repo.delete(id);
    await this.o.runtime.changed();
    await this.o.liveRepo.forget(id);
    await this.o.datasets.deleteStored(workspaceId, c.datasetId, log).catch((e: unknown) => {
      if (!(e instanceof AppError && e.status === 404)) throw e;
    });
    log.info({ connectorId: id, datasetId: c.datasetId }, 'connector deleted');
  }

  async pause(workspaceId: string, id: string): Promise<Connector> {
    await this.require(workspaceId, id);
    await this.o.repo.update(id, { state: 'paused', paused_reason: 'Paused by a person' });
    await this.o.runtime.changed();
    return this.get(workspaceId, id);
  }

  /** Resumes a paused connector; its failure count starts again (the breaker is closed by its own probe). */
  async resume(workspaceId: string, id: string): Promise<Connector> {
    await this.require(workspaceId, id);
    await this.o.repo.update(id, { state: 'active', paused_reason: null, consecutive_failures: 0 });
    await this.o.runtime.changed();
    return this.get(workspaceId, id);
  }

  /** "Sync now": polls once and answers the sync; streams and pushes have nothing to poll. */
  async sync(workspaceId: string, id: string): Promise<Sync> {
    const c = await this.require(workspaceId, id);
    if (c.type === 'mqtt' || c.type === 'push')
      throw errors.conflict(`A ${c.type} connector receives records as they come: there is nothing to poll`);
    if (c.state === 'paused') throw errors.conflict(`Connector '${c.name}' is paused: resume it first`);
    return this.o.runtime.sync(c, 'manual');
  }

  async backfill(workspaceId: string, userId: string | null, id: string, body: BackfillBody): Promise<Job> {
    const c = await this.require(workspaceId, id);
    if (c.type !== 'thingspeak' && c.type !== 'http')
      throw errors.conflict(`A ${c.type} connector cannot fetch the past: only polling sources backfill`);
    const from = Date.parse(body.from);
    const to = Date.parse(body.to);
    if (!(from < to))
      throw errors.validation('from must be before to', [{ pointer: '/body/to', message: 'must be after from' }]);
    const payload: BackfillPayload = { v: 1, connectorId: id, from: body.from, to: body.to };
    return this.o.jobs.enqueue(CONNECTOR_BACKFILL_KIND, payload, { workspaceId, createdBy: userId });
  }

  async syncs(workspaceId: string, id: string, limit: number, offset: number) {
    await this.require(workspaceId, id);
    await this.o.runtime.flushTallies();
    return this.o.repo.syncs(id, limit, offset);
  }

  /** The last value of each field: from this process's memory of what it stored, else the newest record kept. */
  async latest(workspaceId: string, id: string) {
    const c = await this.require(workspaceId, id);
    const held = this.o.runtime.latest(c.id);
    if (held) return { connectorId: id, at: held.at, values: held.values };
    const file = await this.o.datasets.resolveVersion(workspaceId, c.datasetId).catch(() => null);
    if (!file || file.version.rowCount === 0) return { connectorId: id, at: c.lastRecordAt, values: {} };
    const page = await this.o.datasets.preview(workspaceId, c.datasetId, {
      limit: 1,
      offset: file.version.rowCount - 1,
    });
    const values: Record<string, unknown> = {};
    page.columns.forEach((col, i) => (values[col.name] = (page.rows[0] as unknown[] | undefined)?.[i] ?? null));
    return { connectorId: id, at: c.lastRecordAt, values };
  }

  /**
   * Device push: records in a JSON array, NDJSON or a ThingSpeak-style `update` form, authenticated by the
   * connector's push key. Answers once they are durable.
   */
  async push(id: string, key: string | undefined, contentType: string | undefined, body: string | Buffer) {
    const c = await this.o.repo.byId(id);
    // An unknown connector and a wrong key look alike: a key guesser learns nothing about which ids exist.
    if (!c || c.type !== 'push' || !key || !c.pushKeyHash || !safeEqual(hashKey(key), c.pushKeyHash))
      throw new AppError('unauthorized', 'The push key is missing or wrong for this connector');
    if (c.state === 'paused') throw errors.conflict(`Connector '${c.name}' is paused: it accepts no records`);
    const { records, rejected } = parsePushBody(body, contentType, c.config.keyField as string | undefined);
    const outcome = await this.o.runtime.ingestStreamed(c, 'push', records, rejected);
    return {
      accepted: outcome.stored,
      duplicates: outcome.duplicates,
      rejected: outcome.rejected.length,
      errors: outcome.rejected.slice(0, 20),
    };
  }

  async rotatePushKey(workspaceId: string, id: string): Promise<{ pushKey: string }> {
    const c = await this.require(workspaceId, id);
    if (c.type !== 'push') throw errors.conflict(`A ${c.type} connector has no push key`);
    const pushKey = `wpk_${randomToken(24)}`;
    await this.o.repo.update(id, { push_key_hash: hashKey(pushKey) });
    return { pushKey };
  }

  /** Start-up: secrets sealed under an old key are sealed again under the current one (key rotation). */
  async resealSecrets(): Promise<number> {
    let n = 0;
    for (const c of await this.o.repo.all()) {
      if (!c.secretsSealed || !this.o.secrets.isStale(c.secretsSealed)) continue;
      await this.o.repo.update(c.id, { secrets_sealed: this.o.secrets.seal(this.o.secrets.open(c.secretsSealed)) });
      n++;
    }
    return n;
  }
}

/** Builds the source once, so a bad topic filter or JSON path is a 400 with its pointer, not a failing sync. */
function assertSourceConfig(type: ConnectorType, config: Record<string, unknown>, secrets: SourceSecrets): void {
  if (type === 'mqtt') {
    const problems = mqttSourceConfigErrors({
      ...(config as unknown as MqttSourceConfig),
      qos: (config.qos as 0 | 1 | undefined) ?? 1,
      payload: (config.payload as MqttSourceConfig['payload'] | undefined) ?? 'auto',
      clientId: 'weir-check',
    });
    if (problems.length > 0)
      throw errors.validation(
        `The MQTT settings are not valid: ${problems.join('; ')}`,
        problems.map((message) => ({ pointer: '/body/config', message })),
      );
  }
  if (type === 'http' || type === 'thingspeak') {
    try {
      pollSourceFor({ type, config }, secrets);
    } catch (e) {
      throw errors.validation(`The source settings are not valid: ${(e as Error).message}`, [
        { pointer: '/body/config', message: (e as Error).message },
      ]);
    }
  }
}

function assertCron(schedule: string): void {
  try {
    new Cron(schedule, { timezone: 'UTC', mode: '5-or-6-parts', paused: true });
  } catch (e) {
    throw errors.validation(`The schedule is not a cron expression: ${(e as Error).message}`, [
      { pointer: '/body/schedule', message: 'a 5-field (or 6-field, with seconds) cron expression, UTC' },
    ]);
  }
}

function nextRun(schedule: string): string | null {
  try {
    return new Cron(schedule, { timezone: 'UTC', mode: '5-or-6-parts', paused: true }).nextRun()?.toISOString() ?? null;
  } catch {
    return null;
  }
}

function assertFields(fields: FieldSpec[]): void {
  const seen = new Set<string>();
  fields.forEach((f, i) => {
    if (seen.has(f.name.toLowerCase()))
      throw errors.validation(`Column '${f.name}' is listed twice`, [
        { pointer: `/body/fields/${i}/name`, message: 'column names must be unique (case-insensitively)' },
      ]);
    seen.add(f.name.toLowerCase());
  });
}

/** Column types from sample values: numbers are double, ISO strings timestamps, the rest text. */
function inferFromValues(rows: Record<string, unknown>[]): FieldSpec[] {
  const types = new Map<string, FieldSpec['type']>();
  for (const row of rows)
    for (const [name, v] of Object.entries(row)) {
      if (v === null || v === undefined || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) continue;
      const t: FieldSpec['type'] =
        typeof v === 'number'
          ? 'double'
          : typeof v === 'boolean'
            ? 'boolean'
            : typeof v === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(v)
              ? 'timestamp'
              : 'varchar';
      const had = types.get(name);
      types.set(name, had === undefined || had === t ? t : 'varchar');
    }
  return [...types].map(([name, type]) => ({ name, type }));
}
