import { describe, expect, it } from 'vitest';
import { ProgressThrottle, type ProgressReport } from './progress.js';

describe('ProgressThrottle rounding', () => {
  it('writes percent to one decimal, so a share of a share reads 47.3, not 47.29999…', async () => {
    const writes: ProgressReport[] = [];
    const p = new ProgressThrottle(0, async (r) => {
      writes.push(r);
    });
    p.report((70 * 67.6) / 100, 'converting');
    await new Promise((resolve) => setImmediate(resolve));
    p.report(99.96, 'almost');
    await p.close({ flush: true });
    expect(writes.map((w) => w.percent)).toEqual([47.3, 100]);
  });
});
