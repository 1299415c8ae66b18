import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import { ApiError, UnreachableError, type WeirClient } from './client.js';
import { arg, clientAction, printLine } from './command.js';
import { clean } from './format.js';
import type { JobWire as Job } from './jobs.js';

const isFinished = (status: Job['status']): boolean =>
  status === 'succeeded' || status === 'failed' || status === 'cancelled';

/** One server-sent event: its name and parsed JSON data. */
export interface SseEvent {
  event: string;
  data: unknown;
}

/** Parses a text/event-stream body (the subset Weir sends: `event:` + one `data:` line, `:` comments). */
export async function* readSse(body: ReadableStream<Uint8Array>): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true }).replace(/\r\n?/g, '\n');
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = 'message';
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) event = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
      }
      if (data.length > 0) yield { event, data: JSON.parse(data.join('\n')) as unknown };
    }
  }
}

interface JobBar {
  update(percent: number, status: string, message: string | null): void;
  stop(): void;
}

/** A percentage bar on stderr, only on a terminal and not with --json (as the upload bar). */
function jobBar(id: string, enabled: boolean): JobBar {
  if (!enabled || !process.stderr.isTTY) return { update: () => {}, stop: () => {} };
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: `${id} {bar} {percentage}% | {status} {message}`,
      barsize: 30,
      hideCursor: false,
      clearOnComplete: true,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(100, 0, { status: '', message: '' });
  let stopped = false;
  return {
    update: (percent, status, message) =>
      bar.update(Math.max(0, Math.min(100, percent)), { status, message: clean(message ?? '') }),
    stop: () => {
      if (stopped) return;
      stopped = true;
      bar.stop();
    },
  };
}

/** Reconnects after the stream broke before the job ended (a server restart, a proxy timeout). */
const MAX_RECONNECTS = 5;
const RECONNECT_DELAY_MS = 1000;

/**
 * Follows the job's SSE stream until its final state. A broken stream is reopened (it starts again with the
 * current state, so nothing is lost); an API error (404, 401) ends the watch at once.
 */
async function follow(client: WeirClient, id: string, onEvent: (e: SseEvent) => void): Promise<Job> {
  let last: Job | null = null;
  for (let attempt = 0; ; attempt++) {
    try {
      const response = await client.request('GET', `/api/v1/jobs/${encodeURIComponent(id)}/events`, {
        headers: { accept: 'text/event-stream' },
      });
      if (!response.body) throw new Error('the server sent no event stream');
      for await (const e of readSse(response.body)) {
        onEvent(e);
        if (e.event === 'state') last = e.data as Job;
      }
      if (last && isFinished(last.status)) return last;
    } catch (e) {
      // An answer such as 404 or 401, or no server at all on the first try, ends the watch; a stream that broke is reopened.
      if (e instanceof ApiError || (e instanceof UnreachableError && attempt === 0) || attempt >= MAX_RECONNECTS)
        throw e;
    }
    if (attempt >= MAX_RECONNECTS) throw new Error(`the event stream of job ${id} ended before the job did`);
    await new Promise((r) => setTimeout(r, RECONNECT_DELAY_MS));
  }
}

/** A job's progress event as the SSE stream carries it; `data` is the kind's own detail (a training's losses, …). */
export interface JobProgressWire {
  progress: number;
  message: string | null;
  data: unknown;
}

/**
 * Follows a job live with a progress bar on stderr (with `json`: one JSON event per line on stdout) and returns it
 * finished; throws when it failed or was cancelled, so the command exits 1. `describe` turns a progress event into
 * the bar's message (default: the job's progress message); `onProgress` sees every progress event.
 */
export async function watchJob(
  client: WeirClient,
  id: string,
  json: boolean,
  opts: { describe?: (p: JobProgressWire) => string | null; onProgress?: (p: JobProgressWire) => void } = {},
): Promise<Job> {
  const bar = jobBar(id, !json);
  let job: Job;
  try {
    job = await follow(client, id, (e) => {
      if (json) process.stdout.write(`${JSON.stringify(e)}\n`);
      if (e.event === 'state') {
        const j = e.data as Job;
        bar.update(j.progress, j.status, j.progressMessage);
      } else if (e.event === 'progress') {
        const p = e.data as JobProgressWire;
        bar.update(p.progress, 'running', opts.describe ? opts.describe(p) : p.message);
        opts.onProgress?.(p);
      }
    });
  } finally {
    bar.stop();
  }
  if (job.status !== 'succeeded') {
    const why = job.error ? `: ${job.error.message} (${job.error.code})` : '';
    throw new Error(`job ${id} ${job.status}${why}`);
  }
  return job;
}

/** `weir jobs watch <id>`: a live progress bar; exit 0 when the job succeeds, 1 when it fails or is cancelled. */
export function registerWatchCommand(jobs: Command): void {
  clientAction(
    jobs
      .command('watch')
      .argument('<id>', 'job id (job_…)')
      .description(
        'Follow a job live until it ends: exit code 0 when it succeeds, 1 when it fails or is cancelled (--json: one JSON event per line)',
      ),
    async ({ client, json }, args) => {
      const id = arg(args, 0);
      await watchJob(client, id, json);
      if (!json) printLine(`job ${id} succeeded`);
    },
  );
}
