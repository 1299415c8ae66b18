import type { Insertable } from 'kysely';
import type { Db } from '../db/index.js';
import type { JobsTable } from '../db/types.js';
import { endedProgress, errorColumns, FINISHED, toJob } from './rows.js';
import type { Job, JobStatus } from './types.js';

export type NewJobRow = Insertable<JobsTable>;

export interface JobQuery {
  workspaceId: string;
  status?: JobStatus[];
  kind?: string;
  parentId?: string;
  createdAfter?: string;
  createdBefore?: string;
  limit: number;
  offset: number;
}

/** Rows per INSERT: well under SQLite's 32,766 bound parameters at 26 columns a row. */
const INSERT_CHUNK = 500;

/**
 * The `jobs` table as the record of every job: creating, reading, listing, and the transitions a client asks
 * for (cancel, retry). The transitions workers make live in attempts.ts. Every write that depends on a job's
 * state says so in its WHERE clause, so two writers racing on a job cannot both win.
 */
export class JobRepo {
  constructor(private readonly db: Db) {}

  async insert(rows: NewJobRow[]): Promise<Job[]> {
    if (rows.length === 0) return [];
    if (rows.length <= INSERT_CHUNK)
      return (await this.db.insertInto('jobs').values(rows).returningAll().execute()).map(toJob);
    return this.db.transaction().execute(async (trx) => {
      const out: Job[] = [];
      for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
        const inserted = await trx
          .insertInto('jobs')
          .values(rows.slice(i, i + INSERT_CHUNK))
          .returningAll()
          .execute();
        for (const r of inserted) out.push(toJob(r));
      }
      return out;
    });
  }

  async get(id: string): Promise<Job | null> {
    const row = await this.db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toJob(row) : null;
  }

  async getInWorkspace(workspaceId: string, id: string): Promise<Job | null> {
    const row = await this.db
      .selectFrom('jobs')
      .selectAll()
      .where('id', '=', id)
      .where('workspace_id', '=', workspaceId)
      .executeTakeFirst();
    return row ? toJob(row) : null;
  }

  /** The workspace a job belongs to, by its id alone; null when there is no such job. */
  async workspaceOf(id: string): Promise<string | null> {
    const row = await this.db.selectFrom('jobs').select('workspace_id').where('id', '=', id).executeTakeFirst();
    return row?.workspace_id ?? null;
  }

  async list(q: JobQuery): Promise<{ items: Job[]; total: number }> {
    let base = this.db.selectFrom('jobs').where('workspace_id', '=', q.workspaceId);
    if (q.status && q.status.length > 0) base = base.where('status', 'in', q.status);
    if (q.kind) base = base.where('kind', '=', q.kind);
    if (q.parentId) base = base.where('parent_id', '=', q.parentId);
    if (q.createdAfter) base = base.where('created_at', '>=', q.createdAfter);
    if (q.createdBefore) base = base.where('created_at', '<', q.createdBefore);
    const [rows, count] = await Promise.all([
      base.selectAll().orderBy('created_at', 'desc').orderBy('id', 'desc').limit(q.limit).offset(q.offset).execute(),
      base.select((eb) => eb.fn.countAll<number | string>().as('n')).executeTakeFirstOrThrow(),
    ]);
    return { items: rows.map(toJob), total: Number(count.n) };
  }

  /** A queued job is cancelled at once; null when it was not queued (any more). */
  async cancelQueued(id: string, now: string): Promise<Job | null> {
    const row = await this.db
      .updateTable('jobs')
      .set({
        status: 'cancelled',
        cancel_requested: 1,
        finished_at: now,
        updated_at: now,
        ...errorColumns(CANCELLED),
        ...endedProgress('cancelled', CANCELLED),
      })
      .where('id', '=', id)
      .where('status', '=', 'queued')
      .returningAll()
      .executeTakeFirst();
    return row ? toJob(row) : null;
  }

  /** A running job is flagged; its worker aborts the attempt and records `cancelled`. Null when it was not running. */
  async requestCancel(id: string, now: string): Promise<Job | null> {
    const row = await this.db
      .updateTable('jobs')
      .set({ cancel_requested: 1, updated_at: now })
      .where('id', '=', id)
      .where('status', '=', 'running')
      .returningAll()
      .executeTakeFirst();
    return row ? toJob(row) : null;
  }

  /** A failed or cancelled job queued again from scratch (attempts, progress, result and error reset). */
  async retry(id: string, now: string): Promise<Job | null> {
    const row = await this.db
      .updateTable('jobs')
      .set({
        status: 'queued',
        attempts: 0,
        cancel_requested: 0,
        progress: 0,
        progress_message: null,
        progress_data_json: null,
        result_json: null,
        ...errorColumns(null),
        worker_id: null,
        lease_until: null,
        run_after: now,
        started_at: null,
        finished_at: null,
        updated_at: now,
      })
      .where('id', '=', id)
      .where('status', 'in', ['failed', 'cancelled'])
      .returningAll()
      .executeTakeFirst();
    return row ? toJob(row) : null;
  }

  /** Queued or running jobs of a kind (the sweep schedules itself only when none is pending). */
  async pendingCount(kind: string): Promise<number> {
    const r = await this.db
      .selectFrom('jobs')
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .where('kind', '=', kind)
      .where('status', 'in', ['queued', 'running'])
      .executeTakeFirstOrThrow();
    return Number(r.n);
  }

  /** Queued jobs not touched since `before`: the BullMQ driver announces them again in case Redis never got them. */
  async queuedSince(before: string, limit: number): Promise<Job[]> {
    const rows = await this.db
      .selectFrom('jobs')
      .selectAll()
      .where('status', '=', 'queued')
      .where('updated_at', '<', before)
      .orderBy('id')
      .limit(limit)
      .execute();
    return rows.map(toJob);
  }

  /** Up to `limit` jobs that finished before `cutoff`, oldest first (the retention sweep's next batch). */
  async finishedBefore(cutoff: string, limit: number): Promise<{ id: string; kind: string; payload: unknown }[]> {
    const rows = await this.db
      .selectFrom('jobs')
      .select(['id', 'kind', 'payload_json'])
      .where('status', 'in', FINISHED)
      .where('finished_at', '<', cutoff)
      .orderBy('finished_at')
      .limit(limit)
      .execute();
    return rows.map((v) => ({ id: v.id, kind: v.kind, payload: JSON.parse(v.payload_json) as unknown }));
  }

  /** Jobs of these kinds (any status), paged by id: what the storage sweep keeps their artifacts for. */
  async ofKinds(
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

  /** Jobs of these kinds that finished in [since, until), paged by id (the storage sweep's artifact window). */
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

  /** Deletes these jobs if they are still finished (a retried one is not); answers how many went. */
  async deleteFinished(ids: string[]): Promise<number> {
    if (ids.length === 0) return 0;
    const r = await this.db
      .deleteFrom('jobs')
      .where('id', 'in', ids)
      .where('status', 'in', FINISHED)
      .executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}

export const CANCELLED = { code: 'cancelled', message: 'The job was cancelled' };
