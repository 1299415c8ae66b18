import type { DatasetInstanceStats, StoredSums } from '../datasets/repo.js';
import type { Workspaces } from '../identity/workspaces.js';
import type { JobService } from '../jobs/service.js';
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

/** Where the instance-wide statistics come from: each domain answers for its own tables. */
export interface PlatformSources {
  datasets: DatasetInstanceStats;
  jobs: Pick<JobService, 'instanceCounts'>;
  workspaces: Pick<Workspaces, 'names'>;
}

/** Instance-wide statistics of the metadata store, the same in SQLite and PostgreSQL. */
export async function platformStats(sources: PlatformSources, days: number, now = new Date()): Promise<PlatformStats> {
  const dates = windowDays(days, now);
  const since = `${dates[0]}T00:00:00.000Z`;
  const { datasets: stored } = sources;

  const [versions, datasets, jobs, dailyVersions, largest] = await Promise.all([
    stored.storedByWorkspaceAndFormat(),
    stored.countsByWorkspaceAndFormat(),
    sources.jobs.instanceCounts(since),
    stored.storedPerDay(since),
    stored.largestByParquetBytes(LARGEST),
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
    for (const t of [totals, entry(byFormat, r.sourceFormat), entry(byWorkspace, r.workspaceId)]) addSums(t, r);
  }
  for (const r of datasets) {
    for (const t of [totals, entry(byFormat, r.format), entry(byWorkspace, r.workspaceId)]) t.datasets += r.datasets;
  }

  const [workspaceName, largestRows] = await Promise.all([
    sources.workspaces.names([...byWorkspace.keys()]),
    stored.withLatestRowCounts(largest.map((r) => r.datasetId)),
  ]);
  // A largest dataset's workspace is among those above unless the dataset is newer than the first reads: name it too.
  const unnamed = [...new Set(largestRows.map((r) => r.workspaceId).filter((id) => !workspaceName.has(id)))];
  if (unnamed.length > 0) for (const [id, name] of await sources.workspaces.names(unnamed)) workspaceName.set(id, name);
  const largestById = new Map(largestRows.map((r) => [r.id, r]));

  const statuses = zeroStatuses();
  const kinds = new Map<string, Record<JobStatus, number>>();
  for (const r of jobs.byKindAndStatus) {
    let k = kinds.get(r.kind);
    if (!k) kinds.set(r.kind, (k = zeroStatuses()));
    k[r.status] = (k[r.status] ?? 0) + r.count;
    statuses[r.status] = (statuses[r.status] ?? 0) + r.count;
  }

  const daily = new Map(
    dates.map((date) => [
      date,
      { date, versions: 0, rows: 0, parquetBytes: 0, sourceBytes: 0, jobsFinished: 0, jobsFailed: 0 },
    ]),
  );
  for (const r of dailyVersions) {
    const d = daily.get(r.date);
    if (d) addSums(d, r);
  }
  for (const r of jobs.finishedPerDay) {
    const d = daily.get(r.date);
    if (!d) continue;
    d.jobsFinished += r.count;
    if (r.status === 'failed') d.jobsFailed += r.count;
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
      const d = largestById.get(r.datasetId);
      const ownerName = d && workspaceName.get(d.workspaceId);
      // A dataset (or its workspace) deleted between the reads is left out.
      if (!d || ownerName === undefined) return [];
      return [
        {
          id: d.id,
          name: d.name,
          workspaceId: d.workspaceId,
          workspaceName: ownerName,
          versions: r.versions,
          rows: d.rows,
          parquetBytes: r.parquetBytes,
          sourceBytes: r.sourceBytes,
        },
      ];
    }),
  };
}

function addSums(t: Omit<StoredTotals, 'datasets'>, s: StoredSums): void {
  t.versions += s.versions;
  t.rows += s.rows;
  t.parquetBytes += s.parquetBytes;
  t.sourceBytes += s.sourceBytes;
}
