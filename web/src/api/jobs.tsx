import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useCallback } from 'react';
import { Badge, ProgressBar, type Tone } from '../ui/controls';
import { api, call } from './client';
import { useTopic, type TopicEvent } from './realtime';
import type { components } from './schema';

export type Job = components['schemas']['Job'];
export type JobStatus = Job['status'];

/** What `job.progress` events carry (src/jobs/events.ts). */
export interface JobProgressEvent {
  id: string;
  progress: number;
  message: string | null;
  data: unknown;
}

export const jobKey = (id: string) => ['job', id] as const;

export function isFinished(status: JobStatus): boolean {
  return status === 'succeeded' || status === 'failed' || status === 'cancelled';
}

/**
 * Applies a `job.state` or `job.progress` event to the job as the client holds it: state events carry the whole
 * job; progress events only the numbers, and never move a finished job back.
 */
export function applyJobEvent(job: Job | undefined, event: TopicEvent): Job | undefined {
  if (event.event === 'job.state') return event.data as Job;
  if (event.event === 'job.progress' && job && !isFinished(job.status)) {
    const p = event.data as JobProgressEvent;
    return { ...job, progress: p.progress, progressMessage: p.message, progressData: p.data };
  }
  return job;
}

/**
 * A job, live: read once from the API, then kept current by its `job:<id>` topic over the WebSocket (and read
 * again after a reconnect, in case events were missed while the connection was down).
 */
export function useJob(id: string | null) {
  const queryClient = useQueryClient();
  const query = useQuery({
    queryKey: jobKey(id ?? ''),
    enabled: id !== null,
    queryFn: () => call(api.GET('/api/v1/jobs/{id}', { params: { path: { id: id! } } })),
  });
  const onEvent = useCallback(
    (event: TopicEvent) => {
      if (!id) return;
      queryClient.setQueryData<Job>(jobKey(id), (job) => applyJobEvent(job, event));
    },
    [id, queryClient],
  );
  useTopic(id ? `job:${id}` : null, onEvent, () => void query.refetch());
  return query;
}

const STATUS_TONE: Record<JobStatus, Tone> = {
  queued: 'default',
  running: 'accent',
  succeeded: 'success',
  failed: 'danger',
  cancelled: 'warning',
};

export function JobStatusBadge({ status }: { status: JobStatus }) {
  return <Badge tone={STATUS_TONE[status]}>{status}</Badge>;
}

/** A job's state, progress bar and current message, announced politely to screen readers as it changes. */
export function JobProgress({ job, label }: { job: Job; label?: string }) {
  const running = job.status === 'running' || job.status === 'queued';
  return (
    <div className="stack" style={{ gap: '0.25rem' }} aria-live="polite">
      <div className="row">
        <JobStatusBadge status={job.status} />
        {/* A finished job's last progress message ("storing") no longer describes it. */}
        {running && (
          <span className="muted">
            {job.status === 'queued' ? 'waiting for a worker' : (job.progressMessage ?? '')}
          </span>
        )}
      </div>
      {running && (
        <ProgressBar
          value={job.status === 'queued' ? null : job.progress / 100}
          label={label ?? `${job.kind} progress`}
        />
      )}
      {job.error && (
        <div className="danger-text" role="alert">
          {job.error.message}
          {job.error.details?.map((d) => (
            <div key={d.pointer + d.message}>
              {d.line !== undefined ? `line ${d.line}: ` : d.row !== undefined ? `row ${d.row}: ` : ''}
              {d.message}
            </div>
          ))}
        </div>
      )}
    </div>
  );
}
