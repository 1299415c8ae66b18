import { Type } from 'typebox';
import type { BlobStore } from '../blobs/types.js';
import { isoAfter, systemClock, type Clock } from '../clock.js';
import type { JobRegistry } from './registry.js';
import type { JobRepo } from './repo.js';
import type { JobDefinition } from './types.js';

export const SWEEP_KIND = 'jobs.sweep';
/** Jobs the system schedules for itself live in this workspace, which no user belongs to. */
export const SYSTEM_WORKSPACE_ID = 'ws_system';
/** How often a worker process schedules a sweep (and once at start). */
export const SWEEP_EVERY_MS = 60 * 60_000;
const BATCH = 500;

export interface SweepResult {
  deleted: number;
  artifacts: number;
}

/**
 * Retention: deletes finished jobs older than WEIR_JOB_RETENTION with their artifacts (the blob keys their
 * kind names, e.g. the upload a failed ingest kept). Artifacts go first, so a crash leaves rows to sweep
 * again rather than orphaned blobs. Idempotent; stops between batches when aborted.
 */
export function sweepJob(deps: {
  repo: JobRepo;
  /** Read when the sweep runs, once every domain registered its kinds (for their artifacts). */
  registry: Pick<JobRegistry, 'get'>;
  blobs: BlobStore;
  retentionMs: number;
  /** Default the system clock. */
  clock?: Clock;
}): JobDefinition<{ v: 1 }, SweepResult> {
  return {
    kind: SWEEP_KIND,
    payload: Type.Object({ v: Type.Literal(1) }, { additionalProperties: false }),
    concurrency: 1,
    maxAttempts: 3,
    timeoutMs: 30 * 60_000,
    async handler(_payload, ctx) {
      const cutoff = isoAfter(deps.clock ?? systemClock, -deps.retentionMs);
      const result: SweepResult = { deleted: 0, artifacts: 0 };
      for (;;) {
        ctx.signal.throwIfAborted();
        const batch = await deps.repo.finishedBefore(cutoff, BATCH);
        for (const job of batch) {
          const keys = deps.registry.get(job.kind)?.definition.artifacts?.(job.payload) ?? [];
          for (const key of keys) await deps.blobs.delete(key);
          result.artifacts += keys.length;
        }
        result.deleted += await deps.repo.deleteFinished(batch.map((j) => j.id));
        if (batch.length < BATCH) break;
      }
      if (result.deleted > 0) ctx.log.info({ ...result, cutoff }, 'finished jobs past retention deleted');
      return result;
    },
  };
}
