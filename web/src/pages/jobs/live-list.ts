import { useQueryClient } from '@tanstack/react-query';
import { useCallback, useEffect, useRef } from 'react';
import { applyJobEvent, isFinished, jobKey, type Job, type JobStatus } from '../../api/jobs';
import { useTopic, type TopicEvent } from '../../api/realtime';

export interface JobPage {
  items: Job[];
  total: number;
  limit: number;
  offset: number;
}

/**
 * Applies a workspace event to one cached page of the list. A job on the page is updated in place; `stale` says the
 * page must be read again: a state change of a job not on it (a new job, or one that now matches the filters), or
 * a job whose new status leaves the status filter.
 */
export function applyToPage(
  page: JobPage | undefined,
  event: TopicEvent,
  statusFilter: readonly JobStatus[],
): { page: JobPage | undefined; stale: boolean } {
  if (!page) return { page, stale: false };
  const id = (event.data as { id?: unknown } | null)?.id;
  const index = page.items.findIndex((j) => j.id === id);
  if (index < 0) return { page, stale: event.event === 'job.state' };
  const updated = applyJobEvent(page.items[index], event);
  if (!updated || updated === page.items[index]) return { page, stale: false };
  const items = page.items.slice();
  items[index] = updated;
  const leaves = statusFilter.length > 0 && !statusFilter.includes(updated.status);
  return { page: { ...page, items }, stale: leaves };
}

/**
 * Which of two copies of a job to keep, when a read or an action's answer may be older than an event already
 * applied (events can overtake the answer to the request that caused them):
 * - a job whose cancel was requested only ever ends, so such an unfinished copy never replaces a finished one;
 * - attempts only grow until a retry resets them, so a queued copy never replaces a running one with more attempts.
 * Anything else (a retried job coming back, a retry after a failed attempt) takes the incoming copy.
 */
export function newerJob(held: Job | undefined, incoming: Job): Job {
  if (!held || held.id !== incoming.id) return incoming;
  if (isFinished(held.status) && !isFinished(incoming.status) && incoming.cancelRequested) return held;
  if (held.status === 'running' && incoming.status === 'queued' && held.attempts > incoming.attempts) return held;
  return incoming;
}

/** newerJob over a page read again: the page's rows as the server sent them, but never moved back. */
export function keepNewer(held: JobPage | undefined, incoming: JobPage): JobPage {
  if (!held) return incoming;
  const heldById = new Map(held.items.map((j) => [j.id, j]));
  return { ...incoming, items: incoming.items.map((j) => newerJob(heldById.get(j.id), j)) };
}

/** How long state changes are gathered before the list and statistics are read again (a burst of jobs: one read). */
const REFETCH_DEBOUNCE_MS = 400;

/**
 * Keeps the cached job list (`listKey`) live from `workspace:<id>`: progress and state are written into the page
 * as they come, and the page and the statistics are read again when the page no longer tells the truth.
 */
export function useLiveJobList(workspaceId: string, listKey: readonly unknown[], statusFilter: readonly JobStatus[]) {
  const queryClient = useQueryClient();
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const refetchSoon = useCallback(() => {
    if (timer.current) return;
    timer.current = setTimeout(() => {
      timer.current = null;
      void queryClient.invalidateQueries({ queryKey: ['jobs'] });
    }, REFETCH_DEBOUNCE_MS);
  }, [queryClient]);
  useEffect(
    () => () => {
      if (timer.current) clearTimeout(timer.current);
    },
    [],
  );
  // useTopic calls the latest handler: no need to keep this one stable.
  const onEvent = (event: TopicEvent) => {
    if (event.event !== 'job.state' && event.event !== 'job.progress') return;
    let stale = false;
    queryClient.setQueryData<JobPage>(listKey, (page) => {
      const next = applyToPage(page, event, statusFilter);
      stale = next.stale;
      return next.page;
    });
    if (event.event === 'job.state') {
      // The job's own page, if cached, and the statistics follow too.
      const job = event.data as Job;
      queryClient.setQueryData(jobKey(job.id), job);
      if (!stale) void queryClient.invalidateQueries({ queryKey: ['jobs', 'stats'] });
    }
    if (stale) refetchSoon();
  };
  useTopic(`workspace:${workspaceId}`, onEvent, refetchSoon);
}
