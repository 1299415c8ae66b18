import { createHash, randomBytes, type Hash } from 'node:crypto';
import { hostname } from 'node:os';
import { Transform, type Readable } from 'node:stream';
import { isoAfter, systemClock, type Clock } from '../clock.js';
import { HEAD_BYTES, detectFormat } from '../datasets/sniff.js';
import type { DatasetService } from '../datasets/service.js';
import { AppError, errors, fileRejected, isAppError, isErrorCode } from '../errors.js';
import { newId } from '../ids.js';
import { isFinished } from '../jobs/types.js';
import type { JobService } from '../jobs/service.js';
import type { Log } from '../logger.js';
import type { Permission } from '../identity/permissions.js';
import type { UploadEvents } from './events.js';
import { PROGRESS_EVERY_MS } from './events.js';
import { UPLOAD_INGEST_KIND, type UploadIngestPayload } from './jobs.js';
import type { StoredUpload, UploadStatus, UploadView } from './model.js';
import { declaredFilename, readUploadMetadata, type ChecksumHeader, type ConcatHeader } from './protocol.js';
import type { UploadRepo } from './repo.js';
import type { StagingWrite, UploadStaging } from './staging.js';

export interface UploadLimits {
  /** Largest upload (WEIR_MAX_UPLOAD_BYTES). */
  maxBytes: number;
  /** An unfinished upload not written for this long expires (WEIR_UPLOAD_EXPIRY), in ms. */
  expiryMs: number;
  /** WEIR_WORKSPACE_QUOTA; null = none. */
  quotaBytes: number | null;
}

/** Who asks, as the upload rules need it: an upload belongs to its creator. */
export interface UploadCaller {
  userId: string;
  /** The login session or API key the request came with: only the session writing an upload may take its write over. */
  session: string;
  permissions: ReadonlySet<Permission>;
}

export interface CreateUpload {
  workspaceId: string;
  caller: UploadCaller;
  /** Upload-Length; undefined with Upload-Defer-Length: 1. */
  length: number | undefined;
  metadata: Map<string, string>;
  concat: ConcatHeader | undefined;
  log: Log;
}

export interface WriteRequest {
  /** Upload-Offset as the client sent it. */
  offset: number;
  /** Upload-Length sent with a PATCH (a deferred length). */
  length?: number;
  checksum?: ChecksumHeader;
  body: Readable;
  log: Log;
}

/** How long a writer's lock lasts without renewal; a writer renews it every third of that. */
const LOCK_LEASE_MS = 30_000;
/** How long a new PATCH waits for the request it replaces (same upload, this process) to store its bytes. */
const HANDOVER_TIMEOUT_MS = 10_000;
/** Statuses in which the upload's bytes are all in: HEAD reports them complete and PATCH refuses more. */
const RECEIVED: UploadStatus[] = ['complete', 'ingesting', 'done', 'rejected', 'failed'];

/** A PATCH in progress in this process: the next PATCH (or HEAD) of the same upload from the same session stops it and waits for it. */
interface ActiveWriter {
  session: string;
  stop(): void;
  done: Promise<void>;
}

/**
 * tus uploads as the routes use them: creation (with concatenation and deferred length), the write path with
 * locking, checksums and the early content check, termination, and the hand-off to the ingest job.
 */
export class UploadService {
  private readonly writers = new Map<string, ActiveWriter>();
  private readonly host = hostname();
  private readonly clock: Clock;

  constructor(
    private readonly d: {
      repo: UploadRepo;
      staging: UploadStaging;
      datasets: DatasetService;
      jobs: JobService;
      events: UploadEvents;
      limits: UploadLimits;
      /** Expiry is decided by it (default the system clock). */
      clock?: Clock;
    },
  ) {
    this.clock = d.clock ?? systemClock;
  }

  private expiry(): string {
    return isoAfter(this.clock, this.d.limits.expiryMs);
  }

  async create(c: CreateUpload): Promise<StoredUpload> {
    const meta = readUploadMetadata(c.metadata);
    const { maxBytes } = this.d.limits;
    if (c.concat?.kind === 'final') return this.createFinal(c, meta.filename, meta.datasetId);
    if (c.length !== undefined && c.length > maxBytes) throw errors.payloadTooLarge(maxBytes, 'upload');
    if (meta.datasetId) await this.assertMayAppend(c, meta.datasetId);
    if (c.length !== undefined) await this.checkQuota(c.workspaceId, c.length);
    const upload = await this.d.repo.insert({
      id: newId('up'),
      workspaceId: c.workspaceId,
      createdBy: c.caller.userId,
      status: 'uploading',
      length: c.length ?? null,
      concat: c.concat?.kind === 'partial' ? 'partial' : null,
      parts: [],
      metadata: Object.fromEntries(c.metadata),
      filename: meta.filename,
      datasetId: meta.datasetId ?? null,
      expiresAt: this.expiry(),
    });
    try {
      await this.d.staging.create(upload);
    } catch (e) {
      await this.d.repo.delete(upload.id);
      throw e;
    }
    c.log.info(
      { uploadId: upload.id, length: upload.length, concat: upload.concat, filename: upload.filename },
      'upload created',
    );
    // An empty upload has all its bytes already.
    return upload.length === 0 ? this.complete(upload, c.log) : upload;
  }

  /** The version the upload will add (metadata `datasetId`) is the caller's to add; the ingest job checks again for its creator. */
  private assertMayAppend(c: CreateUpload, datasetId: string): Promise<void> {
    return this.d.datasets.assertMayAppend(c.workspaceId, datasetId, c.caller.permissions, {
      caller: 'request',
      pointer: '/headers/upload-metadata/datasetId',
    });
  }

  private async checkQuota(workspaceId: string, adding: number): Promise<void> {
    const quota = this.d.limits.quotaBytes;
    if (quota === null) return;
    // Bytes held (stored versions) or promised (unfinished uploads).
    const [stored, pending] = await Promise.all([
      this.d.datasets.storedBytes(workspaceId),
      this.d.repo.pendingBytes(workspaceId),
    ]);
    const used = stored + pending;
    if (used + adding > quota) {
      throw new AppError(
        'quota_exceeded',
        `The workspace would hold ${used + adding} bytes, over its quota of ${quota} bytes (${used} used or promised to unfinished uploads)`,
        [{ pointer: '/headers/upload-length', message: `at most ${Math.max(0, quota - used)} bytes fit in the quota` }],
        { quotaBytes: quota, usedBytes: used },
      );
    }
  }

  /** A final upload concatenates finished partial uploads of the same workspace; it is complete at once. */
  private async createFinal(c: CreateUpload, filename: string, datasetId: string | undefined): Promise<StoredUpload> {
    const ids = (c.concat as { parts: string[] }).parts;
    if (new Set(ids).size !== ids.length)
      throw errors.validation('Upload-Concat names a part twice', [
        { pointer: '/headers/upload-concat', message: 'each part may appear once' },
      ]);
    if (datasetId) await this.assertMayAppend(c, datasetId);
    const found = new Map((await this.d.repo.getMany(c.workspaceId, ids)).map((u) => [u.id, u]));
    const parts = ids.map((id) => {
      const part = found.get(id);
      if (!part) throw errors.notFound('Upload', id);
      if (part.concat !== 'partial')
        throw errors.validation(`Upload '${id}' is not a partial upload (create it with Upload-Concat: partial)`, [
          { pointer: '/headers/upload-concat', message: `'${id}' is not partial` },
        ]);
      if (part.status !== 'complete')
        throw errors.conflict(`Partial upload '${id}' is not finished (${part.offset} of ${part.length ?? '?'} bytes)`);
      // The final upload consumes its parts (their bytes go once it is ingested).
      assertOwnerOr(part, c.caller, 'datasets:delete', 'using it in a final upload');
      return part;
    });
    const length = parts.reduce((sum, p) => sum + p.offset, 0);
    if (length > this.d.limits.maxBytes) throw errors.payloadTooLarge(this.d.limits.maxBytes, 'upload');
    const upload = await this.d.repo.insert({
      id: newId('up'),
      workspaceId: c.workspaceId,
      createdBy: c.caller.userId,
      status: 'uploading',
      length,
      offset: length,
      concat: 'final',
      parts: ids,
      metadata: Object.fromEntries(c.metadata),
      filename,
      datasetId: datasetId ?? null,
      expiresAt: this.expiry(),
    });
    c.log.info({ uploadId: upload.id, parts: ids.length, length }, 'final upload created from partial uploads');
    return this.complete(upload, c.log);
  }

  /** The upload, if it exists in the workspace and has not expired (404 / 410 otherwise). */
  async get(workspaceId: string, id: string): Promise<StoredUpload> {
    const upload = await this.d.repo.get(workspaceId, id);
    if (!upload) throw errors.notFound('Upload', id);
    if (
      upload.status === 'expired' ||
      (upload.status === 'uploading' && upload.expiresAt !== null && upload.expiresAt < isoAfter(this.clock))
    ) {
      throw new AppError(
        'upload_gone',
        `Upload '${id}' expired: it was not written to for ${Math.round(this.d.limits.expiryMs / 60_000)} minutes; start a new upload`,
      );
    }
    return upload;
  }

  /**
   * What HEAD reports: the committed offset (the whole length once every byte is in). An upload refused from its
   * first bytes answers its refusal instead: offering its offset would invite a client to resume it. A client asks
   * when it lost track of its last PATCH (a broken connection the server may not have noticed yet): a write
   * still running here for that upload is stopped and its bytes committed first, so the answer counts them and
   * the client does not send them again. Only a request of the writing session does that: the upload is looked up
   * in the caller's workspace first, and anyone else (another member, another workspace) only reads.
   */
  async head(workspaceId: string, id: string, caller: UploadCaller): Promise<StoredUpload> {
    const upload = await this.get(workspaceId, id);
    const writer = this.writers.get(id);
    if (!writer || writer.session !== caller.session) return refusedEarly(upload);
    await supersede(writer);
    return refusedEarly(await this.get(workspaceId, id));
  }

  /**
   * Writes one PATCH (or a creation-with-upload body) at the committed offset and commits what arrived: all of
   * it, or, when the client was cut off, the bytes that reached storage (unless a checksum was sent: bytes that
   * cannot be verified are discarded). Answers the new offset. Only the upload's creator writes to it; a request of
   * the session already writing it takes over from that request, one of any other session waits its turn (423).
   */
  async write(workspaceId: string, id: string, w: WriteRequest, caller: UploadCaller): Promise<StoredUpload> {
    let upload = await this.get(workspaceId, id);
    if (upload.createdBy !== caller.userId)
      throw new AppError(
        'forbidden',
        `Upload '${id}' belongs to another member; only they can write to it (start an upload of your own)`,
      );
    if (upload.concat === 'final')
      throw new AppError('forbidden', 'A final upload is assembled from its parts and takes no PATCH');
    refusedEarly(upload);
    if (RECEIVED.includes(upload.status))
      throw new AppError(
        'offset_mismatch',
        `Upload '${id}' is already complete`,
        [{ pointer: '/headers/upload-offset', message: `the upload has all ${upload.length} bytes` }],
        { offset: upload.offset },
      );

    const owner = `${this.host}:${process.pid}:${randomBytes(6).toString('hex')}`;
    const previous = this.writers.get(id);
    if (previous && previous.session !== caller.session) throw locked(id);
    let release!: () => void;
    const done = new Promise<void>((resolve) => (release = resolve));
    const me: ActiveWriter = {
      session: caller.session,
      stop: () => w.body.destroy(new AppError('conflict', 'superseded by a newer request for this upload')),
      done,
    };
    this.writers.set(id, me);
    try {
      await supersede(previous);
      await this.acquire(upload, owner);
      try {
        // Re-read under the lock: the request this one replaced may have committed more.
        upload = await this.get(workspaceId, id);
        return await this.writeLocked(upload, owner, w);
      } finally {
        await this.d.repo
          .unlock(id, owner)
          .catch((err: unknown) =>
            w.log.warn({ err, uploadId: id }, 'releasing the upload lock failed; it expires by itself'),
          );
      }
    } finally {
      if (this.writers.get(id) === me) this.writers.delete(id);
      release();
    }
  }

  private async acquire(upload: StoredUpload, owner: string): Promise<void> {
    if (await this.d.repo.lock(upload.id, owner, LOCK_LEASE_MS)) return;
    // A holder that died with the lock (kill -9 on this host) is replaced at once instead of after its lease.
    const holder = (await this.d.repo.get(upload.workspaceId, upload.id))?.lockOwner ?? null;
    if (holder && this.isDeadHolder(holder) && (await this.d.repo.lock(upload.id, owner, LOCK_LEASE_MS, holder)))
      return;
    throw locked(upload.id);
  }

  private isDeadHolder(holder: string): boolean {
    const [host, pidText] = holder.split(':');
    if (host !== this.host) return false;
    const pid = Number(pidText);
    // This process's own writers hand over through `writers`, never by lock theft.
    if (pid === process.pid) return false;
    try {
      process.kill(pid, 0);
      return false;
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === 'ESRCH';
    }
  }

  /**
   * One PATCH under the upload's lock, in steps: check the offset and any deferred length, stream the body to
   * staging, keep or discard what arrived (a refused file, an overlong body, a checksum that does not match), commit
   * the kept bytes and advance the offset, and hand a finished upload to its ingest.
   */
  private async writeLocked(upload: StoredUpload, owner: string, w: WriteRequest): Promise<StoredUpload> {
    const from = upload.offset;
    assertOffset(upload, w.offset);
    const length = await this.lengthAfter(upload, w);
    const received = await this.receive(upload, owner, w, length);
    await this.discardUnusable(upload, w, received);
    const bytes = await this.commitReceived(upload, owner, w, received.sink);
    this.d.events.progress(upload.id, from + bytes, length);
    if (received.failure !== null) {
      w.log.info(
        { uploadId: upload.id, committed: bytes, offset: from + bytes, reason: (received.failure as Error).message },
        'upload request cut off; bytes received so far kept',
      );
      throw received.failure;
    }
    const after: StoredUpload = { ...upload, offset: from + bytes, length };
    return length !== null && after.offset === length ? this.complete(after, w.log) : after;
  }

  /** The upload's length once this PATCH is applied: a deferred length may be declared now (checked like at creation). */
  private async lengthAfter(upload: StoredUpload, w: WriteRequest): Promise<number | null> {
    const from = upload.offset;
    const length = upload.length;
    if (w.length === undefined) return length;
    if (length !== null && w.length !== length)
      throw errors.validation(`Upload-Length ${w.length} differs from the length declared before (${length})`, [
        { pointer: '/headers/upload-length', message: `the length is already ${length}` },
      ]);
    if (length === null) {
      if (w.length < from)
        throw errors.validation(`Upload-Length ${w.length} is below the bytes already received (${from})`, [
          { pointer: '/headers/upload-length', message: `must be at least ${from}` },
        ]);
      if (w.length > this.d.limits.maxBytes) throw errors.payloadTooLarge(this.d.limits.maxBytes, 'upload');
      await this.checkQuota(upload.workspaceId, w.length - from);
    }
    return w.length;
  }

  /**
   * Streams the body to staging through the meter, renewing the lock meanwhile. Never throws for the body: a
   * failure (a refusal by the meter, a cut-off client) is returned with whatever reached the sink.
   */
  private async receive(
    upload: StoredUpload,
    owner: string,
    w: WriteRequest,
    length: number | null,
  ): Promise<Received> {
    const from = upload.offset;
    const limit = length ?? this.d.limits.maxBytes;
    const renew = setInterval(
      () => void this.d.repo.renewLock(upload.id, owner, LOCK_LEASE_MS).catch(() => {}),
      LOCK_LEASE_MS / 3,
    );
    renew.unref();
    const meter = new WriteMeter({
      from,
      limit,
      deferred: length === null,
      maxBytes: this.d.limits.maxBytes,
      checksum: w.checksum,
      // The early content check: only a file's own first bytes say what it is (a partial upload may be any slice).
      head:
        upload.concat === null && from < Math.min(HEAD_BYTES, limit)
          ? {
              need: Math.min(HEAD_BYTES, limit),
              before: from > 0 ? await this.d.staging.readHead(upload, from) : Buffer.alloc(0),
              check: (head) => this.checkHead(upload, head, length),
            }
          : null,
      onProgress: (offset) => this.d.events.progress(upload.id, offset, length),
    });
    const sink = await this.d.staging.write(upload, from);
    let failure: unknown = null;
    try {
      await sink.run(w.body, [meter]);
    } catch (e) {
      failure = e;
    } finally {
      clearInterval(renew);
    }
    return { sink, meter, failure };
  }

  /**
   * Throws, after discarding the received bytes, when none of them may be kept: the file was refused from its first
   * bytes (the upload is rejected for good), the body ran past its bounds, or checksummed bytes cannot be verified
   * (checksummed bytes count only when all of them arrived and match).
   */
  private async discardUnusable(upload: StoredUpload, w: WriteRequest, r: Received): Promise<void> {
    const { sink, meter, failure } = r;
    if (isFileRefusal(failure)) {
      await sink.discard();
      await this.reject(upload, failure, w.log);
      throw failure;
    }
    if (isAppError(failure) && (failure.status === 413 || failure.status === 400)) {
      await sink.discard();
      throw failure;
    }
    if (w.checksum && (failure !== null || !meter.checksumMatches())) {
      await sink.discard();
      if (failure !== null) throw failure;
      throw new AppError(
        'checksum_mismatch',
        `The ${w.checksum.algorithm} checksum of the ${meter.bytes} bytes received does not match Upload-Checksum; they were discarded, send them again`,
        [{ pointer: '/headers/upload-checksum', message: 'does not match the body' }],
        { offset: upload.offset },
      );
    }
  }

  /**
   * Keeps the bytes in staging and advances the committed offset (with a newly declared length, and a new expiry);
   * answers how many bytes were committed. Fails when the lock was taken over meanwhile.
   */
  private async commitReceived(
    upload: StoredUpload,
    owner: string,
    w: WriteRequest,
    sink: StagingWrite,
  ): Promise<number> {
    const bytes = sink.bytes;
    // A PATCH that only declares the deferred length still records it.
    if (bytes === 0 && w.length === undefined) {
      await sink.discard();
      return 0;
    }
    await sink.commit();
    const committed = await this.d.repo.commitBytes(upload.id, owner, upload.offset, bytes, {
      length: w.length !== undefined && upload.length === null ? w.length : undefined,
      expiresAt: this.expiry(),
    });
    if (!committed)
      throw new AppError(
        'upload_locked',
        `Upload '${upload.id}' was taken over by another request while this one wrote; resume from HEAD`,
      );
    return bytes;
  }

  private async checkHead(upload: StoredUpload, head: Buffer, length: number | null): Promise<void> {
    await detectFormat(
      head,
      length ?? Number.MAX_SAFE_INTEGER,
      declaredFilename(upload.filename, upload.metadata.filetype),
    );
  }

  private async reject(upload: StoredUpload, e: AppError, log: Log): Promise<void> {
    const error = { code: e.code, message: e.message, details: e.errors.length > 0 ? e.errors : undefined };
    await this.d.repo.transition(upload.id, ['uploading'], 'rejected', { error, finished: true });
    await this.d.staging
      .remove(upload)
      .catch((err: unknown) =>
        log.warn({ err, uploadId: upload.id }, 'removing a refused upload failed; the sweep removes it'),
      );
    log.info({ uploadId: upload.id, code: e.code }, 'upload refused from its first bytes');
    await this.publishState(upload.workspaceId, upload.id);
  }

  /**
   * Every byte is in. A partial upload waits for its final upload; anything else is queued for ingest. Safe to
   * call again (a crash between the job and the status change leaves an upload that the next call completes).
   */
  async complete(upload: StoredUpload, log: Log): Promise<StoredUpload> {
    if (upload.concat === 'partial') {
      await this.d.repo.transition(upload.id, ['uploading'], 'complete', { finished: true });
    } else {
      const payload: UploadIngestPayload = {
        v: 1,
        uploadId: upload.id,
        versionId: newId('dv'),
        ...(upload.datasetId ? { datasetId: upload.datasetId } : { newDatasetId: newId('ds') }),
      };
      const job = await this.d.jobs.enqueue(UPLOAD_INGEST_KIND, payload, {
        workspaceId: upload.workspaceId,
        createdBy: upload.createdBy,
      });
      const moved = await this.d.repo.transition(upload.id, ['uploading'], 'ingesting', {
        jobId: job.id,
        datasetId: upload.datasetId ?? payload.newDatasetId,
      });
      if (!moved) {
        // Someone else completed (or terminated) it first: this job is surplus.
        await this.d.jobs.cancel(upload.workspaceId, job.id).catch(() => {});
      } else {
        log.info({ uploadId: upload.id, jobId: job.id, bytes: upload.length }, 'upload complete; ingest queued');
      }
    }
    await this.publishState(upload.workspaceId, upload.id);
    return (await this.d.repo.get(upload.workspaceId, upload.id))!;
  }

  /**
   * tus termination: the bytes go and the upload is forgotten. An ingest in progress is not interrupted: cancel its
   * job. Another member's upload takes `datasets:delete`, checked before anything is touched.
   */
  async terminate(workspaceId: string, id: string, log: Log, caller: UploadCaller): Promise<void> {
    const upload = await this.d.repo.get(workspaceId, id);
    if (!upload) throw errors.notFound('Upload', id);
    assertOwnerOr(upload, caller, 'datasets:delete', 'deleting it');
    if (upload.status === 'ingesting')
      throw errors.conflict(
        `Upload '${id}' is being ingested (job ${upload.jobId}); cancel that job, then delete the upload`,
      );
    this.writers.get(id)?.stop();
    await this.d.repo.delete(id);
    await this.d.staging
      .remove(upload)
      .catch((err: unknown) =>
        log.warn({ err, uploadId: id }, "removing a terminated upload's bytes failed; the sweep removes them"),
      );
    log.info({ uploadId: id, offset: upload.offset }, 'upload terminated');
    this.d.events.state({ id, status: 'terminated' });
  }

  /** The workspace an upload belongs to, by its id alone (the caller then checks access to that workspace). */
  workspaceOf(id: string): Promise<string | null> {
    return this.d.repo.workspaceOf(id);
  }

  async view(workspaceId: string, id: string): Promise<UploadView> {
    const upload = await this.d.repo.get(workspaceId, id);
    if (!upload) throw errors.notFound('Upload', id);
    return this.toView(upload);
  }

  async list(
    workspaceId: string,
    limit: number,
    offset: number,
    status?: UploadStatus,
  ): Promise<{ items: UploadView[]; total: number }> {
    const { items, total } = await this.d.repo.list(workspaceId, limit, offset, status);
    return { items: await Promise.all(items.map((u) => this.toView(u))), total };
  }

  async publishState(workspaceId: string, id: string): Promise<void> {
    const upload = await this.d.repo.get(workspaceId, id);
    if (upload) this.d.events.state(await this.toView(upload));
  }

  private async toView(u: StoredUpload): Promise<UploadView> {
    const job = u.jobId ? await this.d.jobs.get(u.workspaceId, u.jobId).catch(() => null) : null;
    let status = u.status;
    let error = u.error;
    // The ingest failed for good (or was cancelled) without its handler recording it: the job says so.
    if (status === 'ingesting' && job && isFinished(job.status) && job.status !== 'succeeded') {
      status = 'failed';
      error = job.error ?? { code: job.status, message: `The ingest job was ${job.status}` };
    }
    if (status === 'uploading' && u.expiresAt !== null && u.expiresAt < isoAfter(this.clock)) status = 'expired';
    return {
      id: u.id,
      status,
      filename: u.filename,
      length: u.length,
      offset: u.offset,
      percent: u.length === null ? null : u.length === 0 ? 100 : Math.floor((u.offset / u.length) * 1000) / 10,
      concat: u.concat,
      parts: u.parts,
      metadata: u.metadata,
      datasetId: u.datasetId,
      versionId: u.versionId,
      jobId: u.jobId,
      ingest: job ? { status: job.status, progress: job.progress, message: job.progressMessage } : null,
      duplicateOf: u.duplicateOf,
      error,
      expiresAt: u.expiresAt,
      createdAt: u.createdAt,
      updatedAt: u.updatedAt,
      finishedAt: u.finishedAt,
    };
  }
}

/** A PATCH's body as it reached staging: the sink holding its bytes, the meter it passed, and how it ended (null: whole). */
interface Received {
  sink: StagingWrite;
  meter: WriteMeter;
  failure: unknown;
}

/** The Upload-Offset of a PATCH must be the committed offset: the client resumes from what HEAD reports. */
function assertOffset(upload: StoredUpload, offset: number): void {
  if (offset === upload.offset) return;
  throw new AppError(
    'offset_mismatch',
    `Upload-Offset ${offset} does not match the upload's offset ${upload.offset}; ask for it with HEAD and resume from there`,
    [{ pointer: '/headers/upload-offset', message: `must be ${upload.offset}` }],
    { offset: upload.offset },
  );
}

/** The failures that say the file itself is refused (its format, content or encoding): the upload is rejected for good. */
function isFileRefusal(failure: unknown): failure is AppError {
  return (
    isAppError(failure) &&
    (failure.code === 'unsupported_format' ||
      failure.status === 422 ||
      failure.code === 'invalid_parquet' ||
      failure.code === 'invalid_xlsx' ||
      failure.code === 'empty_file' ||
      failure.code === 'binary_content' ||
      failure.code === 'unsupported_encoding' ||
      failure.code === 'invalid_json')
  );
}

function locked(id: string): AppError {
  return new AppError('upload_locked', `Upload '${id}' is being written by another request; retry when it ends`);
}

/** Uploads belong to their creator: anyone else needs `permission` to `what` (e.g. 'deleting it'). */
function assertOwnerOr(upload: StoredUpload, caller: UploadCaller, permission: Permission, what: string): void {
  if (upload.createdBy === caller.userId || caller.permissions.has(permission)) return;
  throw new AppError(
    'forbidden',
    `Upload '${upload.id}' belongs to another member: ${what} needs the permission '${permission}'`,
    [],
    { permission },
  );
}

/** Stops a request still writing this upload in this process and waits (bounded) until its bytes are committed. */
async function supersede(writer: ActiveWriter | undefined): Promise<void> {
  if (!writer) return;
  writer.stop();
  await Promise.race([writer.done, new Promise((r) => setTimeout(r, HANDOVER_TIMEOUT_MS).unref())]);
}

/** An upload refused before all its bytes arrived: its refusal (415/422 with the stored error) instead of an offset. */
function refusedEarly(upload: StoredUpload): StoredUpload {
  if (upload.status === 'rejected' && upload.offset !== upload.length && upload.error) {
    // Refusals are stored with an AppError's code; a code this version no longer knows still says the file was refused.
    const code = isErrorCode(upload.error.code) ? upload.error.code : 'invalid_file';
    throw fileRejected(code, `Upload '${upload.id}' was refused: ${upload.error.message}`);
  }
  return upload;
}

interface MeterOptions {
  from: number;
  /** The declared length (or, deferred, the size limit): bytes past it are refused. */
  limit: number;
  deferred: boolean;
  maxBytes: number;
  checksum: ChecksumHeader | undefined;
  head: { need: number; before: Buffer; check(head: Buffer): Promise<void> } | null;
  onProgress(offset: number): void;
}

/**
 * What a PATCH body passes through on its way to storage: the length bound, the checksum, the first-bytes
 * check (which holds the stream until it has decided), and throttled progress events. One chunk in memory.
 */
class WriteMeter extends Transform {
  bytes = 0;
  private readonly hash: Hash | null;
  private headParts: Buffer[] = [];
  private headLength: number;
  private lastProgress = 0;

  constructor(private readonly o: MeterOptions) {
    super({ highWaterMark: 1024 * 1024 });
    this.hash = o.checksum ? createHash(o.checksum.algorithm) : null;
    this.headLength = o.head?.before.length ?? 0;
    if (o.head) this.headParts.push(o.head.before);
  }

  checksumMatches(): boolean {
    return this.hash !== null && this.o.checksum !== undefined && this.hash.digest().equals(this.o.checksum.digest);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null, data?: Buffer) => void): void {
    if (this.o.from + this.bytes + chunk.length > this.o.limit) {
      done(
        this.o.deferred
          ? errors.payloadTooLarge(this.o.maxBytes, 'upload')
          : errors.validation(`The body runs past Upload-Length (${this.o.limit} bytes)`, [
              { pointer: '/body', message: `at most ${this.o.limit - this.o.from} more bytes` },
            ]),
      );
      return;
    }
    this.bytes += chunk.length;
    this.hash?.update(chunk);
    const now = Date.now();
    if (now - this.lastProgress >= PROGRESS_EVERY_MS) {
      this.lastProgress = now;
      this.o.onProgress(this.o.from + this.bytes);
    }
    const head = this.o.head;
    if (head && this.headLength < head.need) {
      this.headParts.push(chunk);
      this.headLength += chunk.length;
      if (this.headLength < head.need) {
        done(null, chunk);
        return;
      }
      this.decideHead(head, chunk, done);
      return;
    }
    done(null, chunk);
  }

  override _flush(done: (err?: Error | null) => void): void {
    const head = this.o.head;
    // The whole file was shorter than the sample: what arrived is all there is to judge.
    if (head && this.headLength < head.need && this.o.from + this.bytes === this.o.limit && !this.o.deferred) {
      this.decideHead(head, null, (err) => done(err));
      return;
    }
    done();
  }

  private decideHead(
    head: NonNullable<MeterOptions['head']>,
    chunk: Buffer | null,
    done: (err?: Error | null, data?: Buffer) => void,
  ): void {
    const sample = Buffer.concat(this.headParts).subarray(0, head.need);
    this.headParts = [];
    this.o.head = null;
    head.check(sample).then(
      () => done(null, chunk ?? undefined),
      (e: unknown) => done(e as Error),
    );
  }
}
