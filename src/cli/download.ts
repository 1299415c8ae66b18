import { createWriteStream } from 'node:fs';
import { access, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { Argument, Option, type Command } from 'commander';
import { DATASET_FORMATS, type DatasetFormat } from './api-types.js';
import { arg, clientAction, printJson, printLine, type ClientContext } from './command.js';
import { clean, formatBytes } from './format.js';
import { DATASETS, resolveId } from './resolve.js';

interface DownloadOptions {
  format: DatasetFormat;
  out?: string;
  version?: string;
  force?: boolean;
}

/**
 * The file name a content-disposition header suggests (RFC 6266: filename* wins over filename), reduced to a
 * plain base name so a hostile server cannot write outside the current directory or into a dotfile.
 */
export function filenameFromDisposition(header: string | null): string | undefined {
  if (!header) return undefined;
  let name: string | undefined;
  const extended = /filename\*\s*=\s*(?:UTF-8|utf-8)''([^;\s]+)/.exec(header);
  if (extended?.[1]) {
    try {
      name = decodeURIComponent(extended[1]);
    } catch {
      name = undefined;
    }
  }
  name ??=
    /filename\s*=\s*"((?:[^"\\]|\\.)*)"/.exec(header)?.[1]?.replace(/\\(.)/g, '$1') ??
    /filename\s*=\s*([^;\s]+)/.exec(header)?.[1];
  if (!name) return undefined;
  const base = path
    .basename(name.replace(/\\/g, '/'))
    .replace(/\p{Cc}/gu, '')
    .replace(/^\.+/, '');
  return base === '' ? undefined : base;
}

/** Writes to `<dest>.part` and renames at the end, so an interrupted download never looks like a complete file. */
export async function saveTo(source: Readable, dest: string): Promise<number> {
  const partial = `${dest}.part`;
  let bytes = 0;
  source.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
  });
  try {
    await pipeline(source, createWriteStream(partial));
    await rename(partial, dest);
    return bytes;
  } catch (e) {
    await rm(partial, { force: true });
    throw e;
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}

async function download({ client, json }: ClientContext, id: string, opts: DownloadOptions): Promise<void> {
  const toStdout = opts.out === '-' || (opts.out === undefined && !process.stdout.isTTY);
  const response = await client.request('GET', `/api/v1/datasets/${encodeURIComponent(id)}/download`, {
    query: { format: opts.format, version: opts.version },
  });
  if (!response.body) throw new Error('the server sent no file');
  const source = Readable.fromWeb(response.body as WebReadableStream<Uint8Array>);
  if (toStdout) {
    await pipeline(source, process.stdout, { end: false });
    return;
  }
  let dest = opts.out;
  if (dest === undefined) {
    dest = filenameFromDisposition(response.headers.get('content-disposition')) ?? `${id}.${opts.format}`;
    // The name came from the server, not the user: do not silently replace a file that happens to have it.
    if (!opts.force && (await exists(dest))) {
      source.destroy();
      throw new Error(`${dest} already exists; pass --force to overwrite it or --out to choose another name`);
    }
  }
  const bytes = await saveTo(source, dest);
  if (json)
    printJson({
      path: path.resolve(dest),
      bytes,
      format: opts.format,
      contentType: response.headers.get('content-type'),
    });
  else printLine(`saved ${clean(dest)} (${formatBytes(bytes)})`);
}

export function registerDownload(datasets: Command): void {
  const command = datasets
    .command('download')
    .summary('download a dataset version as CSV, NDJSON, JSON, Parquet or XLSX')
    .description(
      "Stream a dataset version to a file. Without --out the file is named after the server's suggestion " +
        '(e.g. sales-v3.csv) in the current directory, or written to stdout when stdout is not a terminal.',
    )
    .addArgument(new Argument('<dataset>', 'dataset name or id (ds_…)'))
    .addOption(new Option('--format <format>', 'file format').choices(DATASET_FORMATS).default('csv'))
    .option('--out <path>', 'write to this file ("-" for stdout)')
    .option('--version <id>', 'version id (dv_…; default: the latest)')
    .option('--force', "overwrite an existing file named after the server's suggestion");
  clientAction<DownloadOptions>(command, async (ctx, args, opts) =>
    download(ctx, await resolveId(ctx.client, DATASETS, arg(args, 0)), opts),
  );
}
