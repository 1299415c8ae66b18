import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Value } from 'typebox/value';
import { Engine } from '../../engine/duckdb.js';
import { resampleStep, type ResampleStep } from './resample.js';
import { countStep, runStep } from './testing.js';

const step = (fields: Partial<ResampleStep>): ResampleStep => ({
  type: 'resample',
  time: 'ts',
  every: '1h',
  aggregations: { x: 'sum' },
  ...fields,
});
const run = (fields: Partial<ResampleStep>, sql: string) => runStep(resampleStep, step(fields), { sql });

// Hours 00, 01 and 03 of 2024-01-01 UTC have rows; the row without a time belongs to no bucket.
const HOURLY = `SELECT ts::TIMESTAMPTZ AS ts, x, y, label FROM (VALUES
  ('2024-01-01 00:10:00+00', 1, 2.0::DOUBLE, 'a'), ('2024-01-01 00:50:00+00', 3, 4.0, 'b'), ('2024-01-01 01:20:00+00', NULL, 6.0, 'c'),
  ('2024-01-01 03:59:00+00', 20, 8.0, 'e'), ('2024-01-01 03:05:00+00', 10, NULL, 'd'), (NULL, 100, 100.0, 'z')
) v(ts, x, y, label)`;
const H = (hour: string) => `2024-01-01T${hour}:00:00.000Z`;

describe('resample step: aggregations', () => {
  it.each([
    ['mean', [2, null, 15]],
    ['sum', [4, null, 30]],
    ['min', [1, null, 10]],
    ['max', [3, null, 20]],
    ['count', [2, 0, 2]],
    ['first', [1, null, 10]],
    ['last', [3, null, 20]],
    ['median', [2, null, 15]],
  ] as const)('%s per hour, time order for first/last, null times left out', async (aggregation, expected) => {
    const { rows, columns } = await run({ aggregations: { x: aggregation } }, HOURLY);
    expect(columns.map((c) => `${c.name}:${c.type}`)[0]).toBe('ts:TIMESTAMP WITH TIME ZONE');
    expect(rows).toEqual([
      { ts: H('00'), x: expected[0] },
      { ts: H('01'), x: expected[1] },
      { ts: H('03'), x: expected[2] },
    ]);
  });

  it('several columns at once; first/last of text by time', async () => {
    const { rows, columns } = await run(
      { every: '2h', aggregations: { label: 'last', y: 'mean', x: 'first' } },
      HOURLY,
    );
    expect(columns.map((c) => c.name)).toEqual(['ts', 'label', 'y', 'x']);
    expect(rows).toEqual([
      { ts: H('00'), label: 'c', y: 4, x: 1 },
      { ts: H('02'), label: 'e', y: 8, x: 10 },
    ]);
  });

  it('15-minute buckets', async () => {
    const { rows } = await run({ every: '15m', aggregations: { label: 'count' } }, HOURLY);
    expect(rows).toEqual([
      { ts: '2024-01-01T00:00:00.000Z', label: 1 },
      { ts: '2024-01-01T00:45:00.000Z', label: 1 },
      { ts: '2024-01-01T01:15:00.000Z', label: 1 },
      { ts: '2024-01-01T03:00:00.000Z', label: 1 },
      { ts: '2024-01-01T03:45:00.000Z', label: 1 },
    ]);
  });

  it('empty input: no rows, with or without fill', async () => {
    expect((await run({}, `${HOURLY} WHERE false`)).rows).toEqual([]);
    expect((await run({ fill: 'linear' }, `${HOURLY} WHERE false`)).rows).toEqual([]);
    expect((await run({ fill: 'zero', groupBy: ['label'] }, `${HOURLY} WHERE false`)).rows).toEqual([]);
  });
});

// Per group g: 'a' on Jan 1 and 4, 'b' on Jan 2 only, null on Jan 1 and 3.
const DAILY = `SELECT * FROM (VALUES
  (DATE '2024-01-04', 'a', 40, 'p'), (DATE '2024-01-01', 'a', 10, 'q'), (DATE '2024-01-02', 'b', 5, 'r'),
  (DATE '2024-01-03', NULL, 3, 's'), (DATE '2024-01-01', NULL, 1, 't'), (DATE '2024-01-01', NULL, NULL, 'u')
) v(ts, g, x, label)`;
const D = (day: number) => `2024-01-0${day}T00:00:00.000Z`;
const daily = async (fill: ResampleStep['fill']) =>
  (await run({ every: '1d', groupBy: ['g'], fill, aggregations: { x: 'sum', label: 'count' } }, DAILY)).rows.map(
    (r) => [r.ts, r.g, r.x, r.label],
  );

describe('resample step: fill', () => {
  it("'none' (default): only buckets with rows, ordered by group (nulls last) then time", async () => {
    expect(await daily(undefined)).toEqual([
      [D(1), 'a', 10, 1],
      [D(4), 'a', 40, 1],
      [D(2), 'b', 5, 1],
      [D(1), null, 1, 2],
      [D(3), null, 3, 1],
    ]);
  });

  it("'null': missing buckets between each group's first and last bucket, null values, count 0", async () => {
    expect(await daily('null')).toEqual([
      [D(1), 'a', 10, 1],
      [D(2), 'a', null, 0],
      [D(3), 'a', null, 0],
      [D(4), 'a', 40, 1],
      [D(2), 'b', 5, 1],
      [D(1), null, 1, 2],
      [D(2), null, null, 0],
      [D(3), null, 3, 1],
    ]);
  });

  it("'zero'", async () => {
    expect(await daily('zero')).toEqual([
      [D(1), 'a', 10, 1],
      [D(2), 'a', 0, 0],
      [D(3), 'a', 0, 0],
      [D(4), 'a', 40, 1],
      [D(2), 'b', 5, 1],
      [D(1), null, 1, 2],
      [D(2), null, 0, 0],
      [D(3), null, 3, 1],
    ]);
  });

  it("'forward'", async () => {
    expect(await daily('forward')).toEqual([
      [D(1), 'a', 10, 1],
      [D(2), 'a', 10, 0],
      [D(3), 'a', 10, 0],
      [D(4), 'a', 40, 1],
      [D(2), 'b', 5, 1],
      [D(1), null, 1, 2],
      [D(2), null, 1, 0],
      [D(3), null, 3, 1],
    ]);
  });

  it("'linear': by bucket position, as DOUBLE", async () => {
    expect(await daily('linear')).toEqual([
      [D(1), 'a', 10, 1],
      [D(2), 'a', 20, 0],
      [D(3), 'a', 30, 0],
      [D(4), 'a', 40, 1],
      [D(2), 'b', 5, 1],
      [D(1), null, 1, 2],
      [D(2), null, 2, 0],
      [D(3), null, 3, 1],
    ]);
    const { columns } = await run({ every: '1d', fill: 'linear', aggregations: { x: 'sum', label: 'count' } }, DAILY);
    expect(columns.map((c) => c.type)).toEqual(['TIMESTAMP WITH TIME ZONE', 'DOUBLE', 'BIGINT']);
  });

  it('only added buckets are filled: a bucket whose aggregate is null keeps it; forward skips it', async () => {
    const sql =
      "SELECT * FROM (VALUES (DATE '2024-01-01', 7), (DATE '2024-01-02', NULL), (DATE '2024-01-04', 9)) v(ts, x)";
    const { rows } = await run({ every: '1d', fill: 'forward' }, sql);
    expect(rows.map((r) => r.x)).toEqual([7, null, 7, 9]);
  });

  it('forward fills non-numeric aggregates; zero and linear refuse them', async () => {
    const { rows } = await run({ every: '1d', fill: 'forward', aggregations: { label: 'min' } }, DAILY);
    expect(rows.map((r) => [r.ts, r.label])).toEqual([
      [D(1), 'q'],
      [D(2), 'r'],
      [D(3), 's'],
      [D(4), 'p'],
    ]);
    for (const fill of ['zero', 'linear'] as const) {
      await expect(run({ every: '1d', fill, aggregations: { x: 'sum', label: 'min' } }, DAILY)).rejects.toMatchObject({
        status: 400,
        errors: [
          {
            pointer: '/steps/0/aggregations/label',
            message: `fill '${fill}' needs numbers, and min of 'label' is VARCHAR`,
          },
        ],
      });
    }
  });
});

describe('resample step: time zones', () => {
  const tz = (rows: string[], extra = '') =>
    `SELECT ts::TIMESTAMPTZ AS ts, x${extra} FROM (VALUES ${rows.join(', ')}) v(ts, x)`;

  it('Europe/Berlin days start at local midnight across the March change (23-hour day)', async () => {
    const sql = tz([
      "('2024-03-30 22:30:00+00', 1)",
      "('2024-03-30 23:30:00+00', 2)",
      "('2024-03-31 21:30:00+00', 3)",
      "('2024-03-31 22:30:00+00', 4)",
    ]);
    const { rows } = await run({ every: '1d', timezone: 'Europe/Berlin' }, sql);
    expect(rows).toEqual([
      { ts: '2024-03-29T23:00:00.000Z', x: 1 },
      { ts: '2024-03-30T23:00:00.000Z', x: 5 },
      { ts: '2024-03-31T22:00:00.000Z', x: 4 },
    ]);
  });

  it('Europe/Berlin days start at local midnight across the October change (25-hour day)', async () => {
    const sql = tz([
      "('2024-10-26 21:30:00+00', 1)",
      "('2024-10-26 22:30:00+00', 2)",
      "('2024-10-27 22:30:00+00', 3)",
      "('2024-10-27 23:30:00+00', 4)",
    ]);
    const { rows } = await run({ every: '1d', timezone: 'Europe/Berlin' }, sql);
    expect(rows).toEqual([
      { ts: '2024-10-25T22:00:00.000Z', x: 1 },
      { ts: '2024-10-26T22:00:00.000Z', x: 5 },
      { ts: '2024-10-27T23:00:00.000Z', x: 4 },
    ]);
  });

  it('the same rows in UTC days', async () => {
    const sql = tz([
      "('2024-10-26 21:30:00+00', 1)",
      "('2024-10-26 22:30:00+00', 2)",
      "('2024-10-27 22:30:00+00', 3)",
      "('2024-10-27 23:30:00+00', 4)",
    ]);
    expect((await run({ every: '1d' }, sql)).rows).toEqual([
      { ts: '2024-10-26T00:00:00.000Z', x: 3 },
      { ts: '2024-10-27T00:00:00.000Z', x: 7 },
    ]);
  });

  it('added days across the March change are local midnights too', async () => {
    const sql = tz(["('2024-03-29 12:00:00+00', 1)", "('2024-04-02 12:00:00+00', 5)"]);
    const { rows } = await run({ every: '1d', timezone: 'Europe/Berlin', fill: 'linear' }, sql);
    expect(rows).toEqual([
      { ts: '2024-03-28T23:00:00.000Z', x: 1 },
      { ts: '2024-03-29T23:00:00.000Z', x: 2 },
      { ts: '2024-03-30T23:00:00.000Z', x: 3 },
      { ts: '2024-03-31T22:00:00.000Z', x: 4 },
      { ts: '2024-04-01T22:00:00.000Z', x: 5 },
    ]);
  });

  it('hours are absolute: the repeated local hour of the October change stays two buckets', async () => {
    const sql = tz(["('2024-10-27 00:30:00+00', 1)", "('2024-10-27 01:30:00+00', 2)"]);
    const { rows } = await run({ every: '1h', timezone: 'Europe/Berlin', fill: 'zero' }, sql);
    expect(rows).toEqual([
      { ts: '2024-10-27T00:00:00.000Z', x: 1 },
      { ts: '2024-10-27T01:00:00.000Z', x: 2 },
    ]);
  });

  it('weeks start on Monday and months on the 1st, local midnight', async () => {
    const sql = tz(["('2024-03-31 12:00:00+00', 1)", "('2024-03-15 12:00:00+00', 2)"]);
    expect((await run({ every: '1w', timezone: 'Europe/Berlin' }, sql)).rows).toEqual([
      { ts: '2024-03-10T23:00:00.000Z', x: 2 },
      { ts: '2024-03-24T23:00:00.000Z', x: 1 },
    ]);
    expect((await run({ every: '1mo', timezone: 'Europe/Berlin' }, sql)).rows).toEqual([
      { ts: '2024-02-29T23:00:00.000Z', x: 3 },
    ]);
    expect((await run({ every: '1y', timezone: 'Europe/Berlin' }, sql)).rows).toEqual([
      { ts: '2023-12-31T23:00:00.000Z', x: 3 },
    ]);
  });

  it('a naive TIMESTAMP is UTC; a DATE is that day in the zone; aliases such as Asia/Kolkata are accepted', async () => {
    const naive = "SELECT TIMESTAMP '2024-03-30 23:30:00' AS ts, 1 AS x";
    expect((await run({ every: '1d', timezone: 'Europe/Berlin' }, naive)).rows).toEqual([
      { ts: '2024-03-30T23:00:00.000Z', x: 1 },
    ]);
    const date = "SELECT DATE '2024-03-31' AS ts, 1 AS x";
    expect((await run({ every: '1d', timezone: 'America/New_York' }, date)).rows).toEqual([
      { ts: '2024-03-31T04:00:00.000Z', x: 1 },
    ]);
    const late = "SELECT TIMESTAMPTZ '2024-01-01 20:00:00+00' AS ts, 1 AS x";
    expect((await run({ every: '1d', timezone: 'Asia/Kolkata' }, late)).rows).toEqual([
      { ts: '2024-01-01T18:30:00.000Z', x: 1 },
    ]);
  });
});

describe('resample step: the buckets a fill makes', () => {
  const zoned = (rows: string[]) => `SELECT ts::TIMESTAMPTZ AS ts, x FROM (VALUES ${rows.join(', ')}) v(ts, x)`;
  const MARCH = zoned(["('2024-03-29 12:00:00+00', 1)", "('2024-04-02 12:00:00+00', 5)"]);
  const SPRING = zoned([
    "('2023-11-30 12:00:00+00', 1)",
    "('2025-06-15 12:00:00+00', 2)",
    "('2024-04-02 12:00:00+00', 5)",
  ]);

  it.each([
    ['hours without groups', { fill: 'null' }, HOURLY, 4],
    ['15-minute buckets', { every: '15m', fill: 'zero', aggregations: { label: 'count' } }, HOURLY, 16],
    ['90-second buckets', { every: '90s', fill: 'zero' }, HOURLY, 154],
    [
      'days per group, the null group too',
      { every: '1d', groupBy: ['g'], fill: 'zero', aggregations: { x: 'sum' } },
      DAILY,
      8,
    ],
    ['Berlin days across the March change', { every: '1d', timezone: 'Europe/Berlin', fill: 'linear' }, MARCH, 5],
    ['2-day buckets', { every: '2d', fill: 'forward' }, MARCH, 3],
    ['Berlin weeks', { every: '1w', timezone: 'Europe/Berlin', fill: 'zero' }, SPRING, 81],
    ['2-week buckets', { every: '2w', fill: 'zero' }, SPRING, 41],
    ['Berlin months', { every: '1mo', timezone: 'Europe/Berlin', fill: 'zero' }, SPRING, 20],
    ['quarters', { every: '3mo', fill: 'zero' }, SPRING, 7],
    ['years', { every: '1y', fill: 'zero' }, SPRING, 3],
    ['no rows', { fill: 'zero', groupBy: ['label'] }, `${HOURLY} WHERE false`, 0],
  ] as const)('are counted exactly before the step runs: %s', async (_name, fields, sql, expected) => {
    const { rows, counted } = await run(fields as Partial<ResampleStep>, sql);
    expect(rows).toHaveLength(expected);
    expect(counted).toBe(expected);
  });

  it('are not counted without fill: the buckets with rows are at most the rows', async () => {
    expect((await run({ every: '1d', groupBy: ['g'] }, DAILY)).compiled.knownRows).toBeUndefined();
  });

  it('a century of seconds is counted, per group and summed, without building a bucket of it', async () => {
    const century =
      "SELECT * FROM (VALUES (TIMESTAMP '1925-01-01 00:00:00', 'a', 1), (TIMESTAMP '2025-01-01 00:00:00', 'a', 2), (TIMESTAMP '2025-01-01 00:00:00', 'b', 3)) v(ts, g, x)";
    // 36,525 days (25 leap years) of 86,400 seconds, both ends included; 'b' has one bucket.
    expect(await countStep(resampleStep, step({ every: '1s', fill: 'zero', groupBy: ['g'] }), { sql: century })).toBe(
      3_155_760_001 + 1,
    );
    const compiled = await resampleStep.compile(step({ every: '1s', fill: 'zero' }), {
      from: '"t"',
      schema: [
        { name: 'ts', type: 'TIMESTAMP', nullable: true },
        { name: 'x', type: 'INTEGER', nullable: true },
      ],
      pointer: '/steps/3',
      paramOffset: 2,
      resolveDataset: () => Promise.reject(new Error('unused')),
    });
    expect(compiled.knownRows).toMatchObject({
      params: ['1 seconds'],
      pointer: '/steps/3/every',
      what: "buckets from the first to the last, every '1s'",
    });
    expect(new Set(compiled.knownRows!.sql.match(/\$\d+/g))).toEqual(new Set(['$3']));
  });

  it('stream out of DuckDB: a grid nobody counted is still stopped by the memory limit or an interrupt', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'weir-resample-'));
    const engine = await Engine.open({
      memoryLimit: '128MB',
      threads: 2,
      tempDir: dir,
      tempLimitBytes: 256 * 1024 ** 2,
    });
    const rssBefore = process.memoryUsage().rss;
    let peak = rssBefore;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
    try {
      const started = Date.now();
      const outcome = await engine
        .withConnection(async (c) => {
          await c.run(
            "CREATE TEMP TABLE century AS SELECT * FROM (VALUES (TIMESTAMP '1925-01-01', 1), (TIMESTAMP '2025-01-01', 2)) v(ts, x)",
          );
          const compiled = await resampleStep.compile(step({ every: '1s', fill: 'zero' }), {
            from: 'century',
            schema: [
              { name: 'ts', type: 'TIMESTAMP', nullable: true },
              { name: 'x', type: 'INTEGER', nullable: true },
            ],
            pointer: '/steps/0',
            paramOffset: 0,
            resolveDataset: () => Promise.reject(new Error('unused')),
          });
          await c.run(`SELECT count(*) FROM (${compiled.sql})`, compiled.params);
        }, AbortSignal.timeout(1000))
        .then(
          () => 'finished',
          (e: unknown) => (e instanceof Error ? e.name : String(e)),
        );
      // Interrupted at its time limit, or refused by the spill limit before: never finished, never unbounded.
      expect(['TimeoutError', 'Error']).toContain(outcome);
      expect(Date.now() - started).toBeLessThan(15_000);
      expect(peak - rssBefore).toBeLessThan(1024 ** 3);
    } finally {
      clearInterval(sampler);
      engine.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('resample step: errors and safety', () => {
  it('unknown columns: 400 at the field with a did-you-mean (keys escaped as JSON pointer tokens)', async () => {
    await expect(run({ time: 'tss' }, HOURLY)).rejects.toMatchObject({
      status: 400,
      code: 'validation_failed',
      errors: [{ pointer: '/steps/0/time', message: "no column named 'tss'; did you mean 'ts'?" }],
    });
    await expect(run({ aggregations: { x: 'sum', lable: 'count' } }, HOURLY)).rejects.toMatchObject({
      errors: [{ pointer: '/steps/0/aggregations/lable', message: "no column named 'lable'; did you mean 'label'?" }],
    });
    await expect(run({ aggregations: { 'a/b~c': 'count' } }, HOURLY)).rejects.toMatchObject({
      errors: [{ pointer: '/steps/0/aggregations/a~1b~0c' }],
    });
    await expect(run({ groupBy: ['labl'] }, HOURLY)).rejects.toMatchObject({
      errors: [{ pointer: '/steps/0/groupBy/0', message: "no column named 'labl'; did you mean 'label'?" }],
    });
  });

  it('wrong types: the time column must be temporal, mean/sum/median numeric', async () => {
    await expect(run({ time: 'label' }, HOURLY)).rejects.toMatchObject({
      errors: [
        { pointer: '/steps/0/time', message: "column 'label' is VARCHAR; resample needs a timestamp or date column" },
      ],
    });
    for (const aggregation of ['mean', 'sum', 'median'] as const) {
      await expect(run({ aggregations: { label: aggregation } }, HOURLY)).rejects.toMatchObject({
        errors: [
          {
            pointer: '/steps/0/aggregations/label',
            message: `column 'label' is VARCHAR; ${aggregation} needs a numeric column`,
          },
        ],
      });
    }
  });

  it('bad bucket widths', async () => {
    for (const every of ['5 parsecs', '0h', '2y', '1ms', "1h'; DROP TABLE x; --"]) {
      await expect(run({ every }, HOURLY)).rejects.toMatchObject({
        status: 400,
        errors: [
          {
            pointer: '/steps/0/every',
            message: expect.stringContaining('is not a bucket width; use a whole number and a unit'),
          },
        ],
      });
    }
  });

  it('bad time zones, including an injection attempt', async () => {
    for (const timezone of ['Mars/Olympus_Mons', 'CET+1', "UTC'); DROP TABLE x; --"]) {
      await expect(run({ every: '1d', timezone }, HOURLY)).rejects.toMatchObject({
        status: 400,
        errors: [{ pointer: '/steps/0/timezone', message: expect.stringContaining('is not a known IANA time zone') }],
      });
    }
  });

  it('output name collisions: the time or a group column aggregated, the time column as a group', async () => {
    await expect(run({ aggregations: { ts: 'count' } }, HOURLY)).rejects.toMatchObject({
      errors: [
        { pointer: '/steps/0/aggregations/ts', message: "'ts' is the time column; its buckets are the output's time" },
      ],
    });
    await expect(run({ groupBy: ['label'], aggregations: { label: 'count' } }, HOURLY)).rejects.toMatchObject({
      errors: [
        { pointer: '/steps/0/aggregations/label', message: "'label' is a group column; it cannot also be aggregated" },
      ],
    });
    await expect(run({ groupBy: ['ts'] }, HOURLY)).rejects.toMatchObject({
      errors: [{ pointer: '/steps/0/groupBy/0', message: "'ts' is the time column; it cannot also be a group column" }],
    });
  });

  it('the zone and width are bound parameters numbered after earlier steps’ parameters', async () => {
    const input = {
      from: '"s1"',
      schema: [
        { name: 'ts', type: 'TIMESTAMP WITH TIME ZONE', nullable: true },
        { name: 'x', type: 'INTEGER', nullable: true },
      ],
      pointer: '/steps/1',
      paramOffset: 4,
      resolveDataset: () => Promise.reject(new Error('unused')),
    };
    const compiled = await resampleStep.compile(step({ every: '1d', timezone: 'Europe/Berlin', fill: 'zero' }), input);
    expect(compiled.params).toEqual(['Europe/Berlin', '1 days']);
    expect(new Set(compiled.sql.match(/\$\d+/g))).toEqual(new Set(['$5', '$6']));
    expect(compiled.sql).not.toContain('Berlin');
    const hourly = await resampleStep.compile(step({ every: '1h', timezone: 'Europe/Berlin' }), input);
    expect(hourly.params).toEqual(['UTC', '1 hours']);
  });

  it('user columns named like internal ones, and an injection-shaped name, are plain columns', async () => {
    const evil = '"); DROP TABLE x; --';
    const sql = `SELECT * FROM (VALUES
      (TIMESTAMPTZ '2024-01-01 00:10:00+00', 'k', 1, 2, 3, 4, 5, 6),
      (TIMESTAMPTZ '2024-01-01 02:10:00+00', 'k', 3, 4, 5, 6, 7, 8)
    ) v("""); DROP TABLE x; --", b, k0, a0, n, seen, t, lo)`;
    const { rows, columns } = await run(
      {
        time: evil,
        every: '1h',
        groupBy: ['b'],
        fill: 'linear',
        aggregations: { k0: 'sum', a0: 'sum', n: 'sum', seen: 'sum', t: 'sum', lo: 'count' },
      },
      sql,
    );
    expect(columns.map((c) => c.name)).toEqual([evil, 'b', 'k0', 'a0', 'n', 'seen', 't', 'lo']);
    expect(rows).toEqual([
      { [evil]: H('00'), b: 'k', k0: 1, a0: 2, n: 3, seen: 4, t: 5, lo: 1 },
      { [evil]: H('01'), b: 'k', k0: 2, a0: 3, n: 4, seen: 5, t: 6, lo: 0 },
      { [evil]: H('02'), b: 'k', k0: 3, a0: 4, n: 5, seen: 6, t: 7, lo: 1 },
    ]);
  });

  it('output names that match internal ones do not change the order (groups first, then time)', async () => {
    const sql =
      "SELECT * FROM (VALUES (TIMESTAMPTZ '2024-01-01 00:00:00+00', 'z', 1), (TIMESTAMPTZ '2024-01-01 02:00:00+00', 'a', 2), (TIMESTAMPTZ '2024-01-01 01:00:00+00', 'a', 3)) v(k0, b, x)";
    const { rows } = await run({ time: 'k0', groupBy: ['b'], fill: 'null' }, sql);
    expect(rows).toEqual([
      { k0: H('01'), b: 'a', x: 3 },
      { k0: H('02'), b: 'a', x: 2 },
      { k0: H('00'), b: 'z', x: 1 },
    ]);
  });

  it('schema: unknown aggregations and fills, empty aggregations and extra fields are refused', () => {
    expect(Value.Check(resampleStep.schema, step({}))).toBe(true);
    expect(Value.Check(resampleStep.schema, step({ aggregations: {} }))).toBe(false);
    expect(Value.Check(resampleStep.schema, { ...step({}), aggregations: { x: 'mode' } })).toBe(false);
    expect(Value.Check(resampleStep.schema, { ...step({}), fill: 'backward' })).toBe(false);
    expect(Value.Check(resampleStep.schema, { ...step({}), origin: 'x' })).toBe(false);
  });
});
