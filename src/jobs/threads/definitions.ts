import type { JobDefinition } from '../types.js';
import { testCpuJob } from '../test-kinds.js';

/**
 * The kinds whose handlers can run in a job thread. A thread has no AppContext: these handlers work from
 * their payload alone. A kind with `thread: true` must be listed here too (checked at start-up).
 */
export function threadDefinitions(opts: { testJobKinds: boolean }): JobDefinition[] {
  return opts.testJobKinds ? [testCpuJob] : [];
}
