import { setTimeout as sleep } from 'node:timers/promises';
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import { weirCommand } from '../weir-command.js';
import type { WeirClient } from './client.js';
import { arg, clientAction, integer, printJson, printLine, type ClientContext } from './command.js';
import { clean, formatDate, keyValues, table, truncate } from './format.js';
import { registerWatchCommand } from './watch.js';

/** A job as GET /api/v1/jobs/:id answers it (written out by hand: the CLI depends on the wire format only). */
export interface JobWire {
  id: string;
  kind: string;
  workspaceId: string;
  createdBy: string | null;
  parentId: string | null;
  payload: unknown;
  status: 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';
  priority: number;
  progress: number;
  progressMessage: string | null;
  progressData: unknown;
  attempts: number;
  maxAttempts: number;
  timeoutMs: number;
  result: unknown;
  error: {
    code: string;
    message: string;
    details?: { pointer: string; message: string; line?: number; row?: number }[];
  } | null;
  cancelRequested: boolean;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  runAfter: string;
}

interface JobList {
  items: JobWire[];
  total: number;
  limit: number;
  offset: number;
}

const STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;
const jobPath = (id: string) => `/api/v1/jobs/${encodeURIComponent(id)}`;
const finished = (j: JobWire) => j.status === 'succeeded' || j.status === 'failed' || j.status === 'cancelled';

function duration(j: JobWire): string {
  if (!j.startedAt) return '-';
  const ms = Date.parse(j.finishedAt ?? new Date().toISOString()) - Date.parse(j.startedAt);
  return ms < 1000 ? `${ms} ms` : ms < 120_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 60_000)} min`;
}

interface ListOptions {
  status?: string;
  kind?: string;
  limit?: number;
  offset?: number;
}

async function list({ client, json }: ClientContext, opts: ListOptions): Promise<void> {
  const statuses =
    opts.status
      ?.split(',')
      .map((s) => s.trim())
      .filter(Boolean) ?? [];
  const unknown = statuses.filter((s) => !(STATUSES as readonly string[]).includes(s));
  if (unknown.length > 0)
    throw new Error(`--status: expected ${STATUSES.join(', ')} (comma-separated), got ${unknown.join(', ')}`);
  const url = client.url('/api/v1/jobs', { kind: opts.kind, limit: opts.limit, offset: opts.offset });
  for (const s of statuses) url.searchParams.append('status', s);
  const page = await client.getJson<JobList>(url.pathname + url.search);
  if (json) return printJson(page);
  if (page.items.length === 0)
    return printLine(page.total === 0 ? 'no jobs' : `no jobs at offset ${page.offset} (${page.total} in all)`);
  const rows = page.items.map((j) => [
    j.id,
    truncate(clean(j.kind), 24),
    j.status + (j.cancelRequested && j.status === 'running' ? ' (cancelling)' : ''),
    `${Math.round(j.progress)}%`,
    `${j.attempts}/${j.maxAttempts}`,
    duration(j),
    formatDate(j.createdAt),
    j.error ? truncate(clean(j.error.code), 24) : '',
  ]);
  printLine(
    table(['ID', 'KIND', 'STATUS', 'PROGRESS', 'ATTEMPTS', 'DURATION', 'CREATED', 'ERROR'], rows, [
      'left',
      'left',
      'left',
      'right',
      'right',
      'right',
      'left',
      'left',
    ]),
  );
  if (page.total > page.offset + page.items.length)
    printLine(
      `\n${page.offset + 1}–${page.offset + page.items.length} of ${page.total}; see more with --offset ${page.offset + page.items.length}`,
    );
}

/**
 * What becomes of a failed job: a failure the runtime does not retry (refused input) ends a job before its last
 * attempt, so a failed job with attempts left failed for good; one that used them all may succeed if run again.
 */
export function failureOutlook(j: JobWire): { attempts: string; next: string } | null {
  if (j.status !== 'failed') return null;
  const retry = weirCommand(`jobs retry ${j.id}`);
  if (j.attempts < j.maxAttempts) {
    return {
      attempts: `${j.attempts} of ${j.maxAttempts}; not retried, as the failure is permanent`,
      next:
        j.kind === 'ingest'
          ? 'fix the file and upload it again: it would be refused the same way'
          : `it would fail the same way: fix the cause first, then ${retry}`,
    };
  }
  return { attempts: `${j.attempts} of ${j.maxAttempts}; none left`, next: `${retry} runs it again` };
}

/** The progress line: where a job that ended without success stopped, not a step it no longer runs. */
function progressLine(j: JobWire): string {
  const percent = `${Math.round(j.progress)}%`;
  if (j.status === 'failed' || j.status === 'cancelled') return `stopped at ${percent}`;
  return `${percent}${j.progressMessage ? ` ${clean(j.progressMessage)}` : ''}`;
}

function attemptsLine(j: JobWire): string {
  const outlook = failureOutlook(j);
  if (outlook) return outlook.attempts;
  if (j.status === 'queued' && j.error && j.attempts > 0)
    return `${j.attempts} of ${j.maxAttempts} so far; the next starts after ${formatDate(j.runAfter)}`;
  return `${j.attempts} of ${j.maxAttempts}`;
}

export function describeJob(j: JobWire): string {
  const pairs: [string, string][] = [
    ['id', j.id],
    ['kind', clean(j.kind)],
    ['status', j.status + (j.cancelRequested && !finished(j) ? ' (cancel requested)' : '')],
    ['progress', progressLine(j)],
    ['attempts', attemptsLine(j)],
    ['priority', String(j.priority)],
    ['created', formatDate(j.createdAt)],
    ['started', j.startedAt ? formatDate(j.startedAt) : '-'],
    ['finished', j.finishedAt ? formatDate(j.finishedAt) : '-'],
    ['duration', duration(j)],
  ];
  if (j.parentId) pairs.push(['parent', j.parentId]);
  if (j.error)
    pairs.push([j.status === 'queued' ? 'last error' : 'error', `${clean(j.error.code)}: ${clean(j.error.message)}`]);
  for (const d of j.error?.details ?? []) pairs.push(['', `${clean(d.pointer)}: ${clean(d.message)}`]);
  const outlook = failureOutlook(j);
  if (outlook) pairs.push(['next', outlook.next]);
  if (j.result !== null && j.status === 'succeeded')
    pairs.push(['result', truncate(clean(JSON.stringify(j.result)), 200)]);
  return keyValues(pairs);
}

async function show({ client, json }: ClientContext, id: string): Promise<void> {
  const job = await client.getJson<JobWire>(jobPath(id));
  if (json) printJson(job);
  else printLine(describeJob(job));
}

async function act({ client, json }: ClientContext, id: string, action: 'cancel' | 'retry'): Promise<void> {
  const job = await client.postJson<JobWire & { previousError?: JobWire['error'] }>(`${jobPath(id)}/${action}`, {
    body: undefined,
  });
  if (json) return printJson(job);
  if (action === 'retry') {
    const before = job.previousError;
    printLine(`job ${job.id} queued again${before ? ` (last time: ${before.code}: ${before.message})` : ''}`);
  } else
    printLine(
      job.status === 'cancelled' ? `job ${job.id} cancelled` : `job ${job.id}: cancel requested; it stops shortly`,
    );
}

/** A percent bar on stderr for a job, only on a terminal (like the upload bar) and never with --json. */
function percentBar(label: string, enabled: boolean) {
  if (!enabled || !process.stderr.isTTY) return { update: (_p: number, _m: string) => {}, stop: () => {} };
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: `${label} {bar} {percentage}% | {message}`,
      barsize: 30,
      hideCursor: false,
      clearOnComplete: true,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(100, 0, { message: 'queued' });
  let stopped = false;
  return {
    update: (percent: number, message: string) => bar.update(Math.round(percent), { message }),
    stop: () => {
      if (!stopped) bar.stop();
      stopped = true;
    },
  };
}

/**
 * Waits for a job to finish by polling GET /jobs/:id (backing off from 100 ms to 1 s), showing its progress.
 * (`weir jobs watch` and a server-sent-events variant of this belong to the realtime work.)
 */
export async function waitForJob(
  client: WeirClient,
  id: string,
  opts: { label: string; bar: boolean },
): Promise<JobWire> {
  const bar = percentBar(opts.label, opts.bar);
  let delay = 100;
  try {
    for (;;) {
      const job = await client.getJson<JobWire>(jobPath(id));
      bar.update(job.progress, clean(job.progressMessage ?? job.status));
      if (finished(job)) return job;
      await sleep(delay);
      delay = Math.min(1000, Math.round(delay * 1.5));
    }
  } finally {
    bar.stop();
  }
}

export function registerJobs(program: Command): void {
  const jobs = program
    .command('jobs')
    .summary('list, inspect, cancel and retry background jobs')
    .description('Background jobs of your workspace (ingest, retention, …).');

  clientAction<ListOptions>(
    jobs
      .command('ls')
      .description('List jobs, newest first')
      .option('--status <statuses>', `only these statuses, comma-separated (${STATUSES.join(', ')})`)
      .option('--kind <kind>', 'only this kind, e.g. ingest')
      .option('--limit <n>', 'jobs per page (1-500, default 50)', integer(1))
      .option('--offset <n>', 'skip this many', integer(0)),
    (ctx, _args, opts) => list(ctx, opts),
  );
  clientAction(
    jobs
      .command('show')
      .description('Show one job: status, progress, attempts, error, result')
      .argument('<id>', 'job id'),
    (ctx, args) => show(ctx, arg(args, 0)),
  );
  clientAction(
    jobs.command('cancel').description('Cancel a queued or running job').argument('<id>', 'job id'),
    (ctx, args) => act(ctx, arg(args, 0), 'cancel'),
  );
  clientAction(
    jobs.command('retry').description('Run a failed or cancelled job again').argument('<id>', 'job id'),
    (ctx, args) => act(ctx, arg(args, 0), 'retry'),
  );
  registerWatchCommand(jobs);
}
