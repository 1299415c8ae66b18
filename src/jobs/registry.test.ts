import { Type } from 'typebox';
import { describe, expect, it } from 'vitest';
import { ProgressThrottle, type ProgressReport } from './progress.js';
import { JobRegistry } from './registry.js';
import type { JobDefinition } from './types.js';

const def = (kind: string, extra: Partial<JobDefinition> = {}): JobDefinition => ({
  kind,
  payload: Type.Object({ v: Type.Literal(1), n: Type.Integer() }, { additionalProperties: false }),
  handler: () => Promise.resolve(null),
  ...extra,
});

describe('JobRegistry', () => {
  it('fills defaults and validates payloads with pointers under /payload', () => {
    const r = new JobRegistry([def('a.b', { concurrency: 4 })]);
    expect(r.get('a.b')).toMatchObject({
      kind: 'a.b',
      maxAttempts: 3,
      timeoutMs: 600_000,
      concurrency: 4,
      backoffMs: 1000,
    });
    expect(r.get('a.b')!.validate({ v: 1, n: 2 })).toEqual([]);
    expect(
      r
        .get('a.b')!
        .validate({ v: 1, n: 'x' })
        .map((e) => e.pointer),
    ).toEqual(['/payload/n']);
  });
  it('refuses a duplicate kind, a missing handler, a bad name or a bad setting at start-up', () => {
    expect(() => new JobRegistry([def('a'), def('a')])).toThrow("job kind 'a' is registered twice");
    expect(() => new JobRegistry([{ ...def('b'), handler: undefined as never }])).toThrow(
      "job kind 'b' has no handler",
    );
    expect(() => new JobRegistry([def('Bad Kind')])).toThrow('not a valid kind name');
    expect(() => new JobRegistry([def('c', { concurrency: 0 })])).toThrow('concurrency must be a positive integer');
  });
});

describe('ProgressThrottle', () => {
  it('writes at most once per interval, latest wins, never backwards, and flushes the last report on close', async () => {
    const writes: ProgressReport[] = [];
    const p = new ProgressThrottle(10_000, async (r) => {
      writes.push(r);
    });
    p.report(10, 'a');
    p.report(50, 'b');
    p.report(30, 'c');
    p.report(250, 'd', { x: 1 });
    await p.close({ flush: true });
    expect(writes).toEqual([
      { percent: 10, message: 'a', data: null },
      { percent: 100, message: 'd', data: { x: 1 } },
    ]);
    p.report(100, 'after close');
    expect(writes).toHaveLength(2);
  });
});
