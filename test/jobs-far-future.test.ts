import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.js';

/**
 * A job scheduled further ahead than a Node timer can wait (2^31-1 ms, 24.8 days) must not turn the embedded
 * driver's wake-up timer into one that fires every millisecond.
 */
describe('a job scheduled a month ahead', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ WEIR_TEST_JOB_KINDS: '1' });
  });
  afterAll(async () => t?.close());

  it('waits without spinning and stays queued', async () => {
    const spy = vi.spyOn(globalThis, 'setTimeout');
    try {
      const job = await t.context.jobs.enqueue(
        'test.noop',
        { v: 1 },
        { workspaceId: 'ws_default', runAfter: new Date(Date.now() + 30 * 86_400_000) },
      );
      await new Promise((r) => setTimeout(r, 300));
      // Long timers armed meanwhile: one wake-up timer. One armed beyond Node's limit fires after 1 ms and is
      // armed again, hundreds of times in 300 ms.
      const long = spy.mock.calls.filter(([, delay]) => typeof delay === 'number' && delay >= 60_000);
      expect(long.length).toBeLessThanOrEqual(2);
      expect(long.every(([, delay]) => (delay as number) <= 2 ** 31 - 1)).toBe(true);
      expect((await t.context.jobs.get('ws_default', job.id)).status).toBe('queued');
    } finally {
      spy.mockRestore();
    }
  });
});
