import { hostname } from 'node:os';
import { Cron } from 'croner';
import type { EventBus } from '../bus/types.js';
import { newId } from '../ids.js';
import type { Log } from '../logger.js';
import type { LiveTarget, LiveWriter } from '../live/writer.js';
import type { ConnectorEvents } from './events.js';
import type { ConnectorMetrics } from './metrics.js';
import type { StoredConnector, Sync, SyncTrigger } from './model.js';
import type { ConnectorRepo } from './repo.js';
import type { SourceGuard } from './safety.js';
import { SourceError } from './source-error.js';
import { createGuard, instrumented, pollSourceFor, streamSourceFor, type SourceSecrets } from './sources/index.js';
import type { PollContext, PollResult, RejectedInput, SourceRecord, StreamSource } from './sources/types.js';
import { KEPT_REJECTIONS, typeRecords } from './typing.js';

/** How often this process re-reads every connector (changes made on other nodes, schedules edited). */
const RECONCILE_EVERY_MS = 15_000;
/** How often staleness is checked. */
const STALE_CHECK_EVERY_MS = 30_000;
/** Streams and pushes write one sync row a minute with what they received, not one a message. */
const STREAM_SYNC_EVERY_MS = 60_000;
/** Syncs kept per connector. */
const SYNC_HISTORY = 1000;
/** Most pages one poll follows before it leaves the rest for the next fire time. */
const MAX_PAGES_PER_SYNC = 20;

export interface IngestOutcome {
  stored: number;
  duplicates: number;
  rejected: RejectedInput[];
}

interface StreamTally {
  startedAt: number;
  records: number;
  duplicates: number;
  rejected: number;
  errors: RejectedInput[];
  cursorFrom: string | null;
  cursorTo: string | null;
}

/**
 * What makes connectors run in this process: schedules fired once per cluster, MQTT subscriptions, the safety
 * layer of every source, staleness, and the path every record takes into its live dataset (typed, deduplicated,
 * durable, then announced). The API process of every node runs one; job workers do not (a backfill job uses
 * `syncPages` directly).
 */
export class ConnectorRuntime {
  private readonly crons = new Map<string, { schedule: string; cron: Cron }>();
  private readonly streams = new Map<string, { signature: string; source: StreamSource }>();
  private readonly guards = new Map<string, { signature: string; guard: SourceGuard }>();
  private readonly syncing = new Map<string, Promise<Sync>>();
  private readonly latestValues = new Map<string, { at: string; values: Record<string, unknown> }>();
  private readonly lastRecordWrites = new Map<string, number>();
  /** Connectors this process marked stale: a subscription holds the connector as it was when it started. */
  private readonly markedStale = new Set<string>();
  private readonly tallies = new Map<
    string,
    { connector: StoredConnector; trigger: SyncTrigger; tally: StreamTally }
  >();
  private timers: NodeJS.Timeout[] = [];
  private reconciling: Promise<void> = Promise.resolve();
  private unsubscribe: (() => void) | null = null;
  private started = false;
  readonly nodeId = `${hostname()}-${process.pid}`;

  constructor(
    private readonly o: {
      repo: ConnectorRepo;
      writer: LiveWriter;
      events: ConnectorEvents;
      metrics: ConnectorMetrics;
      bus: EventBus;
      log: Log;
      secrets: (c: StoredConnector) => SourceSecrets;
      /** Redis for rate limits shared by every node (cluster mode); null: this process's own buckets. */
      redis: import('ioredis').Redis | null;
      redisPrefix: string;
      /** In cluster mode MQTT subscriptions are shared: the broker splits messages among the nodes. */
      cluster: boolean;
      allowPrivateNetworks: boolean;
      now?: () => number;
    },
  ) {}

  private now(): number {
    return this.o.now ? this.o.now() : Date.now();
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.o.writer.start();
    this.unsubscribe = this.o.bus.subscribe('internal:connectors', (e) => {
      if (e.type === 'connector.changed') void this.reconcile();
    });
    const every = (ms: number, fn: () => Promise<void>) => {
      const t = setInterval(
        () => void fn().catch((err: unknown) => this.o.log.warn({ err }, 'connector loop failed')),
        ms,
      );
      t.unref();
      this.timers.push(t);
    };
    every(RECONCILE_EVERY_MS, () => this.reconcile());
    every(STALE_CHECK_EVERY_MS, () => this.checkStaleness());
    // A fire time's claim only has to outlive the fire's moment on every node's clock: an hour is plenty.
    every(STALE_CHECK_EVERY_MS, () => this.o.repo.pruneFires(new Date(this.now() - 3_600_000).toISOString()));
    every(STREAM_SYNC_EVERY_MS, () => this.writeTallies());
    await this.reconcile().catch((err: unknown) => this.o.log.warn({ err }, 'starting connectors failed'));
  }

  async stop(): Promise<void> {
    this.started = false;
    this.unsubscribe?.();
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    for (const { cron } of this.crons.values()) cron.stop();
    this.crons.clear();
    await Promise.allSettled([...this.streams.values()].map((s) => s.source.stop()));
    this.streams.clear();
    await Promise.allSettled([...this.syncing.values()]);
    await this.writeTallies();
    await this.o.writer.stop();
    for (const { guard } of this.guards.values()) guard.dispose();
    this.guards.clear();
  }

  /** Tells every node that a connector changed (created, edited, paused, resumed, deleted). */
  async changed(): Promise<void> {
    await this.reconcile();
    await this.o.bus.publish('internal:connectors', 'connector.changed', {}).catch(() => {});
  }

  /**
   * Brings schedules and subscriptions in line with the connectors table. One pass at a time: a timer's pass and a
   * change's pass must not both start a subscription for the same connector.
   */
  reconcile(): Promise<void> {
    const pass = this.reconciling.then(() => this.reconcileOnce());
    this.reconciling = pass.catch(() => {});
    return pass;
  }

  private async reconcileOnce(): Promise<void> {
    if (!this.started) return;
    const all = await this.o.repo.all();
    const seen = new Set<string>();
    for (const c of all) {
      seen.add(c.id);
      const active = c.state === 'active';
      // Schedules: poll sources with a cron expression.
      const cronEntry = this.crons.get(c.id);
      const wantsCron = active && c.schedule !== null && (c.type === 'thingspeak' || c.type === 'http');
      if (cronEntry && (!wantsCron || cronEntry.schedule !== c.schedule)) {
        cronEntry.cron.stop();
        this.crons.delete(c.id);
      }
      if (wantsCron && !this.crons.has(c.id)) this.schedule(c);
      // Streams: MQTT subscriptions, restarted when their settings change.
      const stream = this.streams.get(c.id);
      const signature = JSON.stringify([c.config, c.secretsSealed, c.fields]);
      if (stream && (!active || stream.signature !== signature)) {
        this.streams.delete(c.id);
        await stream.source.stop().catch(() => {});
      }
      if (active && c.type === 'mqtt' && !this.streams.has(c.id)) await this.subscribe(c, signature);
    }
    for (const [id, entry] of this.crons)
      if (!seen.has(id)) {
        entry.cron.stop();
        this.crons.delete(id);
      }
    for (const [id, stream] of this.streams)
      if (!seen.has(id)) {
        this.streams.delete(id);
        await stream.source.stop().catch(() => {});
      }
    for (const id of this.guards.keys()) if (!seen.has(id)) this.dropGuard(id);
  }

  private schedule(c: StoredConnector): void {
    const cron = new Cron(
      c.schedule!,
      { timezone: 'UTC', mode: '5-or-6-parts', unref: true, protect: true },
      (self: Cron) => {
        const at = self.previousRuns(1, new Date(Date.now() + 1))[0];
        if (at) void this.fire(c.id, at);
      },
    );
    this.crons.set(c.id, { schedule: c.schedule!, cron });
  }

  /** One fire time: the process whose claim wins polls; every other process skips it. */
  private async fire(connectorId: string, at: Date): Promise<void> {
    try {
      const scheduledFor = new Date(Math.floor(at.getTime() / 1000) * 1000).toISOString();
      if (!(await this.o.repo.claimFire(connectorId, scheduledFor))) return;
      const c = await this.o.repo.byId(connectorId);
      if (!c || c.state !== 'active') return;
      await this.sync(c, 'schedule');
    } catch (err) {
      this.o.log.warn({ err, connectorId }, 'a scheduled connector sync failed to run');
    }
  }

  nextSyncAt(connectorId: string): string | null {
    return this.crons.get(connectorId)?.cron.nextRun()?.toISOString() ?? null;
  }

  /** The live dataset of a connector. */
  target(c: StoredConnector): LiveTarget {
    return {
      connectorId: c.id,
      connectorName: c.name,
      datasetId: c.datasetId,
      workspaceId: c.workspaceId,
      fields: c.fields,
      policy: c.live,
    };
  }

  /** The connector's safety layer, rebuilt when its settings change (breaker state is per process). */
  guardFor(c: StoredConnector): SourceGuard {
    const signature = JSON.stringify(c.safety);
    const held = this.guards.get(c.id);
    if (held && held.signature === signature) return held.guard;
    if (held) this.dropGuard(c.id);
    const guard = createGuard({
      connector: c,
      redis: this.o.redis,
      redisPrefix: this.o.redisPrefix,
      allowPrivateNetworks: this.o.allowPrivateNetworks,
      secrets: this.o.secrets(c),
      log: this.o.log,
      onBreaker: (state) => {
        this.o.metrics.breaker(c.id, state);
        if (state === 'open')
          this.o.events.alert(c.id, c.workspaceId, 'breaker_open', `The source of '${c.name}' keeps failing`);
        if (state === 'closed')
          this.o.events.alert(c.id, c.workspaceId, 'breaker_closed', `The source of '${c.name}' answers again`);
      },
    });
    this.guards.set(c.id, { signature, guard });
    return guard;
  }

  private dropGuard(id: string): void {
    this.guards.get(id)?.guard.dispose();
    this.guards.delete(id);
  }

  breakerState(connectorId: string): 'closed' | 'open' | 'half-open' {
    return this.guards.get(connectorId)?.guard.breakerState() ?? 'closed';
  }

  async rateLimitUse(c: StoredConnector): Promise<{ used: number; limit: number } | null> {
    if (c.type !== 'thingspeak' && c.type !== 'http') return null;
    try {
      return await this.guardFor(c).rateLimitUse();
    } catch {
      return null;
    }
  }

  streamStatus(connectorId: string): string | null {
    return this.streams.get(connectorId)?.source.status ?? null;
  }

  /** Polls a connector now (a schedule's fire time, or "sync now"); one sync of a connector at a time here. */
  sync(c: StoredConnector, trigger: SyncTrigger): Promise<Sync> {
    const running = this.syncing.get(c.id);
    if (running) return running;
    const p = this.pollOnce(c, trigger).finally(() => this.syncing.delete(c.id));
    this.syncing.set(c.id, p);
    return p;
  }

  private async pollOnce(c: StoredConnector, trigger: SyncTrigger): Promise<Sync> {
    const source = pollSourceFor(c, this.o.secrets(c));
    const guard = this.guardFor(c);
    const signal = AbortSignal.timeout(Math.max(60_000, c.safety.timeoutMs * (c.safety.retries + 1) * 4));
    const ctx: PollContext = {
      fetch: instrumented(guard.fetch, this.o.metrics, c.id),
      signal,
      log: this.o.log,
    };
    return this.syncPages(c, trigger, (cursor) => source.poll(cursor, ctx));
  }

  /**
   * Runs pages of a poll or a backfill into the live dataset: each page's records are durable before the cursor
   * moves past them, so a crash at any point resumes with no gap, and the dedupe keys drop what a retry fetches
   * twice. Records a sync row and updates the connector's health; pauses it after too many failures in a row.
   */
  async syncPages(
    c: StoredConnector,
    trigger: SyncTrigger,
    page: (cursor: string | null) => Promise<PollResult>,
    opts: { cursor?: string | null; saveCursor?: boolean; maxPages?: number; onPage?: (r: PollResult) => void } = {},
  ): Promise<Sync> {
    const started = this.now();
    const sync: Sync = {
      id: newId('cs'),
      connectorId: c.id,
      trigger,
      status: 'succeeded',
      records: 0,
      duplicates: 0,
      rejected: 0,
      errors: [],
      cursorFrom: opts.cursor === undefined ? c.cursor : opts.cursor,
      cursorTo: opts.cursor === undefined ? c.cursor : opts.cursor,
      startedAt: new Date(started).toISOString(),
      durationMs: 0,
    };
    const saveCursor = opts.saveCursor ?? true;
    let failure: unknown = null;
    try {
      for (let pages = 0; pages < (opts.maxPages ?? MAX_PAGES_PER_SYNC); pages++) {
        const result = await page(sync.cursorTo);
        opts.onPage?.(result);
        const outcome = await this.ingest(c, result.records, result.rejected);
        sync.records += outcome.stored;
        sync.duplicates += outcome.duplicates;
        sync.rejected += outcome.rejected.length;
        keep(sync.errors, outcome.rejected);
        if (result.cursor !== null && result.cursor !== sync.cursorTo) {
          sync.cursorTo = result.cursor;
          if (saveCursor) await this.o.repo.update(c.id, { cursor: result.cursor });
        }
        if (!result.more) break;
      }
    } catch (e) {
      failure = e;
      sync.status = sync.records > 0 ? 'partial' : 'failed';
      keep(sync.errors, [{ reason: describeFailure(e) }]);
    }
    sync.durationMs = this.now() - started;
    await this.finishSync(c, sync, failure);
    return sync;
  }

  private async finishSync(c: StoredConnector, sync: Sync, failure: unknown): Promise<void> {
    const at = new Date(this.now()).toISOString();
    this.o.metrics.synced(c.id, sync);
    try {
      await this.o.repo.insertSync({ ...sync, workspaceId: c.workspaceId });
      await this.o.repo.pruneSyncs(c.id, SYNC_HISTORY);
      if (failure === null) {
        await this.o.repo.update(c.id, {
          last_sync_at: at,
          last_success_at: at,
          consecutive_failures: 0,
          last_error: sync.rejected > 0 ? `${sync.rejected} input(s) rejected in the last sync` : null,
        });
      } else {
        const fresh = await this.o.repo.byId(c.id);
        const failures = (fresh?.consecutiveFailures ?? c.consecutiveFailures) + 1;
        const message = describeFailure(failure);
        this.o.log.warn({ connectorId: c.id, failures, err: message }, 'connector sync failed');
        await this.o.repo.update(c.id, { last_sync_at: at, consecutive_failures: failures, last_error: message });
        if (failures >= c.safety.pauseAfterFailures && fresh?.state === 'active') {
          const reason = `Paused after ${failures} failed syncs in a row; the last: ${message}`;
          await this.o.repo.update(c.id, { state: 'paused', paused_reason: reason });
          this.o.events.alert(c.id, c.workspaceId, 'paused', reason);
          await this.changed();
        }
      }
    } catch (err) {
      this.o.log.warn({ err, connectorId: c.id }, 'recording a connector sync failed');
    }
    this.o.events.sync(sync);
  }

  /**
   * Every record's way into its live dataset: typed against the columns, deduplicated, stored durably (this
   * resolves only then), counted, and announced on the connector's tail.
   */
  async ingest(c: StoredConnector, records: SourceRecord[], rejectedBySource: RejectedInput[]): Promise<IngestOutcome> {
    const { typed, rejected } = typeRecords(records, c.fields);
    const all = [...rejectedBySource, ...rejected];
    for (const r of all.slice(0, 5))
      this.o.log.warn({ connectorId: c.id, reason: r.reason }, 'connector input rejected');
    const { stored, duplicates, kept } =
      typed.length > 0 ? await this.o.writer.append(this.target(c), typed) : { stored: 0, duplicates: 0, kept: [] };
    this.o.metrics.ingested(c.id, stored, duplicates, all.length);
    if (stored > 0) {
      const at = new Date(this.now()).toISOString();
      // At most once a second a connector (a stream commits many batches a second); at once when it was stale.
      const written = this.lastRecordWrites.get(c.id) ?? 0;
      const wasStale = c.stale || this.markedStale.has(c.id);
      if (wasStale || this.now() - written >= 1000) {
        this.lastRecordWrites.set(c.id, this.now());
        await this.o.repo.update(c.id, { last_record_at: at, ...(wasStale ? { stale: 0 } : {}) });
      }
      if (wasStale) {
        c.stale = false;
        this.markedStale.delete(c.id);
        this.o.events.alert(c.id, c.workspaceId, 'fresh', `Records arrive again for '${c.name}'`);
      }
      // Only what was stored: a duplicate dropped by its key is not news.
      const rows = kept.map((t) => t.row);
      this.remember(c.id, rows, at);
      this.o.events.records(c.id, rows.slice(-50));
    }
    return { stored, duplicates, rejected: all };
  }

  /** The last value of each field this process stored, and when (GET /connectors/:id/latest). */
  latest(connectorId: string): { at: string; values: Record<string, unknown> } | null {
    return this.latestValues.get(connectorId) ?? null;
  }

  private remember(connectorId: string, rows: Record<string, unknown>[], at: string): void {
    let held = this.latestValues.get(connectorId);
    if (!held) this.latestValues.set(connectorId, (held = { at, values: {} }));
    held.at = at;
    for (const row of rows) for (const [k, v] of Object.entries(row)) if (v !== null) held.values[k] = v;
  }

  /** Streams and pushes: what arrived is tallied and written as one sync row a minute. */
  async ingestStreamed(
    c: StoredConnector,
    trigger: 'stream' | 'push',
    records: SourceRecord[],
    rejected: RejectedInput[],
  ): Promise<IngestOutcome> {
    const outcome = await this.ingest(c, records, rejected);
    let entry = this.tallies.get(c.id);
    if (!entry) {
      entry = {
        connector: c,
        trigger,
        tally: {
          startedAt: this.now(),
          records: 0,
          duplicates: 0,
          rejected: 0,
          errors: [],
          cursorFrom: null,
          cursorTo: null,
        },
      };
      this.tallies.set(c.id, entry);
    }
    const t = entry.tally;
    t.records += outcome.stored;
    t.duplicates += outcome.duplicates;
    t.rejected += outcome.rejected.length;
    keep(t.errors, outcome.rejected);
    const cursors = records.map((r) => r.cursor).filter((x): x is string => x !== null);
    t.cursorFrom ??= cursors[0] ?? null;
    t.cursorTo = cursors.at(-1) ?? t.cursorTo;
    return outcome;
  }

  private async writeTallies(): Promise<void> {
    const entries = [...this.tallies.values()];
    this.tallies.clear();
    for (const { connector, trigger, tally } of entries) {
      const sync: Sync = {
        id: newId('cs'),
        connectorId: connector.id,
        trigger,
        status: 'succeeded',
        records: tally.records,
        duplicates: tally.duplicates,
        rejected: tally.rejected,
        errors: tally.errors,
        cursorFrom: tally.cursorFrom,
        cursorTo: tally.cursorTo,
        startedAt: new Date(tally.startedAt).toISOString(),
        durationMs: this.now() - tally.startedAt,
      };
      await this.finishSync(connector, sync, null);
    }
  }

  /** Flushes streamed tallies now (tests and `sync` of a stream connector read the history). */
  flushTallies(): Promise<void> {
    return this.writeTallies();
  }

  private async subscribe(c: StoredConnector, signature: string): Promise<void> {
    const source = await streamSourceFor(c, this.o.secrets(c), {
      clientId: `weir-${c.id}-${this.o.cluster ? this.nodeId : 'node'}`.slice(0, 120),
      shared: this.o.cluster ? 'weir' : null,
      log: this.o.log,
      allowPrivateNetworks: this.o.allowPrivateNetworks,
      onStatus: (status) => this.o.log.info({ connectorId: c.id, status }, 'connector stream status'),
    });
    this.streams.set(c.id, { signature, source });
    try {
      await source.start({
        // The connector as subscribed: a change of its settings or state restarts the subscription.
        append: async (records, rejected) => void (await this.ingestStreamed(c, 'stream', records, rejected)),
      });
    } catch (err) {
      // The broker could not be reached at all: the next reconcile (every 15 s) tries again.
      if (this.streams.get(c.id)?.source === source) this.streams.delete(c.id);
      this.o.log.warn({ err, connectorId: c.id }, 'subscribing failed; trying again shortly');
    }
  }

  /** Marks connectors that received nothing for their staleness window, once per cluster (the update decides). */
  async checkStaleness(): Promise<void> {
    const now = this.now();
    for (const c of await this.o.repo.all()) {
      if (c.state !== 'active') continue;
      const last = Date.parse(c.lastRecordAt ?? c.createdAt);
      const fresh = now - last < c.safety.staleAfterMinutes * 60_000;
      // Records arrived on another node since it was marked: fresh again, said once per cluster.
      if (c.stale && fresh && (await this.o.repo.markStale(c.id, false))) {
        this.markedStale.delete(c.id);
        this.o.events.alert(c.id, c.workspaceId, 'fresh', `Records arrive again for '${c.name}'`);
      }
      if (c.stale || fresh) continue;
      if (await this.o.repo.markStale(c.id, true)) {
        this.markedStale.add(c.id);
        this.o.events.alert(
          c.id,
          c.workspaceId,
          'stale',
          `No record for '${c.name}' in ${c.safety.staleAfterMinutes} minutes`,
        );
      }
    }
  }
}

function keep(into: RejectedInput[], more: RejectedInput[]): void {
  for (const r of more) {
    if (into.length >= KEPT_REJECTIONS) return;
    into.push(r);
  }
}

export function describeFailure(e: unknown): string {
  if (e instanceof SourceError) return e.message;
  if (e instanceof Error && e.name === 'TimeoutError') return 'The sync ran out of time';
  return 'The sync failed unexpectedly (the server log has the details)';
}
