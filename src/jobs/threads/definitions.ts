import type { JobDefinition } from '../types.js';
import { testCpuJob } from '../test-kinds.js';
import { modelFitThread } from '../../models/fit.js';

/**
 * The kinds whose handlers can run in a job thread. A thread has no AppContext: these handlers work from
 * their payload alone. A kind with `thread: true` must be listed here too (checked at start-up). Some are never
 * queued themselves (`model.fit`): a queued job's handler hands them to the pool through JobSystem.runInThread.
 */
export function threadDefinitions(opts: { testJobKinds: boolean }): JobDefinition[] {
  return [modelFitThread as JobDefinition, ...(opts.testJobKinds ? [testCpuJob] : [])];
}
