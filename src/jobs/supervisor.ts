import { spawn, type ChildProcess } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import type { LinkedEventBus } from '../bus/process-link.js';
import { isBusLinkMessage } from '../bus/process-link.js';
import type { Config } from '../config.js';
import type { Log } from '../logger.js';
import type { AttemptStore } from './attempts.js';
import type { JobEvents } from './events.js';
import type { Job, JobError } from './types.js';
import { messageType, type FromWorker, type ToWorker } from './worker-protocol.js';

export interface SupervisorOptions {
  config: Config;
  log: Log;
  /** The `weir` entry point the worker process runs (`weir supervised-worker`). */
  entry: URL;
  attempts: AttemptStore;
  events: JobEvents;
  /** The API side of the event bus link; null when events travel through Redis. */
  bus: LinkedEventBus | null;
  /** Where the worker's log lines go (each a complete pino JSON line): the server's own log stream. */
  writeLog(line: string): void;
  /** The queue drivers that need to hear of jobs queued again (embedded: the worker claims them itself). */
  requeued?(jobs: Job[]): void;
  /** Tests: how often the worker's memory is sampled (default 500 ms). */
  memoryPollMs?: number;
}

/** What the supervisor knows of the worker process now: `GET /system/info`, metrics and tests read it. */
export interface WorkerStatus {
  state: 'starting' | 'running' | 'restarting' | 'stopped';
  pid: number | null;
  /** Worker processes started so far (1 after the first start). */
  starts: number;
  /** Unexpected exits, by cause. */
  exits: { memory: number; crashed: number };
  /** The last unexpected exit, for operators. */
  lastExit: { at: string; cause: string } | null;
  /** Resident memory of the worker at the last sample, in bytes (Linux; null elsewhere). */
  rssBytes: number | null;
}

/** Restart delays after unexpected exits in a row: a worker that dies at once is not restarted in a tight loop. */
const RESTART_DELAYS_MS = [250, 1000, 2000, 5000, 10_000, 30_000];
/** A worker that ran this long is healthy again: the next unexpected exit restarts it after the first delay. */
const STABLE_AFTER_MS = 60_000;
/** Jobs a dead worker held run again after this pause (never at once: the next one may hit the same cause). */
const REQUEUE_DELAY_MS = 1000;
/**
 * What a stopping worker may take beyond the running jobs' shutdown time to close its database and engine. Longer
 * than `weir serve`'s own bound for closing (src/serve.ts CLOSE_TIMEOUT_MS): when a backing service hangs both, the
 * server's bound ends the server with its error, and the worker then ends itself (its channel closes).
 */
const STOP_GRACE_MS = 12_000;
/** The tail of the worker's stderr kept for the log line of an unexpected exit (a fatal V8 or native error). */
const STDERR_TAIL_BYTES = 4096;

/**
 * `weir serve` runs job attempts in a worker process it starts and restarts, never in the API process: a job that
 * exhausts memory or crashes in native code costs that job an attempt, not the API. The supervisor:
 *  - starts the worker (`weir supervised-worker`) with the server's configuration, and restarts it after an
 *    unexpected exit with a growing delay;
 *  - watches the worker's resident memory and kills it past WEIR_WORKER_MEMORY_LIMIT, before the kernel's
 *    out-of-memory killer picks a process (and asks the kernel to pick the worker first when it does);
 *  - settles the jobs a dead worker held at once (queued again after a pause, or failed `worker_lost` when their
 *    attempts are used up: such a job is quarantined and runs again only when a client retries it);
 *  - relays the event bus and the queue's wake-ups over IPC in embedded mode.
 * Readiness never waits for the worker: the API answers while the worker starts or restarts.
 */
export class WorkerSupervisor {
  private child: ChildProcess | null = null;
  private workerId: string | null = null;
  private stopping = false;
  private restartTimer: NodeJS.Timeout | null = null;
  private memoryTimer: NodeJS.Timeout | null = null;
  private failuresInARow = 0;
  private startedAt = 0;
  /** Why the supervisor killed the current worker, if it did (the exit handler words the jobs' error with it). */
  private killedFor: string | null = null;
  private exited: Promise<void> = Promise.resolve();
  private readyWaiters: (() => void)[] = [];
  private nextMetricsRequest = 1;
  private readonly metricsRequests = new Map<number, (metrics: unknown[]) => void>();
  readonly status: WorkerStatus = {
    state: 'stopped',
    pid: null,
    starts: 0,
    exits: { memory: 0, crashed: 0 },
    lastExit: null,
    rssBytes: null,
  };

  constructor(private readonly o: SupervisorOptions) {}

  start(): void {
    this.stopping = false;
    this.spawn();
  }

  /** Resolves once a worker has said it takes jobs (tests; nothing in the server waits for it). */
  whenReady(): Promise<void> {
    if (this.status.state === 'running') return Promise.resolve();
    return new Promise((resolve) => this.readyWaiters.push(resolve));
  }

  private spawn(): void {
    const { config, log } = this.o;
    this.status.state = 'starting';
    this.killedFor = null;
    this.workerId = null;
    const child = spawn(process.execPath, [fileURLToPath(this.o.entry), 'supervised-worker'], {
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'advanced',
    });
    this.child = child;
    this.startedAt = Date.now();
    this.status.starts++;
    this.status.pid = child.pid ?? null;
    log.info({ pid: child.pid }, 'job worker process starting');

    createInterface({ input: child.stdout!, crlfDelay: Infinity }).on('line', (line) => this.o.writeLog(line));
    let stderrTail = '';
    child.stderr!.on('data', (d: Buffer) => {
      stderrTail = (stderrTail + d.toString('utf8')).slice(-STDERR_TAIL_BYTES);
      process.stderr.write(d);
    });
    child.on('message', (m: unknown) => this.onMessage(child, m));
    child.on('error', (err) => log.error({ err }, 'job worker process could not be started'));
    let exitedResolve!: () => void;
    this.exited = new Promise((resolve) => (exitedResolve = resolve));
    child.once('exit', (code, signal) => {
      void this.onExit(child, code, signal, stderrTail).finally(exitedResolve);
    });
    if (child.pid !== undefined) void preferForOomKill(child.pid);
    this.send({ type: 'start', config });
    this.watchMemory(child);
  }

  private onMessage(child: ChildProcess, m: unknown): void {
    if (child !== this.child) return;
    const type = messageType(m);
    if (type === null) return;
    const message = m as FromWorker;
    if (isBusLinkMessage(message)) {
      this.o.bus?.receive(message);
      return;
    }
    switch (message.type) {
      case 'ready':
        this.workerId = message.workerId;
        this.status.state = 'running';
        this.o.bus?.attach((bm) => this.send(bm));
        this.o.log.info({ pid: child.pid, workerId: message.workerId }, 'job worker process ready');
        for (const resolve of this.readyWaiters.splice(0)) resolve();
        return;
      case 'metrics':
        this.metricsRequests.get(message.requestId)?.(message.metrics);
        this.metricsRequests.delete(message.requestId);
        return;
    }
  }

  private send(m: ToWorker): void {
    const child = this.child;
    if (!child?.connected) return;
    // An IPC channel closing mid-send reports through the callback; the exit handler deals with the worker.
    child.send(m, (err) => {
      if (err && child === this.child && child.connected)
        this.o.log.warn({ err, type: m.type }, 'message to the job worker process not sent');
    });
  }

  /** Jobs queued in the API: the worker claims them now instead of at its next poll. */
  announce(jobs: Job[]): void {
    if (jobs.length > 0) this.send({ type: 'announce', jobs });
  }

  /** The worker's metrics as prom-client JSON (empty while it is not running or does not answer in time). */
  async metrics(timeoutMs = 2000): Promise<unknown[]> {
    if (this.status.state !== 'running') return [];
    const requestId = this.nextMetricsRequest++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.metricsRequests.delete(requestId);
        resolve([]);
      }, timeoutMs);
      this.metricsRequests.set(requestId, (metrics) => {
        clearTimeout(timer);
        resolve(metrics);
      });
      this.send({ type: 'metrics', requestId });
    });
  }

  private watchMemory(child: ChildProcess): void {
    const limit = this.o.config.worker.memoryLimitBytes;
    const pid = child.pid;
    if (pid === undefined) return;
    if (this.memoryTimer) clearInterval(this.memoryTimer);
    this.memoryTimer = setInterval(() => {
      void residentBytes(pid).then((rss) => {
        if (child !== this.child) return;
        this.status.rssBytes = rss;
        if (rss === null || rss <= limit || this.killedFor) return;
        this.killedFor = `it used ${mib(rss)} of memory, more than WEIR_WORKER_MEMORY_LIMIT (${mib(limit)})`;
        this.o.log.error(
          { pid, rssBytes: rss, limitBytes: limit },
          'job worker process passed its memory limit; killing it',
        );
        child.kill('SIGKILL');
      });
    }, this.o.memoryPollMs ?? 500);
    this.memoryTimer.unref();
  }

  private async onExit(
    child: ChildProcess,
    code: number | null,
    signal: NodeJS.Signals | null,
    stderrTail: string,
  ): Promise<void> {
    if (child !== this.child) return;
    if (this.memoryTimer) clearInterval(this.memoryTimer);
    this.memoryTimer = null;
    this.o.bus?.attach(null);
    for (const resolve of this.metricsRequests.values()) resolve([]);
    this.metricsRequests.clear();
    this.child = null;
    this.status.pid = null;
    this.status.rssBytes = null;
    const workerId = this.workerId;
    if (this.stopping && code === 0) {
      this.status.state = 'stopped';
      return;
    }
    const cause = this.killedFor ?? describeExit(code, signal);
    this.status.lastExit = { at: new Date().toISOString(), cause };
    if (this.killedFor) this.status.exits.memory++;
    else this.status.exits.crashed++;
    this.o.log.error(
      { code, signal, cause, stderr: stderrTail.trim().split('\n').slice(-5).join('\n') || undefined },
      'job worker process exited unexpectedly',
    );
    if (workerId) await this.releaseJobsOf(workerId, cause);
    if (this.stopping) {
      this.status.state = 'stopped';
      return;
    }
    this.scheduleRestart();
  }

  private async releaseJobsOf(workerId: string, cause: string): Promise<void> {
    const now = Date.now();
    const lost = (final: boolean): JobError => ({
      code: 'worker_lost',
      message: final
        ? `The worker process running this job exited (${cause}) and the job has no attempts left; it runs again only when retried`
        : `The worker process running this job exited (${cause}); the job was queued again`,
    });
    try {
      const jobs = await this.o.attempts.releaseWorker(
        workerId,
        { retrying: lost(false), final: lost(true) },
        new Date(now).toISOString(),
        new Date(now + REQUEUE_DELAY_MS).toISOString(),
      );
      if (jobs.length === 0) return;
      this.o.log.warn(
        { jobs: jobs.map((j) => ({ id: j.id, kind: j.kind, status: j.status, attempts: j.attempts })) },
        'settled the jobs of the worker process that exited',
      );
      for (const job of jobs) this.o.events.state(job);
      this.o.requeued?.(jobs.filter((j) => j.status === 'queued'));
    } catch (err) {
      // Their leases run out in time and the next worker reclaims them.
      this.o.log.error({ err, workerId }, 'could not settle the jobs of the worker process that exited');
    }
  }

  private scheduleRestart(): void {
    if (Date.now() - this.startedAt >= STABLE_AFTER_MS) this.failuresInARow = 0;
    const delayMs = RESTART_DELAYS_MS[Math.min(this.failuresInARow, RESTART_DELAYS_MS.length - 1)]!;
    this.failuresInARow++;
    this.status.state = 'restarting';
    this.o.log.info({ delayMs }, 'restarting the job worker process');
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      if (!this.stopping) this.spawn();
    }, delayMs);
  }

  /**
   * Graceful stop: the worker takes no new jobs; running ones get `timeoutMs` to finish, then are queued again
   * (the attempt not counted). A worker that does not exit in time is killed and its jobs settled as lost.
   */
  async stop(timeoutMs: number): Promise<void> {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = null;
    const child = this.child;
    if (!child) {
      this.status.state = 'stopped';
      return;
    }
    this.send({ type: 'stop', timeoutMs });
    const killer = setTimeout(() => {
      this.o.log.error({ pid: child.pid }, 'job worker process did not stop in time; killing it');
      child.kill('SIGKILL');
    }, timeoutMs + STOP_GRACE_MS);
    try {
      await this.exited;
    } finally {
      clearTimeout(killer);
    }
  }
}

function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  if (signal === 'SIGKILL') return 'killed by SIGKILL, most likely by the kernel for lack of memory';
  if (signal) return `killed by ${signal}`;
  // V8 aborts with 134 (SIGABRT) when the JavaScript heap is exhausted; Node exits with 7/1 on uncaught errors.
  if (code === 134) return 'aborted (exit code 134): the JavaScript heap was exhausted or native code failed';
  return `exit code ${code}`;
}

const mib = (bytes: number) => `${Math.round(bytes / 1024 ** 2)} MiB`;

/** Resident set size of a process from /proc (Linux); null where that cannot be read. */
async function residentBytes(pid: number): Promise<number | null> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const kib = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1];
    return kib === undefined ? null : Number(kib) * 1024;
  } catch {
    return null;
  }
}

/**
 * When memory runs out, Linux's out-of-memory killer picks the process with the highest score: the worker is
 * made its first choice, so the API survives even a burst of memory the sampling above does not catch in time.
 * Raising a process's own score needs no privilege; elsewhere this does nothing.
 */
async function preferForOomKill(pid: number): Promise<void> {
  try {
    await writeFile(`/proc/${pid}/oom_score_adj`, '1000');
  } catch {
    // Not Linux, or /proc is read-only here: the memory limit above still applies.
  }
}
