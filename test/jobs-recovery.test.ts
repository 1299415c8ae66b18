import { setTimeout as sleep } from 'node:timers/promises';
import { Type } from 'typebox';
import { describe, expect, it } from 'vitest';
import type { JobDefinition } from '../src/jobs/types.js';
import {
  eventually,
  redisAvailable,
  requireRedis,
  sharedDb,
  startJobHarness,
  type DriverName,
} from './helpers/jobs.js';
import { insertJobRow } from './helpers/realtime.js';

/**
 * How the queue recovers from what the happy path never sees: rows whose worker (or Redis) lost them, an
 * attempt still unwinding next to its successor, and a worker woken so often that its poll never came.
 */
const redisUp = await redisAvailable();
const drivers: DriverName[] = redisUp || requireRedis ? ['embedded', 'bullmq'] : ['embedded'];
if (!redisUp && !requireRedis)
  console.warn('jobs recovery: Redis is not reachable on 127.0.0.1:6379; the BullMQ driver is NOT tested in this run');

const Payload = Type.Object({ v: Type.Literal(1) }, { additionalProperties: false });

describe.each(drivers)('expired leases: %s', (driver) => {
  it('a running row nobody renews (its worker gone, its Redis job lost) is reclaimed: run again, cancelled or failed', async () => {
    const h = await startJobHarness(driver, []);
    try {
      const past = new Date(Date.now() - 60_000).toISOString();
      // Rows as a dead worker leaves them: running, the lease long over, and nothing about them in Redis.
      const orphan = async (fields: { cancel_requested?: number; attempts?: number }) => {
        const id = await insertJobRow(h.store.db, { workspaceId: h.workspaceId, status: 'running' });
        await h.store.db
          .updateTable('jobs')
          .set({ worker_id: 'gone-host:1:dead', lease_until: past, updated_at: past, ...fields })
          .where('id', '=', id)
          .execute();
        return id;
      };
      const runAgain = await orphan({});
      const cancel = await orphan({ cancel_requested: 1 });
      const exhausted = await orphan({ attempts: 3 });

      expect(await h.waitFor(runAgain, ['succeeded', 'failed', 'cancelled'], 10_000)).toMatchObject({
        status: 'succeeded',
        attempts: 2,
        result: { ok: true },
      });
      expect(await h.waitFor(cancel, ['succeeded', 'failed', 'cancelled'], 10_000)).toMatchObject({
        status: 'cancelled',
        attempts: 1,
        error: { code: 'cancelled' },
      });
      expect(await h.waitFor(exhausted, ['succeeded', 'failed', 'cancelled'], 10_000)).toMatchObject({
        status: 'failed',
        attempts: 3,
        error: { code: 'worker_lost' },
      });
    } finally {
      await h.close();
    }
  });
});

describe('a stale attempt next to its successor (embedded)', () => {
  it('each attempt holds and frees its own slot: the stale one returning does not hide the running one', async () => {
    const starts: number[] = [];
    let staleReturned = false;
    const definitions = [
      {
        kind: 'r.stale',
        payload: Payload,
        concurrency: 2,
        async handler(_p, ctx) {
          starts.push(ctx.attempt);
          if (ctx.attempt === 1) {
            // Deaf to its signal for a while, like a handler stuck in a step that takes none.
            await sleep(1500);
            staleReturned = true;
            return {};
          }
          await sleep(60_000, undefined, { signal: ctx.signal });
          return {};
        },
      } satisfies JobDefinition<{ v: 1 }>,
    ] as JobDefinition[];
    const h = await startJobHarness('embedded', definitions);
    try {
      const job = await h.enqueue('r.stale', { v: 1 });
      await eventually(() => (starts.includes(1) ? true : undefined), 'attempt 1 to start');
      // What reclaiming an expired lease writes: the row queued again while attempt 1 still runs here.
      await h.store.db
        .updateTable('jobs')
        .set({ status: 'queued', worker_id: null, lease_until: null, run_after: new Date().toISOString() })
        .where('id', '=', job.id)
        .execute();
      await eventually(() => (starts.includes(2) ? true : undefined), 'attempt 2 to start in the same worker');
      await eventually(() => (staleReturned ? true : undefined), 'the stale attempt to return');
      await sleep(50);
      expect(h.system.activeAttempts).toBe(1);
      expect(await h.system.service.get(h.workspaceId, job.id)).toMatchObject({ status: 'running', attempts: 2 });

      // Shutdown still sees attempt 2, aborts it and queues the job again without counting it.
      await h.system.stopWorkers(100);
      expect(await h.system.service.get(h.workspaceId, job.id)).toMatchObject({ status: 'queued', attempts: 1 });
      expect(h.system.activeAttempts).toBe(0);
    } finally {
      await h.close();
    }
  });
});

describe.each(drivers)('an aborted attempt whose handler ignores its signal: %s', (driver) => {
  it('keeps its slot until the handler returns, so the kind never runs more handlers at once than its concurrency', async () => {
    const log: string[] = [];
    const definitions = [
      {
        kind: 'r.deaf',
        payload: Type.Object({ v: Type.Literal(1), tag: Type.String() }, { additionalProperties: false }),
        concurrency: 1,
        async handler(p, _ctx) {
          log.push(`start ${p.tag}`);
          // Longer than the runtime's 2 s abort grace, and deaf to the signal all along.
          if (p.tag === 'a') await sleep(3000);
          log.push(`return ${p.tag}`);
          return {};
        },
      } satisfies JobDefinition<{ v: 1; tag: string }>,
    ] as JobDefinition[];
    const h = await startJobHarness(driver, definitions);
    try {
      const a = await h.enqueue('r.deaf', { v: 1, tag: 'a' }, { timeoutMs: 200, maxAttempts: 1 });
      await h.waitFor(a.id, ['running']);
      const b = await h.enqueue('r.deaf', { v: 1, tag: 'b' });
      expect(await h.waitFor(a.id, ['failed', 'succeeded'])).toMatchObject({
        status: 'failed',
        error: { code: 'timeout' },
      });
      await h.waitFor(b.id, ['succeeded', 'failed'], 10_000);
      expect(log).toEqual(['start a', 'return a', 'start b', 'return b']);
    } finally {
      await h.close();
    }
  });
});

describe('polling under constant wake-ups (embedded)', () => {
  it('a delayed job queued by another process starts within a poll interval of its time, however busy the worker is', async () => {
    const pollMs = 250;
    const definitions = [
      { kind: 'r.later', payload: Payload, handler: () => Promise.resolve({ ran: true }) } satisfies JobDefinition<{
        v: 1;
      }>,
    ] as JobDefinition[];
    const db = await sharedDb('embedded');
    const env = { WEIR_JOB_POLL_INTERVAL: `${pollMs}ms` };
    const worker = await startJobHarness('embedded', definitions, { db, env });
    const other = await startJobHarness('embedded', definitions, { db, env, workers: false });
    let busy = true;
    try {
      // Another kind's jobs arrive far more often than the poll interval: every one wakes the worker.
      const noise = (async () => {
        while (busy) {
          await worker.enqueue('test.noop', { v: 1 });
          await sleep(20);
        }
      })();
      await sleep(300);
      const runAfter = new Date(Date.now() + 300);
      const job = await other.enqueue('r.later', { v: 1 }, { runAfter });
      const done = await other.waitFor(job.id, ['succeeded', 'failed'], 4000).finally(() => (busy = false));
      await noise;
      expect(done.status).toBe('succeeded');
      // Within one poll interval of becoming due (plus the claim and a loaded machine's scheduling).
      expect(Date.parse(done.startedAt!) - runAfter.getTime()).toBeLessThan(pollMs + 500);
    } finally {
      busy = false;
      await other.close();
      await worker.close();
      await db.drop();
    }
  });
});
