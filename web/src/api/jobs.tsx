import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useCallback, useState } from 'react';
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
 * Reads of one job that never undo what its events said. A read answers the job as it was when the server read it;
 * a `job.state` event heard while that read was in flight may be newer (the run finished meanwhile), and putting
 * the read's answer in the cache would then show a finished job as running, with no event left to correct it. So
 * a read that overlapped a state event keeps what the events said: the subscription was in place when that event
 * came, so every later change comes as an event too.
 */
export class JobReads {
  private stateEvents = 0;

  /** Counts the event; call it for every event of the job's topic, before applying it. */
  heard(event: TopicEvent): void {
    if (event.event === 'job.state') this.stateEvents += 1;
  }

  /** `fetch`'s answer, or what `held` says after it when a state event came while it was in flight. */
  async read(fetch: () => Promise<Job>, held: () => Job | undefined): Promise<Job> {
    const before = this.stateEvents;
    const fetched = await fetch();
    if (this.stateEvents === before) return fetched;
    return held() ?? fetched;
  }
}

/**
 * A job, live: kept current by its `job:<id>` topic over the WebSocket, and read from the API when the hook mounts
 * and each time the subscription is in place (first, and after a reconnect), since events may have been missed
 * before that.
 */
export function useJob(id: string | null) {
  const queryClient = useQueryClient();
  const [reads] = useState(() => new JobReads());
  const query = useQuery({
    queryKey: jobKey(id ?? ''),
    enabled: id !== null,
    queryFn: () =>
      reads.read(
        () => call(api.GET('/api/v1/jobs/{id}', { params: { path: { id: id! } } })),
        () => queryClient.getQueryData<Job>(jobKey(id!)),
      ),
  });
  const onEvent = useCallback(
    (event: TopicEvent) => {
      if (!id) return;
      reads.heard(event);
      queryClient.setQueryData<Job>(jobKey(id), (job) => applyJobEvent(job, event));
    },
    [id, queryClient, reads],
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
