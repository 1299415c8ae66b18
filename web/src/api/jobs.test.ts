import { describe, expect, it } from 'vitest';
import { applyJobEvent, type Job, JobReads } from './jobs';

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

describe('JobReads', () => {
  /** A read the test answers when it chooses, so events can be heard while it is in flight. */
  function pendingRead() {
    let answer!: (job: Job) => void;
    const promise = new Promise<Job>((resolve) => (answer = resolve));
    return { fetch: () => promise, answer };
  }

  it('answers the read when no state event came while it was in flight', async () => {
    const reads = new JobReads();
    const read = pendingRead();
    const result = reads.read(read.fetch, () => job({ status: 'succeeded' }));
    reads.heard(event('job.progress', { id: 'job_1', progress: 50, message: null, data: null }));
    read.answer(job({ progress: 40 }));
    expect(await result).toMatchObject({ status: 'running', progress: 40 });
  });

  it('keeps what a state event said while the read was in flight: a stale read never un-finishes a job', async () => {
    const reads = new JobReads();
    const read = pendingRead();
    let held: Job | undefined = job({ progressMessage: 'compiling' });
    const result = reads.read(read.fetch, () => held);
    // The run finished while the server was answering the read with how it was a moment before.
    held = job({ status: 'succeeded', progress: 100 });
    reads.heard(event('job.state', held));
    read.answer(job({ progressMessage: 'compiling' }));
    expect(await result).toBe(held);

    // The next read, with no event during it, is answered as it is.
    const again = pendingRead();
    const second = reads.read(again.fetch, () => held);
    again.answer(job({ status: 'succeeded', progress: 100, result: { rows: 3 } }));
    expect(await second).toMatchObject({ result: { rows: 3 } });
  });

  it('answers the read when there is nothing held to keep', async () => {
    const reads = new JobReads();
    const read = pendingRead();
    const result = reads.read(read.fetch, () => undefined);
    reads.heard(event('job.state', job({ status: 'queued' })));
    read.answer(job());
    expect(await result).toMatchObject({ status: 'running' });
  });
});
