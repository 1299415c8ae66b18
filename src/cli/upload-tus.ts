import { createReadStream } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Upload, type DetailedError, type HttpRequest, type HttpResponse } from 'tus-js-client';
import { weirCommand } from '../weir-command.js';
import { TusHttpStack } from './tus-http-stack.js';
import { loadClientConfig } from './config.js';
import type { Problem } from './api-types.js';
import { ApiError, AuthRequiredError, UnreachableError } from './client.js';
import type { ClientContext } from './command.js';
import { serverKey } from './credentials.js';
import { clean, formatBytes } from './format.js';
import { byteProgress } from './progress.js';
import type { LocalFile, UploadOptions } from './upload.js';
import { elapsed, followIngest, note, refusalProblem, type Refusal } from './upload-ingest.js';
import { ResumeRecords, type RecordIdentity, type ResumeRecord } from './upload-resume.js';

/**
 * `weir upload` over tus 1.0.0 (POST /api/v1/uploads, then PATCHes) with tus-js-client: network failures are retried
 * from the last byte the server stored, and the upload URL is recorded so `weir upload --resume <file>` can continue
 * after Ctrl-C or a crash.
 */

/** tus-js-client's waits (ms) before each retry after a network error; reset whenever the server accepts more bytes. */
const RETRY_DELAYS_MS = [0, 1000, 3000, 5000, 10_000, 20_000, 30_000];
const UPLOADS_PATH = '/api/v1/uploads';

/** GET /api/v1/uploads/:id (the parts the CLI reads). */
interface UploadView {
  id: string;
  status: 'uploading' | 'complete' | 'ingesting' | 'done' | 'rejected' | 'failed' | 'expired';
  offset: number;
  length: number | null;
  datasetId: string | null;
  jobId: string | null;
  error: Refusal | null;
}

/** A refused (or failed) upload, as the problem a synchronous upload would have answered. */
const refusedError = (view: UploadView): ApiError =>
  new ApiError(refusalProblem(view.error ?? { code: view.status, message: `The upload was ${view.status}` }, view.id));

/** Everything a tus upload of one file needs to know about where it goes. */
interface TusTarget {
  file: LocalFile;
  workspace: string | null;
  records: ResumeRecords;
  identity: RecordIdentity;
  key: string;
  /** The command that continues this upload, for hints. */
  resumeCommand: string;
}

function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

function tusTarget(ctx: ClientContext, file: LocalFile, opts: UploadOptions): TusTarget {
  // clientAction picks the same: --workspace, else WEIR_WORKSPACE (it is sent as x-weir-workspace and keys the record).
  const workspace = opts.workspace ?? loadClientConfig().workspace;
  const identity: RecordIdentity = {
    file: file.absolute,
    size: file.bytes,
    mtimeMs: file.mtimeMs,
    server: serverKey(ctx.url),
    workspace,
  };
  const flags = [
    opts.url ? ` --url ${shellQuote(opts.url)}` : '',
    opts.workspace ? ` --workspace ${opts.workspace}` : '',
  ].join('');
  return {
    file,
    workspace,
    identity,
    key: ResumeRecords.key(identity),
    records: new ResumeRecords(path.join(ctx.credentials.dir, 'uploads')),
    resumeCommand: weirCommand(`upload --resume ${shellQuote(file.given)}${flags}`),
  };
}

const uploadIdOf = (url: string): string =>
  decodeURIComponent(new URL(url).pathname.split('/').filter(Boolean).pop() ?? '');

/**
 * GET /uploads/:id, waiting out a 429 (its `retryAfter`, seconds) up to three times: a transfer in small chunks
 * can spend the API rate limit, and this call comes right before or after one.
 */
async function getView(ctx: ClientContext, id: string): Promise<UploadView> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await ctx.client.getJson<UploadView>(`${UPLOADS_PATH}/${encodeURIComponent(id)}`);
    } catch (e) {
      const after =
        e instanceof ApiError && e.problem.status === 429
          ? Number((e.problem as { retryAfter?: unknown }).retryAfter)
          : NaN;
      if (attempt >= 3 || !(after > 0)) throw e;
      note(ctx, `rate limited by the server; retrying in ${after} s…`);
      await sleep(Math.min(after, 120) * 1000);
    }
  }
}

/** What a HEAD answers for an upload whose file was refused: too large (413), not readable (415), invalid (422). */
const REFUSAL_STATUSES = new Set([413, 415, 422]);

/** Socket-level failures: worth retrying once the link (or the server) is back. */
const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'ECONNABORTED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  'ENOTFOUND',
]);
/** …of which these mean "nothing listens there": before the upload exists, report that at once instead of retrying. */
const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

const errnoOf = (e: unknown): string | undefined => {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
};

function isDetailed(e: unknown): e is DetailedError {
  return e instanceof Error && 'originalRequest' in e && 'causingError' in e;
}

function isProblem(v: unknown): v is Problem {
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof (v as Problem).detail === 'string' &&
    typeof (v as Problem).status === 'number'
  );
}

/** The problem document of a tus answer (HEAD answers have no body: one is made up). */
function problemOf(res: HttpResponse): Problem {
  try {
    const parsed: unknown = JSON.parse(res.getBody());
    if (isProblem(parsed)) return { ...parsed, errors: Array.isArray(parsed.errors) ? parsed.errors : [] };
  } catch {
    // Not JSON.
  }
  const status = res.getStatus();
  return {
    type: 'about:blank',
    title: `HTTP ${status}`,
    status,
    detail: `the server answered ${status}`,
    code: 'http_error',
    errors: [],
    requestId: res.getHeader('x-request-id') ?? '',
  };
}

class UploadGoneError extends Error {
  constructor(id: string, why: string, file: LocalFile) {
    super(
      `upload ${id} is no longer on the server (${why}), so there is nothing to resume; run \`${weirCommand(`upload ${shellQuote(file.given)}`)}\` to upload the file again`,
    );
    this.name = 'UploadGoneError';
  }
}

/** A finished transfer: the upload's URL, and when the API rate limit the PATCHes drew on will have room again. */
interface Transferred {
  url: string;
  /** Epoch ms; 0 when the window still has room for following the ingest. */
  rateLimitedUntil: number;
}

/** Requests the ingest needs after the transfer (the upload view, the job polls) before the rate-limit window resets. */
const FOLLOW_UP_REQUESTS = 20;

/**
 * Sends the file with tus-js-client: a new upload (creation, then PATCHes of `chunkSize`), or, with `resume`, the
 * rest of a recorded one. Network failures are retried (RETRY_DELAYS_MS); Ctrl-C aborts, says how to resume and
 * exits 130. Resolves once the server holds every byte.
 */
function transfer(
  ctx: ClientContext,
  target: TusTarget,
  opts: UploadOptions,
  resume?: { record: ResumeRecord; offset: number },
): Promise<Transferred> {
  const { client } = ctx;
  const { file, records, key } = target;
  const from = resume?.offset ?? 0;
  const progress = byteProgress('uploading', file.bytes, !ctx.json, from);
  /** Bytes the server has confirmed storing: it may hold more (it keeps what arrived of a cut-off PATCH). */
  let confirmed = from;
  let sentAuthorization: string | undefined;
  let renewAuthorization = false;
  let authRetried = false;
  let conflicts = 0;
  /** Epoch ms before which no request goes out: a 429's (or 503's) Retry-After. */
  let notBefore = 0;
  let rateLimitedUntil = 0;
  /** This run's upload URL once the server created it (or, resuming, the recorded one). */
  let uploadUrl: string | null = resume?.record.uploadUrl ?? null;
  /**
   * Set when a HEAD says this upload was refused (the server may answer a refusal while a PATCH is still sending, and
   * the client can then see a broken connection instead of the answer, and retry). tus-js-client answers any failed
   * HEAD by creating a fresh upload of the same file, which the server would refuse again: that creation is stopped.
   */
  let refusedOnResume = false;

  return new Promise<Transferred>((resolve, reject) => {
    const metadata: Record<string, string> = { filename: file.filename };
    if (opts.name !== undefined) metadata.name = opts.name;
    if (opts.description !== undefined) metadata.description = opts.description;
    if (opts.tags !== undefined) metadata.tags = opts.tags;
    if (opts.dataset !== undefined) metadata.datasetId = opts.dataset;

    const upload: Upload = new Upload(createReadStream(file.absolute), {
      // Resuming: no endpoint, so an upload the server no longer has is an error rather than a silent fresh start.
      endpoint: resume ? null : client.url(UPLOADS_PATH).toString(),
      httpStack: new TusHttpStack(),
      metadata,
      chunkSize: opts.chunkSize,
      retryDelays: RETRY_DELAYS_MS,
      headers: target.workspace ? { 'x-weir-workspace': target.workspace } : {},
      fingerprint: () => Promise.resolve(key),
      urlStorage: records.urlStorage(target.identity),
      storeFingerprintForResuming: true,
      // Removed below, awaited, once the bytes are in.
      removeFingerprintOnSuccess: false,
      // The CLI's own credentials, fetched per request so a long upload outlives the access token (and, after a 401, renewed once).
      onBeforeRequest: async (req: HttpRequest) => {
        if (refusedOnResume && req.getMethod() === 'POST')
          throw new Error('the server refused this upload; not creating another of the same file');
        if (notBefore > Date.now()) await sleep(notBefore - Date.now());
        if (!client.tokens) return;
        if (renewAuthorization && sentAuthorization) {
          renewAuthorization = false;
          await client.tokens.renew(sentAuthorization);
        }
        sentAuthorization = await client.tokens.authorization();
        if (sentAuthorization) req.setHeader('Authorization', sentAuthorization);
      },
      onAfterResponse: (req, res) => {
        if (req.getMethod() === 'HEAD' && REFUSAL_STATUSES.has(res.getStatus())) refusedOnResume = true;
        const remaining = Number(res.getHeader('ratelimit-remaining'));
        const reset = Number(res.getHeader('ratelimit-reset'));
        rateLimitedUntil =
          Number.isFinite(remaining) && remaining < FOLLOW_UP_REQUESTS && reset > 0
            ? Date.now() + Math.min(reset, 120) * 1000
            : 0;
      },
      onShouldRetry: (err) => {
        const status = err.originalResponse?.getStatus() ?? 0;
        if (status === 401) {
          if (authRetried) return false;
          authRetried = renewAuthorization = true;
          return true;
        }
        // A 409 after a lost answer is settled by one HEAD; more in a row mean the upload cannot take bytes (refused, finished).
        if (status === 409) return ++conflicts <= 2;
        if (status === 429 || status === 503) {
          // Every PATCH counts against the API rate limit: small chunks on a fast link can run into it.
          const after = Number(err.originalResponse?.getHeader('retry-after'));
          if (after > 0) notBefore = Date.now() + Math.min(after, 120) * 1000;
          return true;
        }
        if (status === 423 || status >= 500) return true;
        if (status !== 0) return false;
        const code = errnoOf(err.causingError);
        if (code === undefined || !NETWORK_CODES.has(code)) return false;
        return upload.url !== null || !UNREACHABLE_CODES.has(code);
      },
      onProgress: (sent) => progress.update(sent),
      onUploadUrlAvailable: () => {
        uploadUrl = upload.url;
      },
      onChunkComplete: (_size, accepted) => {
        confirmed = accepted;
        conflicts = 0;
        authRetried = false;
      },
      onSuccess: () => {
        settle();
        resolve({ url: upload.url ?? uploadUrl ?? '', rateLimitedUntil });
      },
      onError: (e) => {
        settle();
        // A refusal can be answered while the PATCH body is still being sent; the server then stops reading, and the
        // half-sent request would keep the process alive. Nothing is resumed from here, so drop it.
        void upload.abort().catch(() => {});
        reject(e);
      },
    });

    let interrupted = false;
    const onSignal = (signal: NodeJS.Signals) => {
      // A second Ctrl-C while the first one is being handled: leave at once.
      if (interrupted) process.exit(130);
      interrupted = true;
      void (async () => {
        await upload.abort().catch(() => {});
        progress.stop();
        await records.idle();
        const where = `the server holds at least ${formatBytes(confirmed)} of ${formatBytes(file.bytes)}`;
        process.stderr.write(
          upload.url
            ? `\nweir: upload interrupted (${signal}); ${where}. Continue it with:\n  ${target.resumeCommand}\n`
            : `\nweir: upload interrupted (${signal}) before the server created it; nothing to resume\n`,
        );
        process.exit(signal === 'SIGINT' ? 130 : 143);
      })();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    const settle = () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      progress.stop();
    };

    if (resume) {
      upload.resumeFromPreviousUpload({
        size: file.bytes,
        metadata: {},
        creationTime: resume.record.createdAt,
        urlStorageKey: key,
        uploadUrl: resume.record.uploadUrl,
        parallelUploadUrls: null,
      });
    }
    upload.start();
  }).catch(async (e: unknown) => {
    throw await transferFailure(ctx, target, e, { uploadUrl, confirmed });
  });
}

/** Statuses after which a retry can help: the upload itself is still fine. */
const TRANSIENT_STATUSES = new Set([401, 409, 423, 429]);

/**
 * What to tell the user when tus gave up (`uploadUrl`: the upload this run created or resumed, if any): the
 * server's own verdict when there is one, else why and how to resume.
 */
async function transferFailure(
  ctx: ClientContext,
  target: TusTarget,
  e: unknown,
  run: { uploadUrl: string | null; confirmed: number },
): Promise<Error> {
  const { records, key, file } = target;
  const { uploadUrl, confirmed } = run;
  const detailed = isDetailed(e) ? e : null;
  const response = detailed?.originalResponse ?? null;
  const status = response?.getStatus() ?? 0;
  // Ask the server what became of the upload: a refused file or a finished upload cannot be resumed.
  const view = uploadUrl ? await getView(ctx, uploadIdOf(uploadUrl)).catch(() => null) : null;
  if (view && view.status !== 'uploading') await records.remove(key);
  const held = `the server holds at least ${formatBytes(confirmed)} of ${formatBytes(file.bytes)}`;
  // The upload vanished between two requests (terminated, or expired and swept).
  if ((status === 404 || status === 410) && uploadUrl && detailed?.originalRequest.getMethod() !== 'POST') {
    await records.remove(key);
    return new UploadGoneError(uploadIdOf(uploadUrl), status === 404 ? 'deleted' : 'it expired', file);
  }
  // A refusal (415 for a PNG named .csv, 413 over the quota, 404 for --dataset): the server's problem document says it best.
  if (status >= 400 && status < 500 && !TRANSIENT_STATUSES.has(status)) return new ApiError(problemOf(response!));
  if (view?.status === 'rejected' || view?.status === 'failed') return refusedError(view);
  if (view?.status === 'expired') return new UploadGoneError(view.id, 'it expired', file);
  if (response) {
    const problem = problemOf(response);
    if (status === 401 && ctx.client.tokens)
      return new AuthRequiredError(problem, ctx.client.tokens.rejected(problem.detail));
    if (!uploadUrl) return new ApiError(problem);
    return new Error(`${clean(problem.detail)}; ${held}. Continue later with: ${target.resumeCommand}`);
  }
  const cause = detailed?.causingError ?? e;
  const code = errnoOf(cause);
  // Not the network: our own failure (a session that ended, a file that changed size) says it best.
  if (code === undefined || !NETWORK_CODES.has(code)) return cause instanceof Error ? cause : new Error(String(cause));
  const reason = cause instanceof Error ? cause.message : String(cause);
  if (!uploadUrl) return new UnreachableError(ctx.url, `${reason} (${code})`, UNREACHABLE_CODES.has(code));
  return new Error(
    `the upload stopped (${reason}) and ${RETRY_DELAYS_MS.length} retries did not get through; ${held}. Continue it with: ${target.resumeCommand}`,
  );
}

/** Every byte is in: the upload's ingest job (queued by the request that brought the last byte) is followed. */
async function afterTransfer(ctx: ClientContext, id: string, opts: UploadOptions, rateLimitedUntil = 0): Promise<void> {
  // The PATCHes spent the API rate limit: the ingest's requests would be refused (429) until the window resets.
  const wait = rateLimitedUntil - Date.now();
  if (wait > 0) {
    note(ctx, `waiting ${Math.ceil(wait / 1000)} s for the API rate limit before following the ingest…`);
    await sleep(wait);
  }
  let view = await getView(ctx, id);
  // The job is queued before the last PATCH is answered; a short wait covers a server that answers first.
  for (let delay = 100; !view.jobId && view.status === 'uploading' && delay < 2000; delay *= 2) {
    await sleep(delay);
    view = await getView(ctx, id);
  }
  if (view.status === 'rejected') throw refusedError(view);
  if (!view.jobId || !view.datasetId)
    throw new Error(
      `upload ${id} is ${view.status} and has no ingest job; see ${weirCommand('jobs ls --kind upload.ingest')}`,
    );
  await followIngest(ctx, { jobId: view.jobId, datasetId: view.datasetId, uploadId: id }, opts, {
    uploadId: id,
    datasetId: view.datasetId,
    jobId: view.jobId,
    status: 'queued',
  });
}

/** A new upload of `file` over tus, then its ingest. */
export async function tusUpload(ctx: ClientContext, file: LocalFile, opts: UploadOptions): Promise<void> {
  const target = tusTarget(ctx, file, opts);
  const existing = await target.records.get(target.key);
  if (existing)
    note(
      ctx,
      `an interrupted upload of this file (${uploadIdOf(existing.uploadUrl)}) can be continued with \`${target.resumeCommand}\`; starting a new upload instead`,
    );
  const started = Date.now();
  const done = await transfer(ctx, target, opts);
  await target.records.remove(target.key);
  note(ctx, `uploaded ${formatBytes(file.bytes)} in ${elapsed(started)}; validating and converting…`);
  await afterTransfer(ctx, uploadIdOf(done.url), opts, done.rateLimitedUntil);
}

/** `--resume`: continues the recorded upload of `file` from the server's offset, then follows its ingest. */
export async function resumeUpload(ctx: ClientContext, file: LocalFile, opts: UploadOptions): Promise<void> {
  const target = tusTarget(ctx, file, opts);
  const { records, key } = target;
  const record = await records.get(key);
  if (!record) {
    const stale = await records.forPath(target.identity);
    for (const k of stale) await records.remove(k);
    if (stale.length > 0)
      throw new Error(
        `${file.given} has changed (size or modification time) since its upload was interrupted, so it cannot be resumed; run \`${weirCommand(`upload ${shellQuote(file.given)}`)}\` to upload it again`,
      );
    const where = `${ctx.url}${target.workspace ? ` (workspace ${target.workspace})` : ''}`;
    throw new Error(
      `nothing to resume: no interrupted upload of ${file.given} to ${where} is recorded; run \`${weirCommand(`upload ${shellQuote(file.given)}`)}\` to start one`,
    );
  }
  const id = uploadIdOf(record.uploadUrl);
  let view: UploadView;
  try {
    view = await getView(ctx, id);
  } catch (e) {
    if (e instanceof ApiError && (e.problem.status === 404 || e.problem.status === 410)) {
      await records.remove(key);
      throw new UploadGoneError(id, e.problem.status === 404 ? 'deleted' : 'it expired', file);
    }
    throw e;
  }
  if (view.status !== 'uploading') {
    await records.remove(key);
    if (view.status === 'expired') throw new UploadGoneError(id, 'it expired', file);
    if (view.status === 'rejected') throw refusedError(view);
    note(ctx, `upload ${id} already has all ${formatBytes(file.bytes)}; following its ingest`);
    return afterTransfer(ctx, id, opts);
  }
  const percent = file.bytes > 0 ? ` (${((view.offset / file.bytes) * 100).toFixed(1)}%)` : '';
  note(ctx, `resuming upload ${id} at byte ${view.offset} of ${file.bytes}${percent}`);
  const started = Date.now();
  const done = await transfer(ctx, target, opts, { record, offset: view.offset });
  await records.remove(key);
  note(
    ctx,
    `uploaded the remaining ${formatBytes(file.bytes - view.offset)} in ${elapsed(started)}; validating and converting…`,
  );
  await afterTransfer(ctx, id, opts, done.rateLimitedUntil);
}
