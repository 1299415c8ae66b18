/**
 * The module a job thread loads: the `weir` entry point itself (main.ts sets it to its own URL at start-up;
 * recognizing the thread's workerData it runs the thread loop instead of the CLI). Tests that run from the
 * TypeScript sources point it at the built bin, dist/weir.mjs. Unset, thread kinds run on the main thread.
 */
let entry: URL | null = null;

export function setJobThreadEntry(url: URL | null): void {
  entry = url;
}

export function jobThreadEntry(): URL | null {
  return entry;
}
