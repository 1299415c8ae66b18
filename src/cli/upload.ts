import { stat } from 'node:fs/promises';
import path from 'node:path';
import { Option, type Command } from 'commander';
import type { IngestResponse, Problem } from './api-types.js';
import { ApiError } from './client.js';
import { arg, clientAction, printJson, printLine, type ClientContext } from './command.js';
import { waitForJob, type JobWire } from './jobs.js';
import { clean, formatBytes, formatCount, keyValues, truncate } from './format.js';
import { multipartUpload } from './multipart.js';
import { byteProgress } from './progress.js';

interface UploadOptions {
  name?: string;
  description?: string;
  tags?: string;
  dataset?: string;
  /** --no-wait: print the ingest job and return. */
  wait: boolean;
}

/** 202 answer of an upload: the ingest runs as a job. */
interface IngestAccepted {
  datasetId: string;
  jobId: string;
  status: 'queued';
}

/** The HTTP status the synchronous upload would have answered for a refused file (see fileRejected on the server). */
function refusalStatus(code: string): number {
  if (code === 'unsupported_format' || code === 'unsupported_encoding') return 415;
  if (code === 'payload_too_large' || code === 'xlsx_too_large') return 413;
  return code === 'internal' || code === 'timeout' || code === 'worker_lost' ? 500 : 422;
}

/** A failed ingest job reported like the problem a synchronous upload would have answered. */
function jobProblem(job: JobWire): Problem {
  const error = job.error ?? { code: job.status, message: `The ingest job ended ${job.status}` };
  return {
    type: 'about:blank', title: error.code, status: job.status === 'cancelled' ? 409 : refusalStatus(error.code), detail: error.message, code: error.code,
    errors: error.details ?? [], requestId: job.id,
  };
}

/** Size of a regular file, with a readable message for the usual mistakes (typo, directory). */
async function fileSize(file: string): Promise<number> {
  try {
    const s = await stat(file);
    if (!s.isFile()) throw new Error(`${file} is not a regular file`);
    return s.size;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new Error(`${file}: no such file`);
    if (code === 'EACCES') throw new Error(`${file}: permission denied`);
    throw e;
  }
}

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

async function upload({ client, json }: ClientContext, file: string, opts: UploadOptions): Promise<void> {
  const bytes = await fileSize(file);
  const filename = path.basename(file);
  const progress = byteProgress('uploading', bytes, !json);
  const started = Date.now();
  let converting = false;
  const body = multipartUpload({ path: file, filename, bytes }, { name: opts.name, description: opts.description, tags: opts.tags }, (sent) => {
    progress.update(sent);
    if (sent < bytes || converting) return;
    // Every byte is on its way; the server now sniffs, validates, converts to Parquet and profiles before answering.
    converting = true;
    progress.stop();
    if (!json) process.stderr.write(`uploaded ${formatBytes(bytes)} in ${((Date.now() - started) / 1000).toFixed(1)} s; validating and converting…\n`);
  });
  const target = opts.dataset ? `/api/v1/datasets/${encodeURIComponent(opts.dataset)}/versions` : '/api/v1/datasets';
  let answer: Response;
  try {
    answer = await client.request('POST', target, { headers: { 'content-type': body.contentType, 'content-length': String(body.contentLength) }, body: body.body });
  } finally {
    progress.stop();
  }
  const answered = (await answer.json()) as IngestResponse | IngestAccepted;
  if (answer.status !== 202) return report(answered as IngestResponse);
  const accepted = answered as IngestAccepted;
  if (!opts.wait) {
    if (json) printJson(accepted);
    else printLine(`Upload stored; ingest job ${accepted.jobId} queued for dataset ${accepted.datasetId}.\nFollow it with: weir jobs show ${accepted.jobId}`);
    return;
  }
  const job = await waitForJob(client, accepted.jobId, { label: 'ingesting', bar: !json });
  if (job.status !== 'succeeded') throw new ApiError(jobProblem(job));
  report(job.result as IngestResponse);

  function report(result: IngestResponse): void {
    if (json) printJson(result);
    else printLine(summary(result, opts.dataset));
  }
}

export function registerUpload(program: Command): void {
  const command = program
    .command('upload')
    .summary('upload a file as a new dataset (or a new version of one)')
    .description(
      'Upload a CSV/TSV, NDJSON, JSON array, Parquet or XLSX file. The file is streamed from disk (never read into ' +
        'memory) and stored; the server then validates it, converts it to Parquet and profiles it in an ingest job, ' +
        'which this command follows with a second progress bar (--no-wait prints the job id instead). Uploading bytes ' +
        'that are already stored creates nothing and reports the existing version.',
    )
    .argument('<file>', 'path of the file to upload')
    .option('--name <name>', 'dataset name (default: the file name)')
    .option('--description <text>', 'dataset description')
    .option('--tags <tags>', 'comma-separated tags, e.g. sales,2024')
    .addOption(
      new Option('--dataset <id>', 'add the file as a new version of this dataset instead of creating one').conflicts(['name', 'description', 'tags']),
    )
    .option('--no-wait', 'return once the file is stored, printing the ingest job (follow it with weir jobs show)');
  clientAction<UploadOptions>(command, (ctx, args, opts) => upload(ctx, arg(args, 0), opts));
}
