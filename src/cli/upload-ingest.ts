import { isErrorCode, statusOf } from '../errors.js';
import { weirCommand } from '../weir-command.js';
import type { IngestResponse, Problem } from './api-types.js';
import { ApiError } from './client.js';
import { printJson, printLine, type ClientContext } from './command.js';
import { clean, formatBytes, formatCount, keyValues, truncate } from './format.js';
import { failureOutlook, waitForJob, type JobWire } from './jobs.js';

/**
 * What `weir upload` does once the server holds the file, whichever way it was sent (one multipart request or
 * tus): follow the ingest job, then print the dataset version, or the refusal as the problem a synchronous upload
 * would have answered.
 */

/** The options that shape the ending. */
export interface IngestOptions {
  /** --dataset: the dataset a new version was meant for. */
  dataset?: string;
  /** false with --no-wait: print the ingest job and return. */
  wait: boolean;
}

/** The error a refused file leaves on its job or upload. */
export interface Refusal {
  code: string;
  message: string;
  details?: Problem['errors'];
}

/** The HTTP status the synchronous upload would have answered (see ingestFailure on the server). */
const refusalStatus = (code: string): number => statusOf(isErrorCode(code) ? code : 'job_failed');

/** A refusal recorded on a job or an upload (`requestId`: its id), reported like a synchronous upload's problem. */
export function refusalProblem(error: Refusal, requestId: string, status = refusalStatus(error.code)): Problem {
  return {
    type: 'about:blank',
    title: error.code,
    status,
    detail: error.message,
    code: error.code,
    errors: error.details ?? [],
    requestId,
  };
}

function jobProblem(job: JobWire): Problem {
  const error = job.error ?? { code: job.status, message: `The ingest job ended ${job.status}` };
  return refusalProblem(error, job.id, job.status === 'cancelled' ? 409 : undefined);
}

/** Status lines for people, on stderr; with --json stderr carries only errors. */
export function note({ json }: ClientContext, text: string): void {
  if (!json) process.stderr.write(`${text}\n`);
}

export const elapsed = (since: number) => `${((Date.now() - since) / 1000).toFixed(1)} s`;

const MAX_LISTED_COLUMNS = 8;

function summary(r: IngestResponse, target: string | undefined): string {
  const v = r.version;
  const dataset = `dataset ${r.id} "${clean(r.name)}"`;
  // Duplicates are found across the whole workspace, so --dataset X may be answered with another dataset.
  const elsewhere = target !== undefined && target !== r.id ? `Not added to dataset ${target}. ` : '';
  const head = r.duplicateOf
    ? `${elsewhere}Already stored: identical bytes are version ${v.number} of ${dataset}; nothing new was written.`
    : target !== undefined
      ? `Added version ${v.number} to ${dataset}.`
      : `Created ${dataset}.`;
  const cols = v.schema.slice(0, MAX_LISTED_COLUMNS).map((c) => `${clean(c.name)} ${c.type}`);
  if (v.schema.length > MAX_LISTED_COLUMNS) cols.push(`… +${v.schema.length - MAX_LISTED_COLUMNS} more`);
  const details = keyValues([
    ['version', `${v.number} (${v.id})`],
    ['rows', formatCount(v.rowCount)],
    ['columns', `${v.schema.length}: ${truncate(cols.join(', '), 200)}`],
    ['format', v.sourceEncoding ? `${v.sourceFormat}, ${v.sourceEncoding}` : v.sourceFormat],
    ['size', `${formatBytes(v.sourceBytes)} uploaded, ${formatBytes(v.parquetBytes)} as Parquet`],
  ]);
  return `${head}\n${details.replace(/^/gm, '  ')}`;
}

/** The stored version: the API's answer with --json, a summary otherwise. */
export function reportIngest({ json }: ClientContext, result: IngestResponse, opts: IngestOptions): void {
  if (json) printJson(result);
  else printLine(summary(result, opts.dataset));
}

/**
 * Every byte is stored and an ingest job queued: --no-wait prints `accepted` (with --json) or the ids, otherwise
 * the job is followed to its result. A failed job is thrown as its problem (exit code 1).
 */
export async function followIngest(
  ctx: ClientContext,
  queued: { jobId: string; datasetId: string; uploadId?: string },
  opts: IngestOptions,
  accepted: unknown,
): Promise<void> {
  const { jobId, datasetId, uploadId } = queued;
  if (!opts.wait) {
    if (ctx.json) printJson(accepted);
    else
      printLine(
        `${uploadId ? `Upload ${uploadId}` : 'Upload'} stored; ingest job ${jobId} queued for dataset ${datasetId}.\nFollow it with: ${weirCommand(`jobs show ${jobId}`)}`,
      );
    return;
  }
  const job = await waitForJob(ctx.client, jobId, { label: 'ingesting', bar: !ctx.json });
  const outlook = failureOutlook(job);
  // Said before the refusal itself, which ends the command: nothing is left running, and nothing was stored.
  if (outlook) note(ctx, `ingest job ${job.id} failed for good, and no version was stored; ${outlook.next}`);
  if (job.status !== 'succeeded') throw new ApiError(jobProblem(job));
  reportIngest(ctx, job.result as IngestResponse, opts);
}
