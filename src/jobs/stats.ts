import { sql } from 'kysely';
import type { Db, Dialect } from '../db/index.js';
import { utcDay } from '../db/utc-day.js';
import { toIso, toNumber } from '../db/values.js';
import { JOB_STATUSES, type JobStatus } from './types.js';

export interface JobStats {
  days: number;
  /** Start of the window: 00:00 UTC, `days − 1` days before today. */
  since: string;
  total: number;
  byStatus: Record<JobStatus, number>;
  byKind: { kind: string; total: number; byStatus: Record<JobStatus, number> }[];
  /** succeeded / (succeeded + failed); null when none finished that way. */
  successRate: number | null;
  /** Run time (finish − start of the last attempt) of succeeded and failed jobs, nearest-rank percentiles. */
  durationMs: { p50: number | null; p95: number | null; count: number };
  /** One entry per UTC day of the window, oldest first, zero-filled. */
  daily: { date: string; created: number; succeeded: number; failed: number }[];
}

/** Durations read for the percentiles: the most recent finished jobs of the window, at most this many. */
const MAX_DURATIONS = 10_000;
const DAY_MS = 86_400_000;

const zeroCounts = (): Record<JobStatus, number> =>
  Object.fromEntries(JOB_STATUSES.map((s) => [s, 0])) as Record<JobStatus, number>;

/** Nearest-rank percentile of ascending values. */
export function percentile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
}

/** The UTC days of a window ending today, oldest first (`YYYY-MM-DD`). */
export function windowDays(days: number, now = new Date()): string[] {
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  return Array.from({ length: days }, (_, i) => new Date(today - (days - 1 - i) * DAY_MS).toISOString().slice(0, 10));
}

/** Job statistics of one workspace over the last `days` UTC days, computed the same way in SQLite and PostgreSQL. */
export async function jobStats(
  db: Db,
  dialect: Dialect,
  workspaceId: string,
  days: number,
  now = new Date(),
): Promise<JobStats> {
  const dates = windowDays(days, now);
  const since = `${dates[0]}T00:00:00.000Z`;
  const inWindow = db.selectFrom('jobs').where('workspace_id', '=', workspaceId).where('created_at', '>=', since);
  const [counts, durations, created, finished] = await Promise.all([
    inWindow
      .select(['kind', 'status', (eb) => eb.fn.countAll<number | string>().as('n')])
      .groupBy(['kind', 'status'])
      .execute(),
    inWindow
      .select(['started_at', 'finished_at'])
      .where('status', 'in', ['succeeded', 'failed'])
      .where('started_at', 'is not', null)
      .where('finished_at', 'is not', null)
      .orderBy('finished_at', 'desc')
      .limit(MAX_DURATIONS)
      .execute(),
    db
      .selectFrom('jobs')
      .select([utcDay(dialect, 'created_at').as('d'), (eb) => eb.fn.countAll<number | string>().as('n')])
      .where('workspace_id', '=', workspaceId)
      .where('created_at', '>=', since)
      .groupBy(sql`1`)
      .execute(),
    db
      .selectFrom('jobs')
      .select([utcDay(dialect, 'finished_at').as('d'), 'status', (eb) => eb.fn.countAll<number | string>().as('n')])
      .where('workspace_id', '=', workspaceId)
      .where('finished_at', '>=', since)
      .where('status', 'in', ['succeeded', 'failed'])
      .groupBy([sql`1`, 'status'])
      .execute(),
  ]);

  const byStatus = zeroCounts();
  const kinds = new Map<string, Record<JobStatus, number>>();
  for (const r of counts) {
    const n = Number(r.n);
    const status = r.status as JobStatus;
    byStatus[status] = (byStatus[status] ?? 0) + n;
    let k = kinds.get(r.kind);
    if (!k) kinds.set(r.kind, (k = zeroCounts()));
    k[status] = (k[status] ?? 0) + n;
  }
  const sum = (c: Record<JobStatus, number>) => Object.values(c).reduce((a, b) => a + b, 0);
  const finishedRuns = byStatus.succeeded + byStatus.failed;

  const ms = durations
    .map((r) => Date.parse(toIso(r.finished_at!)) - Date.parse(toIso(r.started_at!)))
    .filter((d) => Number.isFinite(d) && d >= 0)
    .sort((a, b) => a - b);

  const daily = new Map(dates.map((d) => [d, { date: d, created: 0, succeeded: 0, failed: 0 }]));
  for (const r of created) {
    const entry = daily.get(r.d);
    if (entry) entry.created += Number(r.n);
  }
  for (const r of finished) {
    const entry = daily.get(r.d);
    if (entry && (r.status === 'succeeded' || r.status === 'failed')) entry[r.status] += Number(r.n);
  }

  return {
    days,
    since,
    total: sum(byStatus),
    byStatus,
    byKind: [...kinds]
      .map(([kind, c]) => ({ kind, total: sum(c), byStatus: c }))
      .sort((a, b) => b.total - a.total || a.kind.localeCompare(b.kind)),
    successRate: finishedRuns === 0 ? null : byStatus.succeeded / finishedRuns,
    durationMs: { p50: percentile(ms, 50), p95: percentile(ms, 95), count: ms.length },
    daily: [...daily.values()],
  };
}

/** Jobs of every workspace still on record, by kind and status; and per UTC day since `since`, those that finished. */
export interface InstanceJobCounts {
  byKindAndStatus: { kind: string; status: JobStatus; count: number }[];
  /** Succeeded and failed jobs by the day they finished. */
  finishedPerDay: { date: string; status: JobStatus; count: number }[];
}

/** The jobs' part of the instance-wide statistics (src/analytics/platform.ts), the same in SQLite and PostgreSQL. */
export async function instanceJobCounts(db: Db, dialect: Dialect, since: string): Promise<InstanceJobCounts> {
  const [byKind, perDay] = await Promise.all([
    db
      .selectFrom('jobs')
      .select(['kind', 'status', sql<number | string>`count(*)`.as('n')])
      .groupBy(['kind', 'status'])
      .execute(),
    db
      .selectFrom('jobs')
      .select([utcDay(dialect, 'finished_at').as('d'), 'status', sql<number | string>`count(*)`.as('n')])
      .where('finished_at', '>=', since)
      .where('status', 'in', ['succeeded', 'failed'])
      .groupBy([sql`1`, 'status'])
      .execute(),
  ]);
  return {
    byKindAndStatus: byKind.map((r) => ({ kind: r.kind, status: r.status as JobStatus, count: toNumber(r.n) })),
    finishedPerDay: perDay.map((r) => ({ date: r.d, status: r.status as JobStatus, count: toNumber(r.n) })),
  };
}
