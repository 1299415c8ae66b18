import { stat } from 'node:fs/promises';
import path from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { parseByteSize } from '../config/reader.js';
import { weirCommand } from '../weir-command.js';
import type { IngestResponse } from './api-types.js';
import { arg, clientAction, type ClientContext, type SharedOptions } from './command.js';
import { formatBytes } from './format.js';
import { multipartUpload } from './multipart.js';
import { byteProgress } from './progress.js';
import { elapsed, followIngest, note, reportIngest, type IngestOptions } from './upload-ingest.js';
import { DATASETS, resolveId } from './resolve.js';

export interface UploadOptions extends SharedOptions, IngestOptions {
  name?: string;
  description?: string;
  tags?: string;
  /** --tus / --no-tus; undefined: by size (tusThreshold). */
  tus?: boolean;
  /** Bytes; larger files go over tus. */
  tusThreshold: number;
  /** Bytes per tus PATCH. */
  chunkSize: number;
  /** --resume: continue the recorded tus upload of the file. */
  resume?: boolean;
}

/** 16 MB (decimal, as `--tus-threshold 16MB` reads): below it one request beats tus's extra round trips, and a retry costs little. */
const DEFAULT_TUS_THRESHOLD = 16e6;
const DEFAULT_CHUNK_SIZE = 8 * 1024 ** 2;

/** A file about to be uploaded, as found on disk. */
export interface LocalFile {
  /** As the user typed it (for messages and the resume hint). */
  given: string;
  absolute: string;
  filename: string;
  bytes: number;
  mtimeMs: number;
}

/** 202 answer of a multipart upload: the ingest runs as a job. */
interface IngestAccepted {
  datasetId: string;
  jobId: string;
  status: 'queued';
}

/** The file's size and mtime, with a readable message for the usual mistakes (typo, directory). */
async function localFile(file: string): Promise<LocalFile> {
  try {
    const s = await stat(file);
    if (!s.isFile()) throw new Error(`${file} is not a regular file`);
    return {
      given: file,
      absolute: path.resolve(file),
      filename: path.basename(file),
      bytes: s.size,
      mtimeMs: s.mtimeMs,
    };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new Error(`${file}: no such file`);
    if (code === 'EACCES') throw new Error(`${file}: permission denied`);
    throw e;
  }
}

/** One multipart POST: the file streamed from disk inside a form (no resume: a failure means sending it all again). */
async function multipart(ctx: ClientContext, file: LocalFile, opts: UploadOptions): Promise<void> {
  const { bytes } = file;
  const progress = byteProgress('uploading', bytes, !ctx.json);
  const started = Date.now();
  let converting = false;
  const body = multipartUpload(
    { path: file.given, filename: file.filename, bytes },
    { name: opts.name, description: opts.description, tags: opts.tags },
    (sent) => {
      progress.update(sent);
      if (sent < bytes || converting) return;
      // Every byte is on its way; the server now sniffs, validates, converts to Parquet and profiles before answering.
      converting = true;
      progress.stop();
      note(ctx, `uploaded ${formatBytes(bytes)} in ${elapsed(started)}; validating and converting…`);
    },
  );
  const target = opts.dataset ? `/api/v1/datasets/${encodeURIComponent(opts.dataset)}/versions` : '/api/v1/datasets';
  let answer: Response;
  try {
    answer = await ctx.client.request('POST', target, {
      headers: { 'content-type': body.contentType, 'content-length': String(body.contentLength) },
      body: body.body,
    });
  } finally {
    progress.stop();
  }
  const answered = (await answer.json()) as IngestResponse | IngestAccepted;
  if (answer.status !== 202) return reportIngest(ctx, answered as IngestResponse, opts);
  const accepted = answered as IngestAccepted;
  await followIngest(ctx, accepted, opts, accepted);
}

async function upload(ctx: ClientContext, given: string, opts: UploadOptions): Promise<void> {
  if (opts.resume && opts.tus === false)
    throw new Error('--resume continues a tus upload; it cannot be combined with --no-tus');
  const file = await localFile(given);
  // Resolved before any byte is sent: a name that is ambiguous or unknown costs nothing.
  if (opts.dataset !== undefined) opts = { ...opts, dataset: await resolveId(ctx.client, DATASETS, opts.dataset) };
  if (opts.resume || (opts.tus ?? file.bytes > opts.tusThreshold)) {
    // tus-js-client and its dependencies (about 300 kB) load for tus uploads only: every `weir` command, the
    // server included, starts from this bundle's entry.
    const { resumeUpload, tusUpload } = await import('./upload-tus.js');
    return opts.resume ? resumeUpload(ctx, file, opts) : tusUpload(ctx, file, opts);
  }
  return multipart(ctx, file, opts);
}

/** Commander parser for sizes such as `16MB`, `8MiB`, `65536`. */
function size(min: number) {
  return (value: string): number => {
    const n = parseByteSize(value);
    if (n === undefined || n < min)
      throw new InvalidArgumentError(`expected a size of at least ${formatBytes(min)}, such as 16MB or 8MiB`);
    return n;
  };
}

export function registerUpload(program: Command): void {
  const command = program
    .command('upload')
    .summary('upload a file as a new dataset (or a new version of one)')
    .description(
      'Upload a CSV/TSV, NDJSON, JSON array, Parquet or XLSX file. The file is streamed from disk (never read into ' +
        'memory) and stored; the server then validates it, converts it to Parquet and profiles it in an ingest job, ' +
        'which this command follows with a second progress bar (--no-wait prints the job id instead). Uploading bytes ' +
        'that are already stored creates nothing and reports the existing version.\n\n' +
        'Files larger than --tus-threshold go over tus, the resumable upload protocol, in --chunk-size requests: a ' +
        'broken connection is retried from the last byte the server stored, and after Ctrl-C or a crash ' +
        `\`${weirCommand('upload --resume <file>')}\` continues where the server stopped (with the same --url and --workspace).`,
    )
    .argument('<file>', 'path of the file to upload')
    .option('--name <name>', 'dataset name (default: the file name)')
    .option('--description <text>', 'dataset description')
    .option('--tags <tags>', 'comma-separated tags, e.g. sales,2024')
    .addOption(
      new Option(
        '--dataset <dataset>',
        'add the file as a new version of this dataset (its name or id) instead of creating one',
      ).conflicts(['name', 'description', 'tags']),
    )
    .option(
      '--no-wait',
      `return once the file is stored, printing the ingest job (follow it with ${weirCommand('jobs show')})`,
    )
    .option('--tus', 'send the file over tus (resumable) whatever its size')
    .option('--no-tus', 'send the file in one request whatever its size')
    .addOption(
      new Option('--tus-threshold <size>', 'files larger than this go over tus')
        .argParser(size(1))
        .default(DEFAULT_TUS_THRESHOLD, '16MB'),
    )
    .addOption(
      new Option('--chunk-size <size>', 'bytes per tus request')
        .argParser(size(1024))
        .default(DEFAULT_CHUNK_SIZE, '8MiB'),
    )
    .option(
      '--resume',
      'continue the interrupted tus upload of <file> from the byte the server stopped at (--name and the like are those of the original upload)',
    );
  clientAction<UploadOptions>(command, (ctx, args, opts) => upload(ctx, arg(args, 0), opts));
}
