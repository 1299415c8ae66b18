import { isFinished, type JobStatus } from './types.js';

/**
 * Reads something that follows a job (the job itself, a pipeline run, a storage sweep) until its status is final,
 * `timeoutMs` has passed or `signal` aborts (the client hung up), and answers it as it is then. Polls from 50 ms
 * backing off to 1 s; `onChange`, when given, subscribes to news of it (e.g. the job's state events) and each news
 * reads it again at once. What `?wait=true` routes answer with.
 */
export async function waitUntilFinished<T extends { status: JobStatus }>(
  read: () => Promise<T>,
  timeoutMs: number,
  signal?: AbortSignal,
  onChange?: (notify: () => void) => () => void,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let delay = 50;
  // News that came while reading: the next sleep is skipped, so none is lost between a read and a sleep.
  let news = false;
  let wake: (() => void) | null = null;
  const unsubscribe = onChange?.(() => {
    news = true;
    wake?.();
  });
  try {
    for (;;) {
      news = false;
      const current = await read();
      if (isFinished(current.status) || Date.now() >= deadline || signal?.aborted) return current;
      if (!news) {
        await new Promise<void>((resolve) => {
          const done = () => {
            clearTimeout(timer);
            signal?.removeEventListener('abort', done);
            wake = null;
            resolve();
          };
          const timer = setTimeout(done, Math.min(delay, Math.max(1, deadline - Date.now())));
          signal?.addEventListener('abort', done, { once: true });
          wake = done;
        });
      }
      delay = Math.min(1000, Math.round(delay * 1.5));
    }
  } finally {
    unsubscribe?.();
  }
}
