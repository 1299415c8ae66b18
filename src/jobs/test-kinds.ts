import { appendFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { threadId } from 'node:worker_threads';
import { Type } from 'typebox';
import { JobFailure } from './errors.js';
import type { JobDefinition } from './types.js';

/*
 * TEST ONLY: job kinds the job tests and the benchmark drive. Registered only when WEIR_TEST_JOB_KINDS=1
 * (config.testJobKinds), so the production registry holds none of them. `markFile` lets a test in another
 * process see each attempt start and finish (one line each).
 */

const MarkFile = Type.Optional(
  Type.String({ minLength: 1, maxLength: 4096, description: 'File that gets one line per attempt start and finish' }),
);

async function mark(file: string | undefined, line: string): Promise<void> {
  if (file) await appendFile(file, `${line}\n`);
}

export interface SleepPayload {
  v: 1;
  ms: number;
  steps?: number;
  markFile?: string;
}

/** Sleeps `ms` in `steps` steps (default 10), reporting progress after each; honours its signal. */
export const testSleepJob: JobDefinition<SleepPayload, { sleptMs: number; attempt: number }> = {
  kind: 'test.sleep',
  payload: Type.Object(
    {
      v: Type.Literal(1),
      ms: Type.Integer({ minimum: 0, maximum: 600_000 }),
      steps: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
      markFile: MarkFile,
    },
    { additionalProperties: false },
  ),
  concurrency: 2,
  backoffMs: 100,
  async handler(p, ctx) {
    await mark(p.markFile, `start ${ctx.jobId} ${ctx.attempt}`);
    const steps = p.steps ?? 10;
    for (let i = 1; i <= steps; i++) {
      await sleep(p.ms / steps, undefined, { signal: ctx.signal });
      ctx.progress((i / steps) * 100, `step ${i} of ${steps}`, { step: i });
    }
    await mark(p.markFile, `done ${ctx.jobId} ${ctx.attempt}`);
    return { sleptMs: p.ms, attempt: ctx.attempt };
  },
};

export interface FailPayload {
  v: 1;
  /** Attempts that fail before one succeeds. */
  failures: number;
  /** Fail with a permanent (not retryable) error instead. */
  permanent?: boolean;
  markFile?: string;
}

export const testFailJob: JobDefinition<FailPayload, { attempt: number }> = {
  kind: 'test.fail',
  payload: Type.Object(
    {
      v: Type.Literal(1),
      failures: Type.Integer({ minimum: 0, maximum: 100 }),
      permanent: Type.Optional(Type.Boolean()),
      markFile: MarkFile,
    },
    { additionalProperties: false },
  ),
  backoffMs: 100,
  async handler(p, ctx) {
    await mark(p.markFile, `start ${ctx.jobId} ${ctx.attempt} ${Date.now()}`);
    if (p.permanent)
      throw new JobFailure('test_rejected', 'Rejected on purpose (permanent)', false, [
        { pointer: '/payload/permanent', message: 'is true' },
      ]);
    if (ctx.attempt <= p.failures)
      throw new JobFailure('test_failure', `Attempt ${ctx.attempt} failed on purpose`, true);
    return { attempt: ctx.attempt };
  },
};

export const testNoopJob: JobDefinition<{ v: 1 }, { ok: true }> = {
  kind: 'test.noop',
  payload: Type.Object({ v: Type.Literal(1) }, { additionalProperties: false }),
  concurrency: 8,
  handler: () => Promise.resolve({ ok: true as const }),
};

/** Counts primes below `below` by trial division: pure CPU, run in a job thread. */
export const testCpuJob: JobDefinition<{ v: 1; below: number }, { primes: number; threadId: number }> = {
  kind: 'test.cpu',
  payload: Type.Object(
    { v: Type.Literal(1), below: Type.Integer({ minimum: 2, maximum: 50_000_000 }) },
    { additionalProperties: false },
  ),
  thread: true,
  handler(p, ctx) {
    let primes = 0;
    const tenth = Math.max(1, Math.floor(p.below / 10));
    for (let n = 2; n < p.below; n++) {
      let prime = true;
      for (let d = 2; d * d <= n; d++) {
        if (n % d === 0) {
          prime = false;
          break;
        }
      }
      if (prime) primes++;
      if (n % tenth === 0) ctx.progress((n / p.below) * 100, 'counting primes');
    }
    return Promise.resolve({ primes, threadId });
  },
};

export interface AllocatePayload {
  v: 1;
  /** Resident memory added per step, in MiB (pages are written, so the kernel really backs them). */
  mibPerStep?: number;
  markFile?: string;
}

/**
 * Allocates memory without bound until its process is stopped: the job that takes a worker process down. With
 * the supervised worker it must cost attempts, never the API (test/worker-supervision.test.ts).
 */
export const testAllocateJob: JobDefinition<AllocatePayload, never> = {
  kind: 'test.allocate',
  payload: Type.Object(
    { v: Type.Literal(1), mibPerStep: Type.Optional(Type.Integer({ minimum: 1, maximum: 256 })), markFile: MarkFile },
    { additionalProperties: false },
  ),
  concurrency: 1,
  maxAttempts: 2,
  backoffMs: 100,
  async handler(p, ctx) {
    await mark(p.markFile, `start ${ctx.jobId} ${ctx.attempt} ${process.pid}`);
    const held: Buffer[] = [];
    for (;;) {
      held.push(Buffer.alloc((p.mibPerStep ?? 16) * 1024 * 1024, 1));
      await sleep(20, undefined, { signal: ctx.signal });
    }
  },
};

/** Answers the pid of the process that ran it: where jobs run (test/worker-supervision.test.ts). */
export const testPidJob: JobDefinition<{ v: 1 }, { pid: number }> = {
  kind: 'test.pid',
  payload: Type.Object({ v: Type.Literal(1) }, { additionalProperties: false }),
  handler: () => Promise.resolve({ pid: process.pid }),
};

export const TEST_JOB_KINDS: JobDefinition[] = [
  testNoopJob,
  testSleepJob,
  testFailJob,
  testCpuJob,
  testAllocateJob,
  testPidJob,
] as JobDefinition[];
