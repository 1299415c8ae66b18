import { describe, expect, it } from 'vitest';
import type { Job } from '../../api/jobs';
import { describeEvent, historyFromRow } from './job-history';
import { applyToPage, keepNewer, newerJob, type JobPage } from './live-list';

const job = (id: string, over: Partial<Job> = {}): Job =>
  ({ id, kind: 'test.sleep', status: 'running', progress: 10, progressMessage: null, ...over }) as Job;
const event = (name: string, data: unknown, ts = '2026-12-06T10:00:00Z') => ({
  topic: 'workspace:ws_1',
  event: name,
  data,
  ts,
});
const page = (...items: Job[]): JobPage => ({ items, total: items.length, limit: 25, offset: 0 });

describe('applyToPage', () => {
  it('updates a job on the page in place, without reading the page again', () => {
    const before = page(job('a'), job('b'));
    const { page: after, stale } = applyToPage(
      before,
      event('job.progress', { id: 'b', progress: 60, message: 'step 6', data: null }),
      [],
    );
    expect(stale).toBe(false);
    expect(after?.items[1]).toMatchObject({ id: 'b', progress: 60, progressMessage: 'step 6' });
    expect(after?.items[0]).toBe(before.items[0]);
  });

  it('asks for a new read when a job not on the page changes state, never for its progress', () => {
    const before = page(job('a'));
    expect(applyToPage(before, event('job.state', job('new', { status: 'queued' })), []).stale).toBe(true);
    expect(applyToPage(before, event('job.progress', { id: 'new', progress: 5 }), []).stale).toBe(false);
  });

  it('asks for a new read when a job leaves the status filter, and keeps it while it matches', () => {
    const before = page(job('a'));
    const cancelled = applyToPage(before, event('job.state', job('a', { status: 'cancelled' })), ['running']);
    expect(cancelled).toMatchObject({ stale: true });
    expect(cancelled.page?.items[0]?.status).toBe('cancelled');
    expect(applyToPage(before, event('job.state', job('a', { status: 'cancelled' })), ['cancelled']).stale).toBe(false);
  });

  it('never moves a finished job on the page back with a late progress event', () => {
    const before = page(job('a', { status: 'cancelled' }));
    const { page: after } = applyToPage(before, event('job.progress', { id: 'a', progress: 90, message: null }), []);
    expect(after).toBe(before);
  });
});

describe('job history', () => {
  it('tells the record: created, the latest start, the end with its error', () => {
    const entries = historyFromRow(
      job('a', {
        status: 'failed',
        priority: 0,
        attempts: 2,
        maxAttempts: 3,
        createdAt: '2026-12-06T10:00:00Z',
        startedAt: '2026-12-06T10:00:05Z',
        finishedAt: '2026-12-06T10:00:09Z',
        error: { code: 'x', message: 'broke' },
      }),
    );
    expect(entries.map((e) => e.what)).toEqual(['created', 'attempt 2 started', 'failed']);
    expect(entries[2]?.detail).toBe('broke');
  });

  it('notes each state change once, a cancel request, and progress once per tenth', () => {
    let heard = {};
    const lines: string[] = [];
    const feed = (name: string, data: unknown) => {
      const next = describeEvent(event(name, data), heard);
      heard = next.heard;
      if (next.entry) lines.push(next.entry.what);
    };
    feed('job.state', job('a', { status: 'running', cancelRequested: false }));
    feed('job.state', job('a', { status: 'running', cancelRequested: false }));
    feed('job.progress', { id: 'a', progress: 11, message: 'step' });
    feed('job.progress', { id: 'a', progress: 15, message: 'another step' });
    feed('job.progress', { id: 'a', progress: 21, message: 'step' });
    feed('job.state', job('a', { status: 'running', cancelRequested: true }));
    feed('job.state', job('a', { status: 'cancelled', cancelRequested: true }));
    expect(lines).toEqual(['running', 'progress 11%', 'progress 21%', 'cancel requested', 'cancelled']);
  });
});

describe('newerJob and keepNewer', () => {
  it('keep a finished job against an older copy whose cancel was only requested, and take a retried one', () => {
    const cancelled = job('a', { status: 'cancelled', cancelRequested: true });
    const stale = job('a', { status: 'running', cancelRequested: true });
    const retried = job('a', { status: 'queued', cancelRequested: false });
    expect(newerJob(cancelled, stale)).toBe(cancelled);
    expect(newerJob(cancelled, retried)).toBe(retried);
    expect(newerJob(undefined, stale)).toBe(stale);
    // The answer to a retry, overtaken by the new attempt's start.
    const started = job('a', { status: 'running', attempts: 1 });
    expect(newerJob(started, job('a', { status: 'queued', attempts: 0 }))).toBe(started);
    const backoff = job('a', { status: 'queued', attempts: 1 });
    expect(newerJob(started, backoff)).toBe(backoff);
    const read = keepNewer(page(cancelled, job('b')), page(stale, job('b', { progress: 50 })));
    expect(read.items.map((j) => [j.status, j.progress])).toEqual([
      ['cancelled', 10],
      ['running', 50],
    ]);
  });
});
