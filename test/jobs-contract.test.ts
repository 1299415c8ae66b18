import { setTimeout as sleep } from 'node:timers/promises';
import { Type } from 'typebox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../src/errors.js';
import { JobFailure } from '../src/jobs/errors.js';
import type { JobContext, JobDefinition } from '../src/jobs/types.js';
import {
  redisAvailable,
  requireRedis,
  startJobHarness,
  useBuiltThreadEntry,
  type DriverName,
  type JobHarness,
} from './helpers/jobs.js';

/**
 * The job queue contract, run against both drivers: embedded (rows of the metadata DB) and BullMQ (Redis).
 * BullMQ runs when Redis answers on 127.0.0.1:6379, and must when WEIR_TEST_REQUIRE_REDIS=1 (CI).
 */
const redisUp = await redisAvailable();
const drivers: DriverName[] = redisUp || requireRedis ? ['embedded', 'bullmq'] : ['embedded'];
if (!redisUp && !requireRedis)
  console.warn('jobs contract: Redis is not reachable on 127.0.0.1:6379; the BullMQ driver is NOT tested in this run');

/** Per-suite probes the test kinds report into. */
function probes() {
  return {
    starts: new Map<string, number[]>(),
    aborted: new Map<string, unknown>(),
    order: [] as string[],
    running: 0,
    maxRunning: 0,
    release: null as (() => void) | null,
    /** Sets the cancel flag on a job's row as POST /jobs/:id/cancel does (set once the harness exists). */
    flagCancel: null as ((id: string) => Promise<void>) | null,
  };
}

function kinds(p: ReturnType<typeof probes>): JobDefinition[] {
  const Payload = Type.Object(
    { v: Type.Literal(1), tag: Type.Optional(Type.String()), ms: Type.Optional(Type.Integer({ minimum: 0 })) },
    { additionalProperties: false },
  );
  type P = { v: 1; tag?: string; ms?: number };
  const started = (ctx: JobContext) => {
    const list = p.starts.get(ctx.jobId) ?? [];
    list.push(Date.now());
    p.starts.set(ctx.jobId, list);
  };
  const defs: JobDefinition<P>[] = [
    {
      kind: 'c.echo',
      payload: Payload,
      handler: async (pl, ctx) => ({ echoed: pl.tag ?? null, attempt: ctx.attempt }),
    },
    {
      kind: 'c.progress',
      payload: Payload,
      async handler(_pl, ctx) {
        for (let i = 1; i <= 8; i++) {
          await sleep(100);
          ctx.progress(i * 12.5, `step ${i}`, { step: i });
        }
        return { steps: 8 };
      },
    },
    {
      kind: 'c.flaky',
      payload: Payload,
      backoffMs: 100,
      maxAttempts: 3,
      async handler(_pl, ctx) {
        started(ctx);
        if (ctx.attempt < 3) throw new JobFailure('flaky', `attempt ${ctx.attempt} fails`, true);
        return { attempt: ctx.attempt };
      },
    },
    {
      kind: 'c.hang',
      payload: Payload,
      concurrency: 4,
      async handler(_pl, ctx) {
        started(ctx);
        try {
          await sleep(60_000, undefined, { signal: ctx.signal });
        } catch (e) {
          p.aborted.set(ctx.jobId, ctx.signal.reason);
          throw e;
        }
        return { slept: true };
      },
    },
    {
      kind: 'c.order',
      payload: Payload,
      concurrency: 1,
      async handler(pl) {
        if (pl.tag === 'blocker') await new Promise<void>((r) => (p.release = r));
        else p.order.push(pl.tag ?? '?');
        return {};
      },
    },
    {
      kind: 'c.concurrent',
      payload: Payload,
      concurrency: 3,
      async handler(pl) {
        p.running++;
        p.maxRunning = Math.max(p.maxRunning, p.running);
        await sleep(pl.ms ?? 80);
        p.running--;
        return {};
      },
    },
    {
      kind: 'c.throws',
      payload: Payload,
      maxAttempts: 3,
      handler() {
        throw new JobFailure('thrown_sync', 'Thrown before any promise was returned', false);
      },
    },
    {
      kind: 'c.cancel-race',
      payload: Payload,
      backoffMs: 50,
      maxAttempts: 3,
      async handler(_pl, ctx) {
        started(ctx);
        // A cancel lands just as the attempt fails: the flag is on the row, its event not yet here.
        await p.flagCancel!(ctx.jobId);
        throw new JobFailure('flaky', 'fails while a cancel is asked', true);
      },
    },
    {
      kind: 'c.rejects',
      payload: Payload,
      maxAttempts: 3,
      handler: () =>
        Promise.reject(
          new AppError('ragged_rows', 'Row 3 has 2 fields, expected 3', [
            { pointer: 'line 4', message: 'Row 3 has 2 fields, expected 3', line: 4, row: 3 },
          ]),
        ),
    },
  ];
  return defs as JobDefinition[];
}

describe.each(drivers)('job queue contract: %s', (driver) => {
  let h: JobHarness;
  const p = probes();

  beforeAll(async () => {
    if (driver === 'bullmq' && !redisUp)
      throw new Error('WEIR_TEST_REQUIRE_REDIS=1 but Redis does not answer on 127.0.0.1:6379');
    useBuiltThreadEntry();
    h = await startJobHarness(driver, kinds(p));
    p.flagCancel = async (id) => {
      await h.store.db.updateTable('jobs').set({ cancel_requested: 1 }).where('id', '=', id).execute();
    };
  });
  afterAll(async () => {
    p.release?.();
    await h?.close();
  });

  it('runs a job to succeeded with its result, publishing each state', async () => {
    const job = await h.enqueue('c.echo', { v: 1, tag: 'hello' });
    expect(job).toMatchObject({
      status: 'queued',
      attempts: 0,
      workspaceId: h.workspaceId,
      kind: 'c.echo',
      payload: { v: 1, tag: 'hello' },
    });
    const done = await h.waitFor(job.id, ['succeeded', 'failed']);
    expect(done).toMatchObject({
      status: 'succeeded',
      attempts: 1,
      progress: 100,
      result: { echoed: 'hello', attempt: 1 },
      error: null,
    });
    expect(Date.parse(done.finishedAt!)).toBeGreaterThanOrEqual(Date.parse(done.startedAt!));
    const states = () =>
      h.events
        .filter((e) => e.type === 'job.state' && (e.data as { id: string }).id === job.id)
        .map((e) => (e.data as { status: string }).status);
    await expect.poll(states).toEqual(['queued', 'running', 'succeeded']);
    expect(h.events.find((e) => (e.data as { id: string }).id === job.id)?.topic).toBe(`workspace:${h.workspaceId}`);
  });

  it('publishes throttled progress on the bus and writes the final state', async () => {
    const job = await h.enqueue('c.progress', { v: 1 });
    await h.waitFor(job.id, ['succeeded']);
    const progress = () =>
      h.events
        .filter((e) => e.type === 'job.progress' && (e.data as { id: string }).id === job.id)
        .map((e) => e.data as { progress: number; message: string; data: unknown });
    // The job's row can read `succeeded` before this subscriber has the last progress event: over Redis pub/sub
    // it is published before the end is written, but delivered whenever the subscriber's socket is read.
    await expect.poll(() => progress().at(-1)?.message).toBe('step 8');
    const seen = progress();
    expect(seen.length).toBeGreaterThanOrEqual(2);
    // 8 reports over ~800 ms, at most one write per 250 ms (plus the trailing one).
    expect(seen.length).toBeLessThanOrEqual(6);
    expect(seen.map((s) => s.progress)).toEqual([...seen.map((s) => s.progress)].sort((a, b) => a - b));
    expect(seen.at(-1)).toMatchObject({ progress: 100, message: 'step 8', data: { step: 8 } });
    const stored = await h.system.service.get(h.workspaceId, job.id);
    expect(stored).toMatchObject({
      status: 'succeeded',
      progress: 100,
      progressMessage: 'step 8',
      progressData: { step: 8 },
    });
  });

  it('retries with exponential backoff until an attempt succeeds', async () => {
    const job = await h.enqueue('c.flaky', { v: 1 });
    const done = await h.waitFor(job.id, ['succeeded', 'failed']);
    expect(done).toMatchObject({ status: 'succeeded', attempts: 3, result: { attempt: 3 }, error: null });
    const [t1, t2, t3] = p.starts.get(job.id)!;
    // Jitter is pinned to its top (random 0.999): delays ≈ 100 ms, then 200 ms.
    expect(t2! - t1!).toBeGreaterThanOrEqual(95);
    expect(t3! - t2!).toBeGreaterThanOrEqual(195);
    expect(t3! - t2!).toBeGreaterThan(t2! - t1!);
    const queuedAgain = h.events.filter(
      (e) =>
        e.type === 'job.state' &&
        (e.data as { id: string; status: string }).id === job.id &&
        (e.data as { status: string }).status === 'queued',
    );
    expect(queuedAgain.map((e) => (e.data as { error: { code: string } | null }).error?.code)).toEqual([
      undefined,
      'flaky',
      'flaky',
    ]);
  });

  it('fails for good after the last attempt, keeping the last error', async () => {
    const job = await h.enqueue('c.flaky', { v: 1 }, { maxAttempts: 2 });
    const done = await h.waitFor(job.id, ['succeeded', 'failed']);
    expect(done).toMatchObject({
      status: 'failed',
      attempts: 2,
      maxAttempts: 2,
      error: { code: 'flaky', message: 'attempt 2 fails' },
      result: null,
    });
  });

  it('a refused input fails at once with its code and field errors (no retry)', async () => {
    const job = await h.enqueue('c.rejects', { v: 1 });
    const done = await h.waitFor(job.id, ['failed']);
    expect(done).toMatchObject({
      attempts: 1,
      error: {
        code: 'ragged_rows',
        message: 'Row 3 has 2 fields, expected 3',
        details: [{ pointer: 'line 4', line: 4, row: 3 }],
      },
    });
  });

  it('an attempt that fails leaves a progress message saying how it ended, never its last step', async () => {
    const refused = await h.waitFor((await h.enqueue('c.rejects', { v: 1 })).id, ['failed']);
    expect(refused.progressMessage).toBe('Failed: Row 3 has 2 fields, expected 3 (a permanent failure: not retried)');
    const exhausted = await h.enqueue('c.flaky', { v: 1 }, { maxAttempts: 2 });
    const done = await h.waitFor(exhausted.id, ['succeeded', 'failed']);
    expect(done).toMatchObject({ status: 'failed', progressMessage: 'Failed after 2 attempts: attempt 2 fails' });
    // While it waited for its second attempt, the job said the first had failed.
    const queuedAgain = h.events.filter(
      (e) =>
        e.type === 'job.state' &&
        (e.data as { id: string; status: string }).id === exhausted.id &&
        (e.data as { status: string }).status === 'queued',
    );
    expect(queuedAgain.map((e) => (e.data as { progressMessage: string | null }).progressMessage)).toEqual([
      null,
      'Attempt 1 of 2 failed: attempt 1 fails; retrying',
    ]);
    const cancelled = await h.enqueue('c.hang', { v: 1 }, { runAfter: new Date(Date.now() + 60_000) });
    expect(await h.system.service.cancel(h.workspaceId, cancelled.id)).toMatchObject({
      status: 'cancelled',
      progressMessage: 'The job was cancelled',
    });
  });

  it('an attempt over its timeout fails with `timeout` and its signal is aborted', async () => {
    const job = await h.enqueue('c.hang', { v: 1 }, { timeoutMs: 300, maxAttempts: 1 });
    const done = await h.waitFor(job.id, ['failed', 'succeeded']);
    expect(done.error).toEqual({ code: 'timeout', message: 'The attempt ran longer than its timeout of 300 ms' });
    expect(Date.parse(done.finishedAt!) - Date.parse(done.startedAt!)).toBeGreaterThanOrEqual(290);
    expect(p.aborted.get(job.id)).toMatchObject({ name: 'JobAborted', reason: 'timeout' });
  });

  it('cancels a queued job at once; it never runs', async () => {
    const job = await h.enqueue('c.hang', { v: 1 }, { runAfter: new Date(Date.now() + 60_000) });
    const cancelled = await h.system.service.cancel(h.workspaceId, job.id);
    expect(cancelled).toMatchObject({ status: 'cancelled', attempts: 0, error: { code: 'cancelled' } });
    await sleep(200);
    expect(p.starts.has(job.id)).toBe(false);
    await expect(h.system.service.cancel(h.workspaceId, job.id)).rejects.toMatchObject({
      status: 409,
      code: 'job_not_cancellable',
    });
  });

  it('cancels a running job promptly: its signal aborts and it ends cancelled', async () => {
    const job = await h.enqueue('c.hang', { v: 1 });
    await h.waitFor(job.id, ['running']);
    await expect.poll(() => p.starts.has(job.id)).toBe(true);
    const asked = Date.now();
    const flagged = await h.system.service.cancel(h.workspaceId, job.id);
    expect(flagged).toMatchObject({ status: 'running', cancelRequested: true });
    const done = await h.waitFor(job.id, ['cancelled', 'failed', 'succeeded'], 5000);
    expect(done.status).toBe('cancelled');
    expect(Date.now() - asked).toBeLessThan(1500);
    expect(p.aborted.get(job.id)).toMatchObject({ reason: 'cancelled' });
    // A cancelled job can run again from scratch.
    const retried = await h.system.service.retry(h.workspaceId, job.id);
    expect(retried).toMatchObject({ status: 'queued', attempts: 0, cancelRequested: false, error: null });
    await h.waitFor(job.id, ['running']);
    await h.system.service.cancel(h.workspaceId, job.id);
    await h.waitFor(job.id, ['cancelled']);
  });

  it('a cancel asked while a failing attempt ends wins: the job ends cancelled instead of being queued again', async () => {
    const job = await h.enqueue('c.cancel-race', { v: 1 });
    const done = await h.waitFor(job.id, ['cancelled', 'failed', 'succeeded']);
    expect(done).toMatchObject({ status: 'cancelled', attempts: 1, error: { code: 'cancelled' } });
    // Well past the 50 ms backoff: no second attempt starts.
    await sleep(400);
    expect(p.starts.get(job.id)).toHaveLength(1);
    const states = h.events
      .filter((e) => e.type === 'job.state' && (e.data as { id: string }).id === job.id)
      .map((e) => (e.data as { status: string }).status);
    expect(states).toEqual(['queued', 'running', 'cancelled']);
  });

  it('a handler that throws instead of returning a promise fails its attempt like any other', async () => {
    const job = await h.enqueue('c.throws', { v: 1 });
    const done = await h.waitFor(job.id, ['failed', 'succeeded'], 5000);
    expect(done).toMatchObject({
      status: 'failed',
      attempts: 1,
      error: { code: 'thrown_sync', message: 'Thrown before any promise was returned' },
    });
    await expect.poll(() => h.system.activeAttempts).toBe(0);
  });

  it('runs higher priority first (concurrency 1)', async () => {
    const blocker = await h.enqueue('c.order', { v: 1, tag: 'blocker' });
    await h.waitFor(blocker.id, ['running']);
    await expect.poll(() => p.release !== null).toBe(true);
    const jobs = [];
    for (const [tag, priority] of [
      ['p0', 0],
      ['p5a', 5],
      ['pm1', -1],
      ['p10', 10],
      ['p5b', 5],
    ] as const)
      jobs.push(await h.enqueue('c.order', { v: 1, tag }, { priority }));
    p.release!();
    for (const j of jobs) await h.waitFor(j.id, ['succeeded']);
    expect(p.order).toEqual(['p10', 'p5a', 'p5b', 'p0', 'pm1']);
  });

  it('never runs more attempts of a kind at once than its concurrency', async () => {
    const jobs = await h.system.service.enqueueMany(
      Array.from({ length: 12 }, () => ({
        kind: 'c.concurrent',
        payload: { v: 1, ms: 80 },
        options: { workspaceId: h.workspaceId },
      })),
    );
    for (const j of jobs) await h.waitFor(j.id, ['succeeded']);
    expect(p.maxRunning).toBe(3);
  });

  it('validates payloads at enqueue (400, nothing stored) and refuses unknown kinds', async () => {
    const bad = h.enqueue('c.echo', { v: 2, extra: true });
    await expect(bad).rejects.toBeInstanceOf(AppError);
    await expect(bad).rejects.toMatchObject({ status: 400, code: 'validation_failed' });
    const err = (await bad.catch((e: unknown) => e)) as AppError;
    expect(err.errors.map((e) => e.pointer).sort()).toEqual(['/payload', '/payload/extra', '/payload/v']);
    await expect(h.enqueue('c.nope', { v: 1 })).rejects.toMatchObject({
      status: 400,
      code: 'bad_request',
      errors: [{ pointer: '/kind' }],
    });
    expect(
      (await h.system.service.list({ workspaceId: h.workspaceId, kind: 'c.nope', limit: 10, offset: 0 })).total,
    ).toBe(0);
  });

  it('runs a thread kind in a worker thread, off the main thread', async () => {
    const job = await h.enqueue('test.cpu', { v: 1, below: 100_000 });
    const done = await h.waitFor(job.id, ['succeeded', 'failed']);
    expect(done.status).toBe('succeeded');
    const result = done.result as { primes: number; threadId: number };
    expect(result.primes).toBe(9592);
    expect(result.threadId).toBeGreaterThan(0);
  });

  it('aborting a thread kind terminates its thread', async () => {
    const job = await h.enqueue('test.cpu', { v: 1, below: 50_000_000 }, { timeoutMs: 300, maxAttempts: 1 });
    const done = await h.waitFor(job.id, ['failed', 'succeeded'], 10_000);
    expect(done.error?.code).toBe('timeout');
    // The pool still works afterwards.
    const next = await h.enqueue('test.cpu', { v: 1, below: 1000 });
    expect((await h.waitFor(next.id, ['succeeded'])).result).toMatchObject({ primes: 168 });
  });
});

describe.each(drivers)('graceful shutdown: %s', (driver) => {
  it('queues a running job again without counting the attempt; another worker completes it', async () => {
    if (driver === 'bullmq' && !redisUp)
      throw new Error('WEIR_TEST_REQUIRE_REDIS=1 but Redis does not answer on 127.0.0.1:6379');
    const a = await startJobHarness(driver, []);
    try {
      const job = await a.enqueue('test.sleep', { v: 1, ms: 1500, steps: 15 });
      await a.waitFor(job.id, ['running']);
      await a.system.stopWorkers(100);
      expect(await a.system.service.get(a.workspaceId, job.id)).toMatchObject({
        status: 'queued',
        attempts: 0,
        error: null,
      });
      const b = await startJobHarness(driver, [], {
        db: { dataDir: a.config.dataDir, env: envOf(a), drop: async () => {} },
      });
      try {
        expect(await a.waitFor(job.id, ['succeeded', 'failed'])).toMatchObject({
          status: 'succeeded',
          attempts: 1,
          result: { sleptMs: 1500, attempt: 1 },
        });
        // A job that finishes within the shutdown timeout is simply finished.
        const short = await b.enqueue('test.sleep', { v: 1, ms: 300, steps: 3 });
        await b.waitFor(short.id, ['running']);
        await b.system.stopWorkers(10_000);
        expect(await b.system.service.get(b.workspaceId, short.id)).toMatchObject({ status: 'succeeded', attempts: 1 });
      } finally {
        await b.close();
      }
    } finally {
      await a.close();
    }
  });
});

function envOf(h: JobHarness): Record<string, string> {
  const c = h.config;
  return {
    WEIR_DATA_DIR: c.dataDir,
    WEIR_DATABASE_URL: c.database.dialect === 'postgres' ? c.database.url : `sqlite:${c.database.file}`,
    WEIR_JOB_QUEUE_PREFIX: c.jobs.queuePrefix,
    WEIR_BUS_CHANNEL_PREFIX: c.realtime.busChannelPrefix,
    WEIR_TEST_JOB_KINDS: '1',
    ...(c.redisUrl ? { WEIR_REDIS_URL: c.redisUrl } : {}),
  };
}
