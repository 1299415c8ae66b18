import { useState } from 'react';
import { isFinished, type Job, type JobProgressEvent } from '../../api/jobs';
import { useTopic, type TopicEvent } from '../../api/realtime';

export interface HistoryEntry {
  at: string;
  what: string;
  detail?: string;
}

/** How long the job ran in its latest attempt (until now while it runs); null before it started. */
export function jobDuration(job: Job, now = Date.now()): number | null {
  if (!job.startedAt) return null;
  const end = job.finishedAt ? new Date(job.finishedAt).getTime() : now;
  return end - new Date(job.startedAt).getTime();
}

/** Cap on the live entries kept: a long job reports progress thousands of times. */
const MAX_LIVE = 200;

/**
 * What the job row itself tells of its past (created, latest start, end): the API keeps no event log, and
 * GET /jobs/{id}/events is a live stream only, so this is the history before the page was opened.
 */
export function historyFromRow(job: Job): HistoryEntry[] {
  const entries: HistoryEntry[] = [{ at: job.createdAt, what: 'created', detail: `priority ${job.priority}` }];
  if (job.startedAt)
    entries.push({
      at: job.startedAt,
      what: `attempt ${job.attempts} started`,
      detail: `of at most ${job.maxAttempts}`,
    });
  if (job.finishedAt) entries.push({ at: job.finishedAt, what: job.status, detail: job.error?.message });
  return entries;
}

/** What the page last heard of the job: enough to tell a new state or a progress step from a repeat. */
export interface Heard {
  status?: Job['status'];
  cancelRequested?: boolean;
  tenth?: number;
  message?: string | null;
}

/**
 * One line per event received on `job:<id>`: each state change, and progress each time it passes another tenth
 * (a job may report progress thousands of times, each with a new message).
 */
export function describeEvent(event: TopicEvent, heard: Heard): { entry: HistoryEntry | null; heard: Heard } {
  if (event.event === 'job.state') {
    const job = event.data as Job;
    const next = { ...heard, status: job.status, cancelRequested: job.cancelRequested };
    if (heard.status === job.status && heard.cancelRequested === job.cancelRequested)
      return { entry: null, heard: next };
    const what = job.cancelRequested && !isFinished(job.status) ? 'cancel requested' : job.status;
    const detail = job.error ? `${job.error.code}: ${job.error.message}` : undefined;
    return { entry: { at: event.ts, what, detail }, heard: next };
  }
  if (event.event === 'job.progress') {
    const p = event.data as JobProgressEvent;
    const tenth = Math.floor(p.progress / 10);
    const next = { ...heard, tenth, message: p.message };
    if (heard.tenth === tenth) return { entry: null, heard: next };
    return {
      entry: { at: event.ts, what: `progress ${Math.round(p.progress)}%`, detail: p.message ?? undefined },
      heard: next,
    };
  }
  return { entry: null, heard };
}

/** The events of `job:<id>` received while the page is open, oldest first. */
export function useLiveHistory(id: string): HistoryEntry[] {
  const [state, setState] = useState<{ heard: Heard; entries: HistoryEntry[] }>({ heard: {}, entries: [] });
  useTopic(`job:${id}`, (event) =>
    setState(({ heard, entries }) => {
      const next = describeEvent(event, heard);
      return { heard: next.heard, entries: next.entry ? [...entries, next.entry].slice(-MAX_LIVE) : entries };
    }),
  );
  return state.entries;
}
