import { useMutation, useQueryClient } from '@tanstack/react-query';
import { api, call } from '../../api/client';
import { jobKey, type Job } from '../../api/jobs';
import { useCan } from '../../app/session';
import { Button } from '../../ui/controls';
import { ConfirmDialog } from '../../ui/dialog';
import { useToast } from '../../ui/toast';
import { ProblemError } from '../../api/problem';
import { newerJob } from './live-list';

/** The server's rules (src/jobs/service.ts): cancel until the job ends; retry only once it failed or was cancelled. */
export const canCancel = (job: Job) => (job.status === 'queued' || job.status === 'running') && !job.cancelRequested;
export const canRetry = (job: Job) => job.status === 'failed' || job.status === 'cancelled';

/**
 * Cancel and retry, for callers with `jobs:manage` (routes.ts), each shown only while the job's state allows it.
 * The answer is written into the job's cache at once; the list and the statistics follow from the workspace topic.
 */
export function JobActions({ job, small = true }: { job: Job; small?: boolean }) {
  const may = useCan('jobs:manage');
  const queryClient = useQueryClient();
  const toast = useToast();
  const settle = (answer: Job) => {
    // The job's own events may have overtaken this answer (the final state of a cancelled job can arrive over the
    // WebSocket before the answer "cancel requested"): newerJob keeps the later one. The list is read again.
    queryClient.setQueryData<Job>(jobKey(answer.id), (held) => newerJob(held, answer));
    void queryClient.invalidateQueries({ queryKey: ['jobs'] });
  };
  const retry = useMutation({
    mutationFn: () => call(api.POST('/api/v1/jobs/{id}/retry', { params: { path: { id: job.id } } })),
    onSuccess: (updated) => {
      settle(updated);
      toast({ title: 'Job queued again', description: `${job.kind} ${job.id}` });
    },
    onError: (error) =>
      toast({
        tone: 'error',
        title: 'Not retried',
        description:
          error instanceof ProblemError ? `${error.message} (request ${error.requestId ?? '?'})` : String(error),
      }),
  });
  if (!may) return null;
  const label = `${job.kind} ${job.id}`;
  return (
    <div className="row job-actions">
      {canCancel(job) && (
        <ConfirmDialog
          title="Cancel this job?"
          description={
            job.status === 'running'
              ? `${label} is running: its attempt is stopped and it ends cancelled. You can retry it later.`
              : `${label} has not started: it is cancelled at once. You can retry it later.`
          }
          confirmLabel="Cancel job"
          onConfirm={async () => {
            settle(await call(api.POST('/api/v1/jobs/{id}/cancel', { params: { path: { id: job.id } } })));
          }}
          trigger={(open) => (
            <Button variant="danger" small={small} onClick={open} aria-label={`Cancel ${label}`}>
              Cancel
            </Button>
          )}
        />
      )}
      {job.cancelRequested && !canRetry(job) && job.status !== 'succeeded' && (
        <span className="muted">cancelling…</span>
      )}
      {canRetry(job) && (
        <Button small={small} busy={retry.isPending} onClick={() => retry.mutate()} aria-label={`Retry ${label}`}>
          Retry
        </Button>
      )}
    </div>
  );
}
