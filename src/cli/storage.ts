import { setTimeout as sleep } from 'node:timers/promises';
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import type { WeirClient } from './client.js';
import { clientAction, printJson, printLine, type ClientContext } from './command.js';
import { clean, formatBytes, formatCount, formatDate, table } from './format.js';
import type { JobWire } from './jobs.js';

/** GET /api/v1/system/storage, written out by hand like the rest of the CLI's wire types. */
interface Usage {
  objects: number;
  bytes: number;
  oldest: string | null;
}

interface StorageStatsWire {
  driver: 'local' | 's3';
  walkedAt: string;
  areas: (Usage & { area: string; workspaces: (Usage & { workspaceId: string })[] })[];
  totals: Usage;
  disk: { freeBytes: number; totalBytes: number } | null;
  retention: {
    areas: Record<string, number | null>;
    jobArtifactsMs: number;
    cron: string;
    timezone: string;
    nextRun: string | null;
  };
  lastSweep: {
    status: string;
    scheduledFor: string | null;
    startedAt: string | null;
    finishedAt: string | null;
    dryRun: boolean;
    result: unknown;
  } | null;
}

interface Totals {
  objects: number;
  bytes: number;
}

interface SweepResultWire {
  dryRun: boolean;
  areas: Record<string, Totals>;
  total: Totals;
  expiredUploads: Totals & { uploads: number };
  prunedVersions: Totals & { versions: number; datasets: number };
  jobArtifacts: Totals & { jobs: number };
  /** Absent from a server older than the orphan rule. */
  orphans?: Totals;
}

const STORAGE = '/api/v1/system/storage';
const finished = (j: JobWire) => j.status === 'succeeded' || j.status === 'failed' || j.status === 'cancelled';

/** 3_600_000 → "1 h", 604_800_000 → "7 d"; the largest unit that divides evenly. */
export function formatDuration(ms: number): string {
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['min', 60_000],
    ['s', 1000],
  ] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size} ${unit}`;
  }
  return `${ms} ms`;
}

const isTotals = (v: unknown): v is Totals =>
  typeof (v as Totals | null)?.objects === 'number' && typeof (v as Totals).bytes === 'number';
const amount = (t: Totals) => `${formatCount(t.objects)} object${t.objects === 1 ? '' : 's'}, ${formatBytes(t.bytes)}`;

function describeLastSweep(s: NonNullable<StorageStatsWire['lastSweep']>): string {
  const when = s.finishedAt ?? s.startedAt ?? s.scheduledFor;
  const parts = [
    clean(s.status),
    when ? formatDate(when) : '',
    s.dryRun ? '(dry run)' : '',
    s.scheduledFor ? '(scheduled)' : '(started by hand)',
  ];
  const total = (s.result as { total?: unknown } | null)?.total;
  if (isTotals(total)) parts.push(`— ${s.dryRun ? 'would delete' : 'deleted'} ${amount(total)}`);
  return parts.filter(Boolean).join(' ');
}

async function stats({ client, json }: ClientContext, fresh: boolean): Promise<void> {
  const s = await client.getJson<StorageStatsWire>(STORAGE, fresh ? { fresh: 'true' } : {});
  if (json) return printJson(s);
  const rows: string[][] = [];
  for (const a of s.areas) {
    if (a.workspaces.length === 0) rows.push([clean(a.area), '-', '0', formatBytes(0), '-']);
    for (const w of a.workspaces)
      rows.push([
        clean(a.area),
        clean(w.workspaceId),
        formatCount(w.objects),
        formatBytes(w.bytes),
        w.oldest ? formatDate(w.oldest) : '-',
      ]);
  }
  rows.push([
    'total',
    '',
    formatCount(s.totals.objects),
    formatBytes(s.totals.bytes),
    s.totals.oldest ? formatDate(s.totals.oldest) : '-',
  ]);
  printLine(
    table(['AREA', 'WORKSPACE', 'OBJECTS', 'BYTES', 'OLDEST'], rows, ['left', 'left', 'right', 'right', 'left']),
  );
  printLine();
  printLine(
    `store       ${s.driver}${s.disk ? `; disk ${formatBytes(s.disk.freeBytes)} free of ${formatBytes(s.disk.totalBytes)}` : ''}`,
  );
  const areas = Object.entries(s.retention.areas);
  const aged = areas.flatMap(([area, ms]) => (ms === null ? [] : [`${clean(area)} ${formatDuration(ms)}`]));
  const kept = areas.flatMap(([area, ms]) => (ms === null ? [clean(area)] : []));
  printLine(
    `retention   ${aged.join(', ')}; job artifacts ${formatDuration(s.retention.jobArtifactsMs)}${kept.length > 0 ? `; ${kept.join(', ')} kept` : ''}`,
  );
  printLine(
    `sweeps      ${clean(s.retention.cron)} (${clean(s.retention.timezone)})${s.retention.nextRun ? `, next ${formatDate(s.retention.nextRun)}` : ''}`,
  );
  printLine(`last sweep  ${s.lastSweep ? describeLastSweep(s.lastSweep) : 'never'}`);
}

/** Polls the sweep's job (backing off from 100 ms to 1 s) with a bar on a terminal, until it ends. */
async function follow(client: WeirClient, job: JobWire, bar: boolean): Promise<JobWire> {
  const progress =
    bar && process.stderr.isTTY
      ? new cliProgress.SingleBar(
          {
            stream: process.stderr,
            format: 'sweep {bar} {percentage}% | {message}',
            barsize: 30,
            hideCursor: false,
            clearOnComplete: true,
          },
          cliProgress.Presets.shades_classic,
        )
      : null;
  progress?.start(100, 0, { message: 'queued' });
  let delay = 100;
  try {
    for (let current = job; ;) {
      progress?.update(Math.round(current.progress), { message: clean(current.progressMessage ?? current.status) });
      if (finished(current)) return current;
      await sleep(delay);
      delay = Math.min(1000, Math.round(delay * 1.5));
      current = await client.getJson<JobWire>(`${STORAGE}/sweeps/${encodeURIComponent(job.id)}`);
    }
  } finally {
    progress?.stop();
  }
}

function printSweep(r: SweepResultWire): void {
  const verb = r.dryRun ? 'Would delete (dry run; nothing was deleted)' : 'Deleted';
  const rows = Object.entries(r.areas).map(([area, t]) => [clean(area), formatCount(t.objects), formatBytes(t.bytes)]);
  rows.push(['total', formatCount(r.total.objects), formatBytes(r.total.bytes)]);
  printLine(`${verb}:`);
  printLine(table(['AREA', 'OBJECTS', 'BYTES'], rows, ['left', 'right', 'right']));
  printLine();
  printLine(`expired uploads   ${formatCount(r.expiredUploads.uploads)} (${amount(r.expiredUploads)})`);
  printLine(
    `pruned versions   ${formatCount(r.prunedVersions.versions)} of ${formatCount(r.prunedVersions.datasets)} dataset${r.prunedVersions.datasets === 1 ? '' : 's'} (${amount(r.prunedVersions)})`,
  );
  printLine(
    `job artifacts     ${formatCount(r.jobArtifacts.jobs)} job${r.jobArtifacts.jobs === 1 ? '' : 's'} (${amount(r.jobArtifacts)})`,
  );
  if (r.orphans)
    printLine(
      `orphaned models   ${formatCount(r.orphans.objects)} file${r.orphans.objects === 1 ? '' : 's'} (${amount(r.orphans)})`,
    );
}

async function sweep({ client, json }: ClientContext, dryRun: boolean): Promise<void> {
  const queued = await client.postJson<JobWire>(`${STORAGE}/sweep`, {
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ dryRun }),
  });
  if (!json) process.stderr.write(`storage sweep ${queued.id} started${dryRun ? ' (dry run)' : ''}\n`);
  const job = await follow(client, queued, !json);
  if (job.status !== 'succeeded') {
    const why = job.error ? `: ${clean(job.error.message)} (${clean(job.error.code)})` : '';
    throw new Error(`storage sweep ${job.id} ${job.status}${why}`);
  }
  if (json) return printJson(job.result);
  printSweep(job.result as SweepResultWire);
}

/** `weir storage stats|sweep`: instance administrators only (permission system:admin). */
export function registerStorage(program: Command): void {
  const storage = program
    .command('storage')
    .summary('storage use and retention sweeps (instance administrators)')
    .description(
      'Storage use per area and workspace, the retention policy, and sweeps that delete what it no longer keeps.',
    );
  clientAction<{ fresh?: boolean }>(
    storage
      .command('stats')
      .description('Objects and bytes per area and workspace, free disk, retention policy, last sweep')
      .option('--fresh', 'walk the store now instead of reusing a walk of the last 30 s'),
    (ctx, _args, opts) => stats(ctx, opts.fresh === true),
  );
  clientAction<{ dryRun?: boolean }>(
    storage
      .command('sweep')
      .description('Run a storage sweep now and print what it deleted per area (--dry-run: what it would delete)')
      .option('--dry-run', 'report what would be deleted; delete nothing'),
    (ctx, _args, opts) => sweep(ctx, opts.dryRun === true),
  );
}
