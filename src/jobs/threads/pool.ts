import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { JobFailure } from '../errors.js';
import type { FromThread, JobThreadData, ThreadJobInfo, ToThread } from './protocol.js';

interface Task {
  taskId: number;
  payload: unknown;
  info: ThreadJobInfo;
  signal: AbortSignal;
  onProgress(percent: number, message?: string, data?: unknown): void;
  resolve(result: unknown): void;
  reject(e: unknown): void;
}

interface Slot {
  worker: Worker;
  task: Task | null;
}

/**
 * A small pool of job threads (cores − 1, at least one). Threads start on first use and are kept; a task
 * waits when all are busy. Aborting a task terminates its thread (a CPU-bound handler cannot check a
 * signal) and a fresh thread takes its place on the next task.
 */
export class ThreadPool {
  private readonly slots = new Set<Slot>();
  private readonly waiting: Task[] = [];
  private nextTaskId = 1;
  private closed = false;

  constructor(
    private readonly entry: URL,
    private readonly data: JobThreadData,
    private readonly size = Math.max(1, availableParallelism() - 1),
  ) {}

  run(payload: unknown, info: ThreadJobInfo, signal: AbortSignal, onProgress: Task['onProgress']): Promise<unknown> {
    if (this.closed) return Promise.reject(new Error('thread pool closed'));
    if (signal.aborted) return Promise.reject(signal.reason as Error);
    return new Promise((resolve, reject) => {
      const task: Task = { taskId: this.nextTaskId++, payload, info, signal, onProgress, resolve, reject };
      signal.addEventListener('abort', () => this.abort(task), { once: true });
      this.waiting.push(task);
      this.dispatch();
    });
  }

  private dispatch(): void {
    while (this.waiting.length > 0) {
      let slot = [...this.slots].find((s) => s.task === null);
      if (!slot && this.slots.size < this.size) slot = this.spawn();
      if (!slot) return;
      const task = this.waiting.shift()!;
      slot.task = task;
      const message: ToThread = { type: 'run', taskId: task.taskId, payload: task.payload, info: task.info };
      slot.worker.postMessage(message);
    }
  }

  private spawn(): Slot {
    const worker = new Worker(this.entry, { workerData: this.data });
    const slot: Slot = { worker, task: null };
    this.slots.add(slot);
    worker.unref();
    worker.on('message', (m: FromThread) => {
      const task = slot.task;
      if (!task || task.taskId !== m.taskId) return;
      if (m.type === 'progress') {
        task.onProgress(m.percent, m.message, m.data);
        return;
      }
      slot.task = null;
      if (m.type === 'done') task.resolve(m.result);
      else task.reject(new JobFailure(m.error.code, m.error.message, m.retryable, m.error.details));
      this.dispatch();
    });
    const gone = (err: unknown) => {
      if (!this.slots.delete(slot)) return;
      const task = slot.task;
      slot.task = null;
      if (task && !task.signal.aborted)
        task.reject(err instanceof Error ? err : new Error(`job thread exited (${String(err)})`));
      this.dispatch();
    };
    worker.on('error', gone);
    worker.on('exit', (code) => gone(new Error(`job thread exited with code ${code}`)));
    return slot;
  }

  private abort(task: Task): void {
    const queued = this.waiting.indexOf(task);
    if (queued !== -1) this.waiting.splice(queued, 1);
    for (const slot of this.slots) {
      if (slot.task !== task) continue;
      this.slots.delete(slot);
      slot.task = null;
      void slot.worker.terminate();
    }
    task.reject(task.signal.reason);
    this.dispatch();
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.waiting.splice(0)) t.reject(new Error('thread pool closed'));
    await Promise.all([...this.slots].map((s) => s.worker.terminate()));
    this.slots.clear();
  }
}
