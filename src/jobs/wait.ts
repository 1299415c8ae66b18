import { setTimeout as sleep } from 'node:timers/promises';
import { isFinished, type JobStatus } from './types.js';

/**
 * Reads something that follows a job (the job itself, a pipeline run, a storage sweep) until its status is final,
 * `timeoutMs` has passed or `signal` aborts (the client hung up), and answers it as it is then. Polls from 50 ms
 * backing off to 1 s: what `?wait=true` routes answer with.
 */
export async function waitUntilFinished<T extends { status: JobStatus }>(read: () => Promise<T>, timeoutMs: number, signal?: AbortSignal): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let delay = 50;
  for (;;) {
    const current = await read();
    if (isFinished(current.status) || Date.now() >= deadline || signal?.aborted) return current;
    await sleep(Math.min(delay, Math.max(1, deadline - Date.now())));
    delay = Math.min(1000, Math.round(delay * 1.5));
  }
}
