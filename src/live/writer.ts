import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { hostname } from 'node:os';
import type { BlobStore } from '../blobs/types.js';
import type { Scratch } from '../blobs/scratch.js';
import type { Engine } from '../engine/duckdb.js';
import { parquetSchema, profileParquet } from '../engine/profile.js';
import { ident, literal } from '../engine/sql.js';
import { newId } from '../ids.js';
import type { Log } from '../logger.js';
import type { FieldSpec, FieldType } from '../connectors/sources/types.js';
import type { DatasetService } from '../datasets/service.js';
import { LiveRepo, type Segment, type TypedRecord } from './repo.js';

/** When a live dataset's records become a segment, and its segments a version. */
export interface LivePolicy {
  /** Flush when this many records wait… */
  flushRows: number;
  /** …or when the oldest has waited this long (ms). */
  flushMs: number;
  /** Compact when the segments hold this many rows, */
  compactRows: number;
  /** or the oldest segment is this old (ms), */
  compactMs: number;
  /** or there are this many segments. */
  maxSegments: number;
  /** How long a source key is remembered for deduplication (ms). */
  dedupeWindowMs: number;
}

export const DEFAULT_LIVE_POLICY: LivePolicy = {
  flushRows: 10_000,
  flushMs: 5_000,
  compactRows: 1_000_000,
  compactMs: 3_600_000,
  maxSegments: 200,
  dedupeWindowMs: 7 * 86_400_000,
};

/** A live dataset as the writer needs it: whose it is, its columns and its policy. */
export interface LiveTarget {
  connectorId: string;
  connectorName: string;
  datasetId: string;
  workspaceId: string;
  fields: FieldSpec[];
  policy: LivePolicy;
}

/** What readers add to a live dataset's latest version: the segments flushed since it was compacted. */
export interface LiveHead {
  segments: { blobKey: string; rows: number }[];
  rows: number;
  /** The last sequence number in the head: part of any cache key of an answer computed over it. */
  lastSeq: number;
}

const DUCK_TYPES: Record<FieldType, string> = {
  double: 'DOUBLE',
  bigint: 'BIGINT',
  boolean: 'BOOLEAN',
  varchar: 'VARCHAR',
  timestamp: 'TIMESTAMP',
};

export const duckType = (t: FieldType): string => DUCK_TYPES[t];

/**
 * How long the writer lease lasts unless renewed: a process that died holding it (kill -9 mid-flush or
 * mid-compaction) blocks the others this long at most. It is renewed every third of it while work goes on.
 */
const LEASE_MS = 15_000;
/** How often this process looks for records any process (a dead one too) left waiting past their flush time. */
const SWEEP_EVERY_MS = 2_000;
/** Retired segment files linger this long, so a query that listed them a moment ago can still read them. */
const RETIRED_SEGMENT_GRACE_MS = 60_000;
/** How often this process deletes the files of segments retired past the grace period. */
const RETIRED_SWEEP_EVERY_MS = 30_000;

/**
 * The one writer of live datasets in this process: appends records durably (the append log), flushes them into
 * Parquet segments on the policy (N records or T seconds) and compacts segments into immutable versions. Work on
 * one live dataset is serialized here and, across processes, by a lease row, so segments never overlap.
 */
export class LiveWriter {
  private readonly owner = `${hostname()}:${process.pid}:${newId('seg').slice(4, 12)}`;
  /** Per connector: records appended here that wait for a flush, and since when. */
  private readonly dirty = new Map<string, { rows: number; since: number; target: LiveTarget }>();
  /** Per connector: the tail of its chain of flushes and compactions. */
  private readonly chains = new Map<string, Promise<unknown>>();
  private timer: NodeJS.Timeout | null = null;
  private lastSweep = 0;
  private lastRetiredSweep = 0;
  private closed = false;
  /** Flushed records per connector since start (metrics and the benchmark read it). */
  readonly flushed = new Map<string, number>();
  private listeners: ((target: LiveTarget, segment: Segment) => void)[] = [];

  constructor(
    private readonly o: {
      repo: LiveRepo;
      blobs: BlobStore;
      scratch: Scratch;
      engine: Engine;
      datasets: DatasetService;
      log: Log;
      /** The live dataset of a connector, for records left waiting by another (possibly dead) process. */
      target: (connectorId: string) => Promise<LiveTarget | null>;
      now?: () => number;
    },
  ) {}

  private now(): number {
    return this.o.now ? this.o.now() : Date.now();
  }

  /** Hears every stored segment (the connector's topic announces new data with it). */
  onFlush(listener: (target: LiveTarget, segment: Segment) => void): void {
    this.listeners.push(listener);
  }

  /** Starts the flush loop: call in processes that receive records or should rescue records of dead ones. */
  start(tickMs = 200): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.tick(), tickMs);
    this.timer.unref();
  }

  /** Stops the loop and flushes what this process appended, so a clean stop leaves nothing waiting. */
  async stop(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    const targets = [...this.dirty.values()].map((d) => d.target);
    await Promise.allSettled(targets.map((t) => this.flush(t)));
    await Promise.allSettled([...this.chains.values()]);
  }

  /**
   * Stores records durably: once this resolves they survive a kill -9, and records whose source key was already
   * stored are dropped. Answers how many were new.
   */
  async append(
    target: LiveTarget,
    records: TypedRecord[],
  ): Promise<{ stored: number; duplicates: number; kept: TypedRecord[] }> {
    const now = this.now();
    const { stored: kept } = await this.o.repo.append(target.connectorId, records, new Date(now).toISOString());
    const stored = kept.length;
    if (stored > 0) {
      const d = this.dirty.get(target.connectorId);
      if (d) {
        d.rows += stored;
        d.target = target;
      } else this.dirty.set(target.connectorId, { rows: stored, since: now, target });
      if ((d?.rows ?? stored) >= target.policy.flushRows) this.flushInBackground(target);
    }
    return { stored, duplicates: records.length - stored, kept };
  }

  private async tick(): Promise<void> {
    if (this.closed) return;
    const now = this.now();
    for (const [id, d] of this.dirty) {
      if (now - d.since >= d.target.policy.flushMs || d.rows >= d.target.policy.flushRows) {
        this.flushInBackground(d.target);
        if (this.dirty.get(id) === d) this.dirty.delete(id);
      }
    }
    if (now - this.lastSweep < SWEEP_EVERY_MS) return;
    this.lastSweep = now;
    try {
      // Records another process appended and did not flush (it died, or was stopped hard): flushed here.
      const waiting = await this.o.repo.waiting(new Date(now - 2 * SWEEP_EVERY_MS).toISOString());
      for (const id of waiting) {
        if (this.dirty.has(id) || this.chains.has(id)) continue;
        const target = await this.o.target(id);
        if (target) this.flushInBackground(target);
      }
    } catch (err) {
      this.o.log.warn({ err }, 'looking for live records waiting to be flushed failed');
    }
    if (now - this.lastRetiredSweep >= RETIRED_SWEEP_EVERY_MS) {
      this.lastRetiredSweep = now;
      await this.deleteRetired(now).catch((err: unknown) =>
        this.o.log.warn({ err }, 'deleting retired live segment files failed'),
      );
    }
  }

  /**
   * Deletes the files of segments compacted more than the grace period ago, then their rows: whichever process
   * sweeps first does it, so a compaction's process dying within the grace period leaks no file. A file deleted
   * twice (two processes at once) is no error.
   */
  private async deleteRetired(now: number): Promise<void> {
    const retired = await this.o.repo.retiredBefore(iso(now - RETIRED_SEGMENT_GRACE_MS));
    if (retired.length === 0) return;
    const results = await Promise.allSettled(retired.map((s) => this.o.blobs.delete(s.blobKey)));
    const deleted = retired.filter((_, i) => results[i]?.status === 'fulfilled');
    await this.o.repo.dropRetired(deleted.map((s) => s.id));
    if (deleted.length < retired.length)
      this.o.log.warn({ failed: retired.length - deleted.length }, 'some retired live segment files were not deleted');
  }

  /** A flush nobody waits for: its failure is logged (the records stay in the append log for the next one). */
  private flushInBackground(target: LiveTarget): void {
    this.flush(target).catch((err: unknown) =>
      this.o.log.warn(
        { err, connectorId: target.connectorId, datasetId: target.datasetId },
        'flushing a live dataset failed',
      ),
    );
  }

  /** Runs `work` after everything this process already does for the connector. */
  private serial<T>(connectorId: string, work: () => Promise<T>): Promise<T> {
    const prev = this.chains.get(connectorId) ?? Promise.resolve();
    const next = prev.then(work, work);
    const tail = next.catch(() => {});
    this.chains.set(connectorId, tail);
    void tail.then(() => {
      if (this.chains.get(connectorId) === tail) this.chains.delete(connectorId);
    });
    return next;
  }

  /**
   * Flushes every waiting record of the connector into segments (at most `flushRows` a segment), then compacts if
   * the policy says so. Answers how many records were flushed; 0 when another process holds the lease.
   */
  flush(target: LiveTarget): Promise<number> {
    return this.serial(target.connectorId, async () => {
      this.dirty.delete(target.connectorId);
      return (await this.withLease(target.connectorId, () => this.flushHeld(target))) ?? 0;
    });
  }

  /**
   * Runs `work` holding the connector's writer lease, renewed while it runs and released after; null when another
   * process holds it (that process does the work).
   */
  private async withLease<T>(connectorId: string, work: () => Promise<T>): Promise<T | null> {
    const take = () => {
      const now = this.now();
      return this.o.repo.lease(connectorId, this.owner, iso(now), iso(now + LEASE_MS));
    };
    if (!(await take())) return null;
    const renew = setInterval(() => void take().catch(() => {}), LEASE_MS / 3);
    renew.unref();
    try {
      return await work();
    } finally {
      clearInterval(renew);
      await this.o.repo.releaseLease(connectorId, this.owner).catch(() => {});
    }
  }

  private async flushHeld(target: LiveTarget): Promise<number> {
    let total = 0;
    for (;;) {
      const batch = await this.o.repo.pending(target.connectorId, Math.max(1, target.policy.flushRows));
      if (batch.length === 0) break;
      const segment = await this.writeSegment(target, batch);
      total += batch.length;
      this.flushed.set(target.connectorId, (this.flushed.get(target.connectorId) ?? 0) + batch.length);
      for (const l of this.listeners) l(target, segment);
      if (batch.length < target.policy.flushRows) break;
    }
    await this.compactIfDue(target);
    return total;
  }

  private async writeSegment(
    target: LiveTarget,
    batch: { seq: number; cursor: string | null; rowJson: string }[],
  ): Promise<Segment> {
    const firstSeq = batch[0]!.seq;
    const lastSeq = batch.at(-1)!.seq;
    // The key is made from the records' range: a flush that crashed before its commit is redone under the same key.
    const blobKey = `datasets/${target.workspaceId}/${target.datasetId}/live/seg-${firstSeq}-${lastSeq}.parquet`;
    const ndjson = this.o.scratch.file('.ndjson');
    const parquet = this.o.scratch.file('.parquet');
    try {
      const out = createWriteStream(ndjson);
      for (const r of batch) if (!out.write(`${r.rowJson}\n`)) await once(out, 'drain');
      out.end();
      await once(out, 'finish');
      await this.o.engine.run(
        `COPY (${typedSelect(target.fields, ndjson)}) TO ${literal(parquet)} (FORMAT parquet, COMPRESSION zstd)`,
      );
      const stored = await this.o.blobs.putFile(blobKey, parquet);
      const segment: Segment = {
        id: newId('seg'),
        connectorId: target.connectorId,
        datasetId: target.datasetId,
        workspaceId: target.workspaceId,
        firstSeq,
        lastSeq,
        rows: batch.length,
        bytes: stored.bytes,
        blobKey,
        cursorFrom: batch.find((r) => r.cursor !== null)?.cursor ?? null,
        cursorTo: batch.findLast((r) => r.cursor !== null)?.cursor ?? null,
        createdAt: iso(this.now()),
      };
      await this.o.repo.storeSegment(
        segment,
        batch.map((r) => r.seq),
      );
      return segment;
    } finally {
      await this.o.scratch.remove(ndjson, parquet);
    }
  }

  private async compactIfDue(target: LiveTarget): Promise<void> {
    const segments = await this.o.repo.segments(target.datasetId);
    if (segments.length === 0) return;
    const rows = segments.reduce((n, s) => n + s.rows, 0);
    const age = this.now() - Date.parse(segments[0]!.createdAt);
    const p = target.policy;
    if (rows >= p.compactRows || age >= p.compactMs || segments.length >= p.maxSegments)
      await this.compactNow(target, rows >= p.compactRows ? 'rows' : age >= p.compactMs ? 'age' : 'segments');
  }

  /**
   * Flushes what waits and folds every segment into a new version, so the dataset's latest version holds every
   * record stored before the call: what pipelines and trainings read, since they need an immutable version.
   */
  async settle(target: LiveTarget): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const done = await this.serial(target.connectorId, () =>
        this.withLease(target.connectorId, async () => {
          await this.flushHeld(target);
          await this.compactNow(target, 'requested');
          return true;
        }),
      );
      if (done) return;
      // Another process is flushing or compacting this dataset: its work ends within a lease.
      if (attempt * 250 > 2 * LEASE_MS) throw new Error(`live dataset ${target.datasetId} is held by another writer`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  /** Folds every segment into a new version; the caller holds the lease. */
  private async compactNow(target: LiveTarget, reason: string): Promise<void> {
    const segments = await this.o.repo.segments(target.datasetId);
    if (segments.length === 0) return;
    const started = this.now();
    const dataset = await this.o.datasets.requireStored(target.workspaceId, target.datasetId);
    const files = [dataset.latest.blobKey, ...segments.map((s) => s.blobKey)];
    const local = await Promise.all(files.map((k) => this.o.blobs.localFile(k)));
    const parquet = this.o.scratch.file('.parquet');
    try {
      await this.o.engine.run(
        `COPY (SELECT * FROM read_parquet([${local.map((f) => literal(f.path)).join(', ')}], union_by_name = true)) TO ${literal(parquet)} (FORMAT parquet, COMPRESSION zstd)`,
      );
      const schema = await parquetSchema(this.o.engine, parquet);
      const profile = await profileParquet(this.o.engine, parquet, schema);
      const added = segments.reduce((n, s) => n + s.rows, 0);
      const versionId = newId('dv');
      await this.o.datasets.storeLive({
        workspaceId: target.workspaceId,
        datasetId: target.datasetId,
        versionId,
        parquetPath: parquet,
        sourceFilename: `connector:${target.connectorName}`,
        schema,
        rowCount: profile.rowCount,
        profile,
        alsoInTransaction: (trx) =>
          this.o.repo.retireSegments(
            trx,
            { versionId, datasetId: target.datasetId, connectorId: target.connectorId, segments, rows: added },
            iso(this.now()),
          ),
      });
      await this.o.repo.pruneKeys(target.connectorId, iso(this.now() - target.policy.dedupeWindowMs));
      this.o.log.info(
        {
          connectorId: target.connectorId,
          datasetId: target.datasetId,
          versionId,
          segments: segments.length,
          rows: added,
          reason,
          ms: this.now() - started,
        },
        'live dataset compacted',
      );
    } finally {
      await Promise.all(local.map((f) => f.release()));
      await this.o.scratch.remove(parquet);
    }
  }

  /** The segments a query of the dataset's latest version reads with it; null when there are none. */
  async head(datasetId: string): Promise<LiveHead | null> {
    const segments = await this.o.repo.segments(datasetId);
    if (segments.length === 0) return null;
    return {
      segments: segments.map((s) => ({ blobKey: s.blobKey, rows: s.rows })),
      rows: segments.reduce((n, s) => n + s.rows, 0),
      lastSeq: segments.at(-1)!.lastSeq,
    };
  }

  /** An empty Parquet file with the live dataset's columns: its first version. */
  async emptyFile(fields: FieldSpec[]): Promise<string> {
    const parquet = this.o.scratch.file('.parquet');
    const cols = fields.map((f) => `CAST(NULL AS ${duckType(f.type)}) AS ${ident(f.name)}`).join(', ');
    await this.o.engine.run(`COPY (SELECT ${cols} LIMIT 0) TO ${literal(parquet)} (FORMAT parquet)`);
    return parquet;
  }
}

/** The SELECT that reads flushed NDJSON rows typed as the live dataset's columns (missing keys are NULL). */
export function typedSelect(fields: FieldSpec[], ndjsonPath: string): string {
  const columns = fields.map((f) => `${literal(f.name)}: ${literal(duckType(f.type))}`).join(', ');
  const names = fields.map((f) => ident(f.name)).join(', ');
  return `SELECT ${names} FROM read_json(${literal(ndjsonPath)}, format = 'newline_delimited', columns = {${columns}})`;
}

const iso = (ms: number): string => new Date(ms).toISOString();
