import { sql, type RawBuilder } from 'kysely';
import type { Db, Dialect } from '../db/index.js';
import { toNumber } from '../db/values.js';
import { windowDays } from '../jobs/stats.js';
import { JOB_STATUSES, type JobStatus } from '../jobs/types.js';

export interface StoredTotals {
  datasets: number;
  versions: number;
  /** Rows over all stored versions (every version counts: they are stored in full). */
  rows: number;
  parquetBytes: number;
  /** Bytes of the uploads the versions were made from. */
  sourceBytes: number;
}

export interface JobCounts {
  total: number;
  byStatus: Record<JobStatus, number>;
  /** succeeded / (succeeded + failed): cancelled jobs did not run to an outcome. null when none did. */
  successRate: number | null;
}

export interface PlatformStats {
  days: number;
  /** Start of the daily window: 00:00 UTC, `days − 1` days before today. */
  since: string;
  totals: StoredTotals;
  /** Datasets by their latest version's source format; versions, rows and bytes by each version's own. */
  byFormat: (StoredTotals & { format: string })[];
  byWorkspace: (StoredTotals & { workspaceId: string; name: string })[];
  /** Jobs still on record (finished jobs are deleted after WEIR_JOB_RETENTION). */
  jobs: JobCounts & { byKind: (JobCounts & { kind: string })[] };
  /** One entry per UTC day, oldest first, zero-filled. `jobsFinished` counts succeeded and failed jobs. */
  daily: {
    date: string;
    versions: number;
    rows: number;
    parquetBytes: number;
    sourceBytes: number;
    jobsFinished: number;
    jobsFailed: number;
  }[];
  /** The 10 datasets holding the most Parquet bytes (all versions); `rows` is the latest version's. */
  largestDatasets: {
    id: string;
    name: string;
    workspaceId: string;
    workspaceName: string;
    versions: number;
    rows: number;
    parquetBytes: number;
    sourceBytes: number;
  }[];
}

const LARGEST = 10;
const n = (v: number | string | bigint | null | undefined): number => (v === null || v === undefined ? 0 : toNumber(v));
const emptyTotals = (): StoredTotals => ({ datasets: 0, versions: 0, rows: 0, parquetBytes: 0, sourceBytes: 0 });

function jobCounts(byStatus: Record<JobStatus, number>): JobCounts {
  const ran = byStatus.succeeded + byStatus.failed;
  return {
    total: Object.values(byStatus).reduce((a, b) => a + b, 0),
    byStatus,
    successRate: ran === 0 ? null : byStatus.succeeded / ran,
  };
}
const zeroStatuses = (): Record<JobStatus, number> =>
  Object.fromEntries(JOB_STATUSES.map((s) => [s, 0])) as Record<JobStatus, number>;

/** Instance-wide statistics of the metadata store, the same in SQLite and PostgreSQL. */
export async function platformStats(db: Db, dialect: Dialect, days: number, now = new Date()): Promise<PlatformStats> {
  const dates = windowDays(days, now);
  const since = `${dates[0]}T00:00:00.000Z`;
  // Timestamps are ISO text in SQLite (the day is its first 10 characters) and timestamptz in PostgreSQL.
  const day = (column: 'created_at' | 'finished_at'): RawBuilder<string> =>
    dialect === 'postgres'
      ? sql<string>`to_char(${sql.ref(column)} at time zone 'UTC', 'YYYY-MM-DD')`
      : sql<string>`substr(${sql.ref(column)}, 1, 10)`;
  const sums = [
    sql<number | string>`count(*)`.as('versions'),
    sql<number | string | null>`sum(row_count)`.as('rows'),
    sql<number | string | null>`sum(parquet_bytes)`.as('parquet'),
    sql<number | string | null>`sum(source_bytes)`.as('source'),
  ] as const;

  const [versions, datasets, jobs, dailyVersions, dailyJobs, largest] = await Promise.all([
    db
      .selectFrom('dataset_versions')
      .select(['workspace_id', 'source_format', ...sums])
      .groupBy(['workspace_id', 'source_format'])
      .execute(),
    db
      .selectFrom('datasets')
      .select(['workspace_id', 'format', sql<number | string>`count(*)`.as('n')])
      .groupBy(['workspace_id', 'format'])
      .execute(),
    db
      .selectFrom('jobs')
      .select(['kind', 'status', sql<number | string>`count(*)`.as('n')])
      .groupBy(['kind', 'status'])
      .execute(),
    db
      .selectFrom('dataset_versions')
      .select([day('created_at').as('d'), ...sums])
      .where('created_at', '>=', since)
      .groupBy(sql`1`)
      .execute(),
    db
      .selectFrom('jobs')
      .select([day('finished_at').as('d'), 'status', sql<number | string>`count(*)`.as('n')])
      .where('finished_at', '>=', since)
      .where('status', 'in', ['succeeded', 'failed'])
      .groupBy([sql`1`, 'status'])
      .execute(),
    db
      .selectFrom('dataset_versions')
      .select(['dataset_id', ...sums])
      .groupBy('dataset_id')
      .orderBy(sql`sum(parquet_bytes)`, 'desc')
      .orderBy('dataset_id')
      .limit(LARGEST)
      .execute(),
  ]);

  const totals = emptyTotals();
  const byFormat = new Map<string, StoredTotals>();
  const byWorkspace = new Map<string, StoredTotals>();
  const entry = (map: Map<string, StoredTotals>, key: string) => {
    let t = map.get(key);
    if (!t) map.set(key, (t = emptyTotals()));
    return t;
  };
  for (const r of versions) {
    for (const t of [totals, entry(byFormat, r.source_format), entry(byWorkspace, r.workspace_id)]) {
      t.versions += n(r.versions);
      t.rows += n(r.rows);
      t.parquetBytes += n(r.parquet);
      t.sourceBytes += n(r.source);
    }
  }
  for (const r of datasets) {
    for (const t of [totals, entry(byFormat, r.format), entry(byWorkspace, r.workspace_id)]) t.datasets += n(r.n);
  }

  const workspaceIds = [...byWorkspace.keys()];
  const largestIds = largest.map((r) => r.dataset_id);
  const [workspaces, largestRows] = await Promise.all([
    workspaceIds.length > 0
      ? db.selectFrom('workspaces').select(['id', 'name']).where('id', 'in', workspaceIds).execute()
      : [],
    largestIds.length > 0
      ? db
          .selectFrom('datasets as d')
          .innerJoin('dataset_versions as v', 'v.id', 'd.latest_version_id')
          .innerJoin('workspaces as w', 'w.id', 'd.workspace_id')
          .select(['d.id', 'd.name', 'd.workspace_id', 'w.name as workspace_name', 'v.row_count'])
          .where('d.id', 'in', largestIds)
          .execute()
      : [],
  ]);
  const workspaceName = new Map(workspaces.map((w) => [w.id, w.name]));
  const largestById = new Map(largestRows.map((r) => [r.id, r]));

  const statuses = zeroStatuses();
  const kinds = new Map<string, Record<JobStatus, number>>();
  for (const r of jobs) {
    const status = r.status as JobStatus;
    let k = kinds.get(r.kind);
    if (!k) kinds.set(r.kind, (k = zeroStatuses()));
    k[status] = (k[status] ?? 0) + n(r.n);
    statuses[status] = (statuses[status] ?? 0) + n(r.n);
  }

  const daily = new Map(
    dates.map((date) => [
      date,
      { date, versions: 0, rows: 0, parquetBytes: 0, sourceBytes: 0, jobsFinished: 0, jobsFailed: 0 },
    ]),
  );
  for (const r of dailyVersions) {
    const d = daily.get(r.d);
    if (!d) continue;
    d.versions += n(r.versions);
    d.rows += n(r.rows);
    d.parquetBytes += n(r.parquet);
    d.sourceBytes += n(r.source);
  }
  for (const r of dailyJobs) {
    const d = daily.get(r.d);
    if (!d) continue;
    d.jobsFinished += n(r.n);
    if (r.status === 'failed') d.jobsFailed += n(r.n);
  }

  const sorted = <T extends { parquetBytes: number }>(items: T[], key: (t: T) => string) =>
    items.sort((a, b) => b.parquetBytes - a.parquetBytes || key(a).localeCompare(key(b)));
  return {
    days,
    since,
    totals,
    byFormat: sorted(
      [...byFormat].map(([format, t]) => ({ format, ...t })),
      (t) => t.format,
    ),
    byWorkspace: sorted(
      [...byWorkspace].map(([workspaceId, t]) => ({ workspaceId, name: workspaceName.get(workspaceId) ?? '', ...t })),
      (t) => t.workspaceId,
    ),
    jobs: {
      ...jobCounts(statuses),
      byKind: [...kinds]
        .map(([kind, c]) => ({ kind, ...jobCounts(c) }))
        .sort((a, b) => b.total - a.total || a.kind.localeCompare(b.kind)),
    },
    daily: [...daily.values()],
    largestDatasets: largest.flatMap((r) => {
      const d = largestById.get(r.dataset_id);
      // A dataset deleted between the two reads is left out.
      if (!d) return [];
      return [
        {
          id: d.id,
          name: d.name,
          workspaceId: d.workspace_id,
          workspaceName: d.workspace_name,
          versions: n(r.versions),
          rows: n(d.row_count),
          parquetBytes: n(r.parquet),
          sourceBytes: n(r.source),
        },
      ];
    }),
  };
}
