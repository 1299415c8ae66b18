import { parentPort } from 'node:worker_threads';
import type { LogLevel } from '../../config.js';
import { createLogger } from '../../logger.js';
import { classifyFailure } from '../errors.js';
import type { JobDefinition } from '../types.js';
import { threadDefinitions } from './definitions.js';
import type { FromThread, JobThreadData, ToThread } from './protocol.js';

/**
 * The loop of one job thread: runs one task at a time and reports progress, result or failure to the pool.
 * Aborting is done by the pool terminating the thread, which works even while a handler hogs the CPU.
 */
export function runJobThread(data: JobThreadData): void {
  const port = parentPort;
  if (!port) throw new Error('runJobThread outside a worker thread');
  const log = createLogger(data.logLevel as LogLevel);
  const byKind = new Map<string, JobDefinition>(
    threadDefinitions({ testJobKinds: data.testJobKinds }).map((d) => [d.kind, d]),
  );
  const post = (m: FromThread) => port.postMessage(m);
  port.on('message', (m: ToThread) => {
    const def = byKind.get(m.info.kind);
    const never = new AbortController().signal;
    const run = async () => {
      if (!def) throw new Error(`job kind '${m.info.kind}' is not available in job threads`);
      return def.handler(m.payload, {
        ...m.info,
        signal: never,
        log: log.child({ jobId: m.info.jobId, kind: m.info.kind, workspaceId: m.info.workspaceId, thread: true }),
        progress: (percent, message, progressData) =>
          post({ type: 'progress', taskId: m.taskId, percent, message, data: progressData }),
      });
    };
    run().then(
      (result) => post({ type: 'done', taskId: m.taskId, result }),
      (e: unknown) => {
        const { error, retryable } = classifyFailure(e);
        if (error.code === 'internal') log.error({ err: e, jobId: m.info.jobId }, 'job handler failed in a thread');
        post({ type: 'failed', taskId: m.taskId, error, retryable });
      },
    );
  });
}
