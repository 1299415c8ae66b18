import type { Db, Dialect } from '../db/index.js';
import { CANCELLED } from './repo.js';
import { endedProgress, errorColumns, toJob, type JobRow } from './rows.js';
import type { Job, JobError } from './types.js';

/**
 * Identifies one attempt of one job. Every write a worker makes is fenced by it: the row must still be
 * `running`, held by this worker, at this attempt number. A worker whose lease expired (or whose BullMQ lock
 * was lost) and whose job was started again elsewhere can therefore never overwrite the newer attempt — this
 * is what makes "completes exactly once" hold under at-least-once delivery.
 */
export interface Fence {
  id: string;
  workerId: string;
  attempt: number;
}

/** `progress`: the progress message the job is left with (default: one made from the error, see endedProgress). */
export type Completion =
  | { status: 'succeeded'; result: unknown }
  | { status: 'failed'; error: JobError; progress?: string }
  | { status: 'cancelled' }
  /** Another attempt later: back to `queued`, not before `runAfter`; the error of this attempt is kept. */
  | { status: 'retry'; error: JobError; runAfter: string; progress?: string }
  /** Shutdown: back to `queued` at once, and the attempt does not count. */
  | { status: 'requeued' };

const REQUEUED_AFTER_LOSS: JobError = {
  code: 'worker_lost',
  message: 'The worker running the job stopped (lease expired); the job was queued again',
};
export const WORKER_LOST: JobError = {
  code: 'worker_lost',
  message:
    'The worker running the job stopped (lease expired) and the job has no attempts left; it runs again only when retried',
};

/** The transitions workers make on `jobs`: claim or start, heartbeat, progress, and the end of an attempt. */
export class AttemptStore {
  constructor(
    private readonly db: Db,
    private readonly dialect: Dialect,
  ) {}

  /** Embedded driver: moves up to `limit` runnable jobs of a kind to `running` for this worker, best first. */
  async claim(kind: string, workerId: string, limit: number, now: string, leaseUntil: string): Promise<Job[]> {
    let next = this.db
      .selectFrom('jobs')
      .select('id')
      .where('status', '=', 'queued')
      .where('kind', '=', kind)
      .where('run_after', '<=', now)
      .orderBy('priority', 'desc')
      .orderBy('id')
      .limit(limit);
    // Workers on PostgreSQL claim side by side: each skips the rows another is claiming instead of waiting.
    if (this.dialect === 'postgres') next = next.forUpdate().skipLocked();
    // A materialized CTE runs the pick once: PostgreSQL may otherwise re-run a LIMIT subquery of the IN list
    // and (with SKIP LOCKED) claim more rows than asked for.
    const rows = await this.db
      .with(
        (w) => w('next').materialized(),
        () => next,
      )
      .updateTable('jobs')
      .set((eb) => ({
        status: 'running',
        attempts: eb('attempts', '+', 1),
        worker_id: workerId,
        lease_until: leaseUntil,
        started_at: now,
        updated_at: now,
        progress: 0,
        progress_message: null,
        progress_data_json: null,
      }))
      .where('id', 'in', (eb) => eb.selectFrom('next').select('next.id'))
      .where('status', '=', 'queued')
      .returningAll()
      .execute();
    return rows.map(toJob).sort((a, b) => b.priority - a.priority || (a.id < b.id ? -1 : 1));
  }

  /**
   * BullMQ driver: Redis delivered job `id`; start an attempt on the row. A row still `running` means the
   * previous holder stalled (BullMQ moved the job back after its lock ran out). Answers the started job, or
   * null when there is nothing to run (finished, cancelled, unknown), having settled what the row needed.
   */
  async startDelivered(
    id: string,
    workerId: string,
    now: string,
    leaseUntil: string,
  ): Promise<{ started: Job | null; settled: Job | null }> {
    const row = await this.db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row || (row.status !== 'queued' && row.status !== 'running')) return { started: null, settled: null };
    const current = this.db
      .updateTable('jobs')
      .where('id', '=', id)
      .where('status', '=', row.status)
      .where('attempts', '=', row.attempts);
    if (row.status === 'running' && (Number(row.cancel_requested) === 1 || row.attempts >= row.max_attempts)) {
      const ending =
        Number(row.cancel_requested) === 1
          ? { status: 'cancelled', ...errorColumns(CANCELLED), ...endedProgress('cancelled', CANCELLED) }
          : { status: 'failed', ...errorColumns(WORKER_LOST), ...endedProgress('failed', WORKER_LOST) };
      const settled = await current
        .set({ ...ending, worker_id: null, lease_until: null, finished_at: now, updated_at: now })
        .returningAll()
        .executeTakeFirst();
      return { started: null, settled: settled ? toJob(settled) : null };
    }
    const started = await current
      .set((eb) => ({
        status: 'running',
        attempts: eb('attempts', '+', 1),
        worker_id: workerId,
        lease_until: leaseUntil,
        started_at: now,
        updated_at: now,
        progress: 0,
        progress_message: null,
        progress_data_json: null,
      }))
      .returningAll()
      .executeTakeFirst();
    return { started: started ? toJob(started) : null, settled: null };
  }

  private fenced(f: Fence) {
    return this.db
      .updateTable('jobs')
      .where('id', '=', f.id)
      .where('status', '=', 'running')
      .where('worker_id', '=', f.workerId)
      .where('attempts', '=', f.attempt);
  }

  /** Renews the lease; `owned: false` means the attempt lost the job (reclaimed, finished or cancelled by someone else). */
  async heartbeat(f: Fence, now: string, leaseUntil: string): Promise<{ owned: boolean; cancelRequested: boolean }> {
    const row = await this.fenced(f)
      .set({ lease_until: leaseUntil, updated_at: now })
      .returning('cancel_requested')
      .executeTakeFirst();
    return { owned: row !== undefined, cancelRequested: Number(row?.cancel_requested) === 1 };
  }

  async progress(f: Fence, percent: number, message: string | null, data: unknown, now: string): Promise<boolean> {
    const r = await this.fenced(f)
      .set({
        progress: percent,
        progress_message: message,
        progress_data_json: data === undefined ? null : JSON.stringify(data),
        updated_at: now,
      })
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  /**
   * Ends the attempt; null when the attempt no longer owned the job (nothing was written). A cancel asked for
   * while the attempt ran wins over every ending but success: the job ends `cancelled` instead of failing or
   * being queued again (the runtime may not have heard of the cancel yet, e.g. its event still on its way).
   */
  async complete(f: Fence, c: Completion, now: string): Promise<Job | null> {
    const released = { worker_id: null, lease_until: null, updated_at: now };
    // Only a row nobody asked to cancel may fail or go back to the queue.
    const uncancelled = () => this.fenced(f).where('cancel_requested', '=', 0);
    let update;
    switch (c.status) {
      case 'succeeded':
        update = this.fenced(f).set({
          ...released,
          status: 'succeeded',
          progress: 100,
          result_json: JSON.stringify(c.result ?? null),
          ...errorColumns(null),
          finished_at: now,
        });
        break;
      case 'failed':
        update = uncancelled().set({
          ...released,
          status: 'failed',
          ...errorColumns(c.error),
          ...endedProgress('failed', c.error, c.progress),
          finished_at: now,
        });
        break;
      case 'cancelled':
        update = this.fenced(f).set({
          ...released,
          status: 'cancelled',
          ...errorColumns(CANCELLED),
          ...endedProgress('cancelled', CANCELLED),
          finished_at: now,
        });
        break;
      case 'retry':
        update = uncancelled().set({
          ...released,
          status: 'queued',
          ...errorColumns(c.error),
          ...endedProgress('queued', c.error, c.progress),
          run_after: c.runAfter,
        });
        break;
      case 'requeued':
        update = uncancelled().set((eb) => ({
          ...released,
          status: 'queued',
          attempts: eb('attempts', '-', 1),
          run_after: now,
        }));
        break;
    }
    let row: JobRow | undefined = await update.returningAll().executeTakeFirst();
    // Not written: the attempt lost the job, or a cancel was asked. The flag only ever goes from 0 to 1 while
    // the row is running, so this second, fenced write settles which.
    if (!row && c.status !== 'succeeded' && c.status !== 'cancelled') {
      row = await this.fenced(f)
        .where('cancel_requested', '=', 1)
        .set({
          ...released,
          status: 'cancelled',
          ...errorColumns(CANCELLED),
          ...endedProgress('cancelled', CANCELLED),
          finished_at: now,
        })
        .returningAll()
        .executeTakeFirst();
    }
    return row ? toJob(row) : null;
  }

  /**
   * Embedded driver: running jobs whose lease ran out belong to a worker that died. They are queued again at
   * once, or end `cancelled` (cancel was asked) or `failed` / worker_lost (no attempts left).
   */
  async reclaimExpired(now: string): Promise<Job[]> {
    const expired = () => this.db.updateTable('jobs').where('status', '=', 'running').where('lease_until', '<', now);
    const released = { worker_id: null, lease_until: null, error_details_json: null, updated_at: now };
    const [cancelled, failed, queued] = await Promise.all([
      expired()
        .where('cancel_requested', '=', 1)
        .set({
          ...released,
          status: 'cancelled',
          ...errorColumns(CANCELLED),
          ...endedProgress('cancelled', CANCELLED),
          finished_at: now,
        })
        .returningAll()
        .execute(),
      expired()
        .where('cancel_requested', '=', 0)
        .where((eb) => eb('attempts', '>=', eb.ref('max_attempts')))
        .set({
          ...released,
          status: 'failed',
          ...errorColumns(WORKER_LOST),
          ...endedProgress('failed', WORKER_LOST),
          finished_at: now,
        })
        .returningAll()
        .execute(),
      expired()
        .where('cancel_requested', '=', 0)
        .where((eb) => eb('attempts', '<', eb.ref('max_attempts')))
        .set({
          ...released,
          status: 'queued',
          ...errorColumns(REQUEUED_AFTER_LOSS),
          ...endedProgress('queued', REQUEUED_AFTER_LOSS),
          run_after: now,
        })
        .returningAll()
        .execute(),
    ]);
    return [...cancelled, ...failed, ...queued].map(toJob);
  }

  /**
   * The supervisor saw worker `workerId` die (killed, crashed): its running jobs are settled at once instead of
   * when their leases run out. Each ends `cancelled` (a cancel was asked), `failed` with `lost.final` (no
   * attempts left: quarantined, it runs again only when a client retries it) or is queued again not before
   * `retryAt` with `lost.retrying` recorded, so that a job that keeps killing its worker says so while it waits.
   */
  async releaseWorker(
    workerId: string,
    lost: { retrying: JobError; final: JobError },
    now: string,
    retryAt: string,
  ): Promise<Job[]> {
    const held = () => this.db.updateTable('jobs').where('status', '=', 'running').where('worker_id', '=', workerId);
    const released = { worker_id: null, lease_until: null, error_details_json: null, updated_at: now };
    const [cancelled, failed, queued] = await Promise.all([
      held()
        .where('cancel_requested', '=', 1)
        .set({
          ...released,
          status: 'cancelled',
          ...errorColumns(CANCELLED),
          ...endedProgress('cancelled', CANCELLED),
          finished_at: now,
        })
        .returningAll()
        .execute(),
      held()
        .where('cancel_requested', '=', 0)
        .where((eb) => eb('attempts', '>=', eb.ref('max_attempts')))
        .set({
          ...released,
          status: 'failed',
          ...errorColumns(lost.final),
          ...endedProgress('failed', lost.final),
          finished_at: now,
        })
        .returningAll()
        .execute(),
      held()
        .where('cancel_requested', '=', 0)
        .where((eb) => eb('attempts', '<', eb.ref('max_attempts')))
        .set({
          ...released,
          status: 'queued',
          ...errorColumns(lost.retrying),
          ...endedProgress('queued', lost.retrying),
          run_after: retryAt,
        })
        .returningAll()
        .execute(),
    ]);
    return [...cancelled, ...failed, ...queued].map(toJob);
  }
}
