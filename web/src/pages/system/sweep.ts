import { useMutation, useQuery } from '@tanstack/react-query';
import { api, call } from '../../api/client';
import type { Job } from '../../api/jobs';

/** A storage sweep's outcome (src/storage/schemas.ts SweepResultSchema): the job's `result` once it succeeded. */
export interface SweepResult {
  dryRun: boolean;
  areas: Record<string, { objects: number; bytes: number }>;
  total: { objects: number; bytes: number };
  expiredUploads: { uploads: number; objects: number; bytes: number };
  prunedVersions: { versions: number; datasets: number; objects: number; bytes: number };
  jobArtifacts: { jobs: number; objects: number; bytes: number };
  /** Absent from sweeps recorded before orphans were swept. */
  orphans?: { objects: number; bytes: number };
}

export const sweepResultOf = (job: Job): SweepResult | null =>
  job.status === 'succeeded' && job.result && typeof job.result === 'object' ? (job.result as SweepResult) : null;

const FOLLOW_MS = 500;

/**
 * Starts a sweep (dry run or real) and follows its job until it ends. Sweeps run in the system workspace, which
 * the caller's WebSocket topics do not cover, so the job is polled at GET /system/storage/sweeps/{id}.
 */
export function useSweep(dryRun: boolean) {
  const start = useMutation({
    mutationFn: () =>
      call(api.POST('/api/v1/system/storage/sweep', { params: { query: { wait: false } }, body: { dryRun } })),
  });
  const id = start.data?.id ?? null;
  const follow = useQuery({
    queryKey: ['system', 'sweep', id],
    enabled: id !== null,
    queryFn: () => call(api.GET('/api/v1/system/storage/sweeps/{id}', { params: { path: { id: id! } } })),
    refetchInterval: (q) => (q.state.data?.finishedAt ? false : FOLLOW_MS),
  });
  return { start, job: follow.data ?? start.data, followError: follow.error };
}
