import type { Db } from '../db/index.js';
import { isUniqueViolation } from '../db/index.js';
import { toIso } from '../db/values.js';
import { newId } from '../ids.js';
import type { UploadRef } from './policy.js';

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
 * The storage sweep's reads and writes: its own `storage_sweeps` record, and the rows retention decides by
 * (uploads, jobs, dataset versions). Writes to other domains' tables are conditional, so they never overwrite
 * what a concurrent request changed: an upload is expired only while still unfinished and past its expiry, a
 * version is deleted only when it is not its dataset's latest.
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

  // --- uploads ---

  /** Unfinished uploads past their expiry that no request holds right now, in id order after `afterId`. */
  async expiredUploads(now: string, afterId: string, limit: number): Promise<{ id: string; workspaceId: string }[]> {
    const rows = await this.db
      .selectFrom('uploads')
      .select(['id', 'workspace_id'])
      .where('status', '=', 'uploading')
      .where('expires_at', '<', now)
      .where((eb) => eb.or([eb('lock_until', 'is', null), eb('lock_until', '<', now)]))
      .where('id', '>', afterId)
      .orderBy('id')
      .limit(limit)
      .execute();
    return rows.map((r) => ({ id: r.id, workspaceId: r.workspace_id }));
  }

  /** Marks an upload expired only if it is still unfinished and past its expiry: a PATCH that extended it wins. */
  async markExpired(id: string, now: string): Promise<boolean> {
    const r = await this.db
      .updateTable('uploads')
      .set({
        status: 'expired',
        updated_at: now,
        finished_at: now,
        error_code: 'upload_expired',
        error_message: 'The upload was not finished before it expired',
      })
      .where('id', '=', id)
      .where('status', '=', 'uploading')
      .where('expires_at', '<', now)
      .where((eb) => eb.or([eb('lock_until', 'is', null), eb('lock_until', '<', now)]))
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** Uploads whose rows may keep bytes (policy.uploadKeepsBytes decides), paged by id. */
  async unfinishedUploads(afterId: string, limit: number): Promise<UploadRef[]> {
    const rows = await this.db
      .selectFrom('uploads')
      .select(['id', 'status', 'expires_at', 'parts_json'])
      .where('status', 'in', ['uploading', 'ingesting', 'complete'])
      .where('id', '>', afterId)
      .orderBy('id')
      .limit(limit)
      .execute();
    return rows.map((r) => ({
      id: r.id,
      status: r.status,
      expiresAt: isoOrNull(r.expires_at),
      parts: r.parts_json ? (JSON.parse(r.parts_json) as string[]) : [],
    }));
  }

  // --- jobs ---

  /** Jobs of these kinds (any status), paged by id: what their artifacts protect. */
  async jobsOfKinds(
    kinds: string[],
    afterId: string,
    limit: number,
  ): Promise<{ id: string; kind: string; payload: unknown }[]> {
    if (kinds.length === 0) return [];
    const rows = await this.db
      .selectFrom('jobs')
      .select(['id', 'kind', 'payload_json'])
      .where('kind', 'in', kinds)
      .where('id', '>', afterId)
      .orderBy('id')
      .limit(limit)
      .execute();
    return rows.map((r) => ({ id: r.id, kind: r.kind, payload: JSON.parse(r.payload_json) as unknown }));
  }

  /** Jobs of these kinds that finished in [since, until), paged by id. */
  async finishedBetween(
    kinds: string[],
    since: string | null,
    until: string,
    afterId: string,
    limit: number,
  ): Promise<{ id: string; kind: string; payload: unknown }[]> {
    if (kinds.length === 0) return [];
    let q = this.db
      .selectFrom('jobs')
      .select(['id', 'kind', 'payload_json'])
      .where('status', 'in', FINISHED)
      .where('kind', 'in', kinds)
      .where('finished_at', '<', until)
      .where('id', '>', afterId);
    if (since !== null) q = q.where('finished_at', '>=', since);
    const rows = await q.orderBy('id').limit(limit).execute();
    return rows.map((r) => ({ id: r.id, kind: r.kind, payload: JSON.parse(r.payload_json) as unknown }));
  }

  // --- dataset versions (keep-last-N) ---

  async datasetsKeepingVersions(
    afterId: string,
    limit: number,
  ): Promise<{ id: string; workspaceId: string; keep: number; latestVersionId: string | null }[]> {
    const rows = await this.db
      .selectFrom('datasets')
      .select(['id', 'workspace_id', 'keep_versions', 'latest_version_id'])
      .where('keep_versions', 'is not', null)
      .where('id', '>', afterId)
      .orderBy('id')
      .limit(limit)
      .execute();
    return rows.map((r) => ({
      id: r.id,
      workspaceId: r.workspace_id,
      keep: Number(r.keep_versions),
      latestVersionId: r.latest_version_id,
    }));
  }

  async versionsOf(datasetId: string): Promise<{ id: string; number: number; blobKey: string }[]> {
    const rows = await this.db
      .selectFrom('dataset_versions')
      .select(['id', 'number', 'blob_key'])
      .where('dataset_id', '=', datasetId)
      .execute();
    return rows.map((r) => ({ id: r.id, number: Number(r.number), blobKey: r.blob_key }));
  }

  /** Deletes these versions unless one became the dataset's latest; answers the ids deleted here. */
  async deleteVersions(datasetId: string, ids: string[]): Promise<string[]> {
    if (ids.length === 0) return [];
    const rows = await this.db
      .deleteFrom('dataset_versions')
      .where('dataset_id', '=', datasetId)
      .where('id', 'in', ids)
      .where((eb) =>
        eb.not(
          eb.exists(
            eb
              .selectFrom('datasets')
              .select('datasets.id')
              .where('datasets.id', '=', datasetId)
              .whereRef('datasets.latest_version_id', '=', 'dataset_versions.id'),
          ),
        ),
      )
      .returning('id')
      .execute();
    return rows.map((r) => r.id);
  }

  /** Which of these version ids still have rows. */
  async existingVersions(ids: string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const rows = await this.db.selectFrom('dataset_versions').select('id').where('id', 'in', ids).execute();
    return new Set(rows.map((r) => r.id));
  }
}
