import { DelayedError, Queue, Worker, type Job as BullJob } from 'bullmq';
import { Redis } from 'ioredis';
import type { Log } from '../../logger.js';
import type { AttemptStore } from '../attempts.js';
import type { JobRepo } from '../repo.js';
import type { Job } from '../types.js';
import type { Consumer, QueueDriver } from './types.js';

export interface BullmqOptions {
  redisUrl: string;
  /** Key prefix in Redis (WEIR_JOB_QUEUE_PREFIX). */
  prefix: string;
  /** BullMQ lock duration and stalled-check interval. */
  leaseMs: number;
  log: Log;
}

/** Thrown by the processor so that BullMQ schedules the next attempt after exactly the runtime's backoff. */
class RetryLater extends Error {
  constructor(readonly delayMs: number) {
    super('retry later');
    this.name = 'RetryLater';
  }
}

/** Weir's priorities (higher first, any integer) onto BullMQ's (1 first … 2^21). Every job is prioritized. */
const bullPriority = (priority: number) => Math.min(2_097_151, Math.max(1, 1_048_576 - Math.trunc(priority)));

const iso = (ms = Date.now()) => new Date(ms).toISOString();

/** Table rows may be queued without Redis having heard of them (a crash between INSERT and add): resent. */
const RESYNC_MS = 60_000;

/**
 * BullMQ on Redis: one queue per job kind (so concurrency is per kind), Redis carrying only job ids. BullMQ
 * delivers, delays retries by the runtime's backoff, and moves jobs whose worker died (lock expired) back
 * to waiting; the runtime then starts a new, fenced attempt on the row. BullMQ's own attempt limit is set
 * out of reach: the table's attempts decide when a job fails for good.
 */
export class BullmqDriver implements QueueDriver {
  readonly name = 'bullmq' as const;
  private readonly redis: Redis;
  private readonly queues = new Map<string, Queue>();
  private workers: Worker[] = [];
  private resyncTimer: NodeJS.Timeout | null = null;
  private lastResendAt = 0;

  constructor(
    private readonly attempts: AttemptStore,
    private readonly repo: JobRepo,
    private readonly o: BullmqOptions,
  ) {
    this.redis = new Redis(o.redisUrl, { maxRetriesPerRequest: null, lazyConnect: false });
    this.redis.on('error', (err) => o.log.warn({ err }, 'redis connection error (job queue)'));
  }

  private queue(kind: string): Queue {
    let q = this.queues.get(kind);
    if (!q) {
      q = new Queue(kind, { connection: this.redis, prefix: this.o.prefix });
      q.on('error', (err) => this.o.log.warn({ err, kind }, 'job queue error'));
      this.queues.set(kind, q);
    }
    return q;
  }

  async announce(jobs: Job[]): Promise<void> {
    const byKind = new Map<string, Job[]>();
    for (const j of jobs) {
      if (j.status !== 'queued') continue;
      let list = byKind.get(j.kind);
      if (!list) byKind.set(j.kind, (list = []));
      list.push(j);
    }
    const now = Date.now();
    await Promise.all(
      [...byKind].map(([kind, list]) =>
        this.queue(kind).addBulk(
          list.map((j) => ({
            name: kind,
            data: {},
            // The job id is the table's: adding a job Redis already holds is a no-op, so announcing twice is safe.
            opts: {
              jobId: j.id,
              priority: bullPriority(j.priority),
              delay: Math.max(0, Date.parse(j.runAfter) - now),
              attempts: 1_000_000,
              backoff: { type: 'weir' },
              removeOnComplete: true,
              removeOnFail: true,
            },
          })),
        ),
      ),
    );
  }

  async start(consumer: Consumer): Promise<void> {
    for (const { kind, concurrency } of consumer.kinds) {
      const worker = new Worker(kind, (job, token) => this.process(consumer, job, token), {
        // Options rather than a client: BullMQ then owns (and closes) the worker's connections.
        connection: { url: this.o.redisUrl, maxRetriesPerRequest: null },
        prefix: this.o.prefix,
        concurrency,
        lockDuration: this.o.leaseMs,
        stalledInterval: this.o.leaseMs,
        // Stalls are counted by the table's attempts (startDelivered fails a job that ran out of them).
        maxStalledCount: 1_000_000,
        settings: { backoffStrategy: (_made, _type, err) => (err instanceof RetryLater ? err.delayMs : 1000) },
      });
      worker.on('error', (err) => this.o.log.warn({ err, kind }, 'job worker error'));
      this.workers.push(worker);
    }
    await Promise.all(this.workers.map((w) => w.waitUntilReady()));
    this.lastResendAt = Date.now();
    // As often as the embedded driver reclaims: a row whose lease ran out is queued again within half a lease.
    this.resyncTimer = setInterval(() => void this.resync(consumer), Math.max(100, Math.floor(this.o.leaseMs / 2)));
    this.resyncTimer.unref();
  }

  private async process(consumer: Consumer, bullJob: BullJob, token: string | undefined): Promise<null> {
    const id = bullJob.id;
    if (!id) return null;
    const { started, settled } = await this.attempts.startDelivered(
      id,
      consumer.workerId,
      iso(),
      iso(Date.now() + this.o.leaseMs),
    );
    if (settled) consumer.changed([settled]);
    if (!started) return null;
    const outcome = await consumer.run(started);
    if (outcome.status === 'retry') throw new RetryLater(outcome.delayMs);
    if (outcome.status === 'requeued') {
      // Back to Redis without counting an attempt; the table row is `queued` already.
      await bullJob.moveToDelayed(Date.now(), token);
      throw new DelayedError();
    }
    return null;
  }

  /**
   * The table is the record, Redis only the delivery: whatever Redis lost is recovered from the table.
   *  - A `running` row whose lease ran out has no live attempt (its worker died, or Redis lost the job and
   *    with it BullMQ's stalled-job recovery): reclaimed like the embedded driver does, and queued rows sent again.
   *  - Queued rows Redis may never have heard of are resent every RESYNC_MS (adding a job Redis holds is a no-op).
   */
  private async resync(consumer: Consumer): Promise<void> {
    try {
      const reclaimed = await this.attempts.reclaimExpired(iso());
      if (reclaimed.length > 0) {
        this.o.log.warn(
          { jobs: reclaimed.map((j) => ({ id: j.id, status: j.status, attempts: j.attempts })) },
          'reclaimed jobs whose worker stopped renewing its lease',
        );
        consumer.changed(reclaimed);
        await this.announce(reclaimed);
      }
    } catch (err) {
      this.o.log.warn({ err }, 'reclaiming expired job leases failed');
    }
    if (Date.now() - this.lastResendAt < RESYNC_MS) return;
    this.lastResendAt = Date.now();
    try {
      const stale = await this.repo.queuedSince(iso(Date.now() - RESYNC_MS), 1000);
      if (stale.length > 0) await this.announce(stale);
    } catch (err) {
      this.o.log.warn({ err }, 'resending queued jobs to Redis failed');
    }
  }

  async stopDelivering(): Promise<void> {
    if (this.resyncTimer) clearInterval(this.resyncTimer);
    this.resyncTimer = null;
    await Promise.all(this.workers.map((w) => w.pause(true)));
  }

  async ping(): Promise<void> {
    await this.redis.ping();
  }

  async close(): Promise<void> {
    if (this.resyncTimer) clearInterval(this.resyncTimer);
    await Promise.all(this.workers.map((w) => w.close()));
    this.workers = [];
    await Promise.all([...this.queues.values()].map((q) => q.close()));
    this.queues.clear();
    this.redis.disconnect();
  }
}
