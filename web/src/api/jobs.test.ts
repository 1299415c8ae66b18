import { describe, expect, it } from 'vitest';
import { applyJobEvent, type Job } from './jobs';

const job = (over: Partial<Job> = {}): Job =>
  ({ id: 'job_1', kind: 'dataset.ingest', status: 'running', progress: 10, progressMessage: null, ...over }) as Job;
const event = (name: string, data: unknown) => ({ topic: 'job:job_1', event: name, data, ts: '2026-12-06T00:00:00Z' });

describe('applyJobEvent', () => {
  it('takes a state event whole', () => {
    const done = job({ status: 'succeeded', progress: 100 });
    expect(applyJobEvent(job(), event('job.state', done))).toBe(done);
  });

  it('applies progress to a running job', () => {
    const next = applyJobEvent(job(), event('job.progress', { id: 'job_1', progress: 55, message: 'rows', data: 3 }));
    expect(next).toMatchObject({ status: 'running', progress: 55, progressMessage: 'rows', progressData: 3 });
  });

  it('never moves a finished job back, and ignores progress before the job is known', () => {
    const done = job({ status: 'failed', progress: 40 });
    expect(applyJobEvent(done, event('job.progress', { id: 'job_1', progress: 60, message: null, data: null }))).toBe(
      done,
    );
    expect(applyJobEvent(undefined, event('job.progress', { id: 'job_1', progress: 5 }))).toBeUndefined();
  });
});
