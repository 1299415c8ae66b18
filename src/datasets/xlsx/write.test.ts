import { createWriteStream } from 'node:fs';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { xlsxToNdjson } from './read.js';
import { LIMITS, readLines, useScratch } from './test-support.js';
import { writeXlsx } from './write.js';

const { file } = useScratch();

describe('writeXlsx', () => {
  async function* from<T>(items: T[]): AsyncGenerator<T> {
    for (const item of items) yield item;
  }

  async function writeFileXlsx(columns: string[], rows: unknown[][]): Promise<string> {
    const path = file('export.xlsx');
    await writeXlsx(columns, from(rows), createWriteStream(path));
    return path;
  }

  it('round-trips values and neutralizes text that a spreadsheet would run as a formula', async () => {
    const when = new Date(Date.UTC(2023, 11, 31, 23, 59, 59, 500));
    const path = await writeFileXlsx(
      ['n', 'text', '=col', 'flag', 'when'],
      [
        [-5, '=1+1', 'plain', true, when],
        [0, '+x', ' spaced ', false, null],
        [1.5, '-x', null, null, null],
        [2, '@x', '\tx', null, null],
        [3, '\rx', 'a=b', null, null],
        [-7, '-5', { formula: 'SUM(A1:A2)' }, null, null],
        [Number.NaN, 12n, null, null, null],
      ],
    );
    const out = file('out.ndjson');
    const result = await xlsxToNdjson(path, out, LIMITS);
    expect(result).toEqual({ sheet: 'data', columns: ['n', 'text', "'=col", 'flag', 'when'], rows: 7 });
    expect(await readLines(out)).toEqual([
      { n: -5, text: "'=1+1", "'=col": 'plain', flag: true, when: '2023-12-31T23:59:59.500Z' },
      { n: 0, text: "'+x", "'=col": ' spaced ', flag: false, when: null },
      { n: 1.5, text: "'-x", "'=col": null, flag: null, when: null },
      { n: 2, text: "'@x", "'=col": "'\tx", flag: null, when: null },
      // XML parsers turn a carriage return into a line feed: the quote is what matters here.
      { n: 3, text: "'\nx", "'=col": 'a=b', flag: null, when: null },
      { n: -7, text: "'-5", "'=col": '{"formula":"SUM(A1:A2)"}', flag: null, when: null },
      { n: null, text: 12, "'=col": null, flag: null, when: null },
    ]);
  });

  it('keeps memory flat: stops pulling rows while the destination does not drain', async () => {
    const total = 100_000;
    let pulled = 0;
    async function* rows(): AsyncGenerator<unknown[]> {
      for (let i = 0; i < total; i++) {
        pulled++;
        yield [i, `row number ${i} with some text to make it longer`, i % 2 === 0];
      }
    }
    let stalled = true;
    const waiting: (() => void)[] = [];
    let received = 0;
    const out = new Writable({
      highWaterMark: 16 * 1024,
      write(chunk: Buffer, _enc, done) {
        received += chunk.length;
        if (stalled) waiting.push(done);
        else done();
      },
    });
    const writing = writeXlsx(['i', 'text', 'even'], rows(), out);
    // Wait until production settles (it never would if rows were pulled regardless of the destination).
    let settled = -1;
    for (let polls = 0, quiet = 0; polls < 50 && quiet < 4; polls++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      quiet = pulled === settled ? quiet + 1 : 0;
      settled = pulled;
    }
    expect(pulled).toBeLessThan(total / 5);
    expect(received).toBeLessThan(64 * 1024);
    stalled = false;
    for (const done of waiting.splice(0)) done();
    await writing;
    expect(pulled).toBe(total);
    expect(received).toBeGreaterThan(1024 * 1024);
  });

  it('fails and destroys the destination when the rows fail', async () => {
    async function* rows(): AsyncGenerator<unknown[]> {
      yield [1];
      throw new Error('cursor lost');
    }
    const out = new Writable({ write: (_c, _e, done) => done() });
    await expect(writeXlsx(['a'], rows(), out)).rejects.toThrow('cursor lost');
    expect(out.destroyed).toBe(true);
  });

  it('fails when the destination breaks', async () => {
    const out = new Writable({ write: (_c, _e, done) => done(new Error('client went away')) });
    async function* rows(): AsyncGenerator<unknown[]> {
      for (let i = 0; i < 1_000_000; i++) yield [i, 'some text'];
    }
    await expect(writeXlsx(['a', 'b'], rows(), out)).rejects.toThrow('client went away');
  });
});
