import type { Db } from '../db/index.js';
import { isUniqueViolation } from '../db/index.js';
import { toIso } from '../db/values.js';
import { newId } from '../ids.js';

export type SweepStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';

export interface SweepRecord {
  id: string;
  scheduledFor: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  dryRun: boolean;
  status: SweepStatus;
  result: unknown;
  jobId: string | null;
}

const FINISHED = ['succeeded', 'failed', 'cancelled'];
const iso = (d = new Date()) => d.toISOString();
const isoOrNull = (v: Date | string | null) => (v === null ? null : toIso(v));

/** Sweep ids share the sortable id body of the rest of Weir (`swp_<ULID>`). */
const sweepId = () => `swp_${newId('run').slice(4)}`;

/**
 * The `storage_sweeps` table: the record of each sweep and its schedule. The rows retention decides by (uploads,
 * jobs, dataset versions) are read and changed through their own domains (see SweeperDeps in sweep.ts).
 */
export class StorageRepo {
  constructor(private readonly db: Db) {}

  // --- storage_sweeps ---

  /** Inserts the row of a scheduled fire time; false when another process already has (the unique constraint). */
  async claimSchedule(scheduledFor: string): Promise<string | null> {
    const id = sweepId();
    try {
      await this.db
        .insertInto('storage_sweeps')
        .values({ id, scheduled_for: scheduledFor, status: 'queued', dry_run: 0 })
        .execute();
      return id;
    } catch (e) {
      if (isUniqueViolation(e)) return null;
      throw e;
    }
  }

  async attachJob(id: string, jobId: string): Promise<void> {
    await this.db
      .updateTable('storage_sweeps')
      .set({ job_id: jobId })
      .where('id', '=', id)
      .where('job_id', 'is', null)
      .execute();
  }

  /**
   * The row an attempt records into: the one of its job (a retry), else the scheduled one of its fire time,
   * else a new row (a sweep an administrator started).
   */
  async startRun(jobId: string, scheduledFor: string | null, dryRun: boolean): Promise<string> {
    const set = { status: 'running', started_at: iso(), finished_at: null, dry_run: dryRun ? 1 : 0, job_id: jobId };
    const own = await this.db
      .updateTable('storage_sweeps')
      .set(set)
      .where('job_id', '=', jobId)
      .returning('id')
      .executeTakeFirst();
    if (own) return own.id;
    if (scheduledFor !== null) {
      const scheduled = await this.db
        .updateTable('storage_sweeps')
        .set(set)
        // The scheduler attaches the job id right after enqueueing it, perhaps just after the query above.
        .where('scheduled_for', '=', scheduledFor)
        .where((eb) => eb.or([eb('job_id', 'is', null), eb('job_id', '=', jobId)]))
        .returning('id')
        .executeTakeFirst();
      if (scheduled) return scheduled.id;
    }
    const id = sweepId();
    await this.db
      .insertInto('storage_sweeps')
      .values({ id, scheduled_for: null, ...set })
      .execute();
    return id;
  }

  async finishRun(id: string, status: Exclude<SweepStatus, 'queued' | 'running'>, result: unknown): Promise<void> {
    await this.db
      .updateTable('storage_sweeps')
      .set({ status, finished_at: iso(), result_json: JSON.stringify(result) })
      .where('id', '=', id)
      .execute();
  }

  async failSchedule(id: string, message: string): Promise<void> {
    await this.db
      .updateTable('storage_sweeps')
      .set({ status: 'failed', finished_at: iso(), result_json: JSON.stringify({ error: message }) })
      .where('id', '=', id)
      .execute();
  }

  /** The most recent sweep (ids sort by creation: a scheduled row is created at its fire time, another when it starts). */
  async last(): Promise<SweepRecord | null> {
    const row = await this.db
      .selectFrom('storage_sweeps')
      .selectAll()
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirst();
    if (!row) return null;
    return {
      id: row.id,
      scheduledFor: isoOrNull(row.scheduled_for),
      startedAt: isoOrNull(row.started_at),
      finishedAt: isoOrNull(row.finished_at),
      dryRun: Number(row.dry_run) === 1,
      status: row.status as SweepStatus,
      result: row.result_json === null ? null : (JSON.parse(row.result_json) as unknown),
      jobId: row.job_id,
    };
  }

  /**
   * Where the previous successful real sweep stopped handling finished jobs' artifacts: the latest `until` among
   * recent successful sweeps (two that overlapped may finish in either order).
   */
  async artifactWatermark(): Promise<{ until: string; sweepId: string } | null> {
    const rows = await this.db
      .selectFrom('storage_sweeps')
      .select(['id', 'result_json'])
      .where('status', '=', 'succeeded')
      .where('dry_run', '=', 0)
      .orderBy('finished_at', 'desc')
      .limit(10)
      .execute();
    let best: { until: string; sweepId: string } | null = null;
    for (const r of rows) {
      const until = r.result_json
        ? (JSON.parse(r.result_json) as { jobArtifacts?: { until?: unknown } }).jobArtifacts?.until
        : undefined;
      if (typeof until === 'string' && (best === null || until > best.until)) best = { until, sweepId: r.id };
    }
    return best;
  }

  /** Forgets sweeps that ended (or never started) before `before`, except `keepId` (the watermark's). */
  async pruneRecords(before: string, keepId: string | null): Promise<number> {
    let q = this.db
      .deleteFrom('storage_sweeps')
      .where((eb) =>
        eb.or([
          eb.and([eb('status', 'in', FINISHED), eb('finished_at', '<', before)]),
          eb.and([eb('started_at', 'is', null), eb('scheduled_for', '<', before)]),
        ]),
      );
    if (keepId !== null) q = q.where('id', '!=', keepId);
    const r = await q.executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}
