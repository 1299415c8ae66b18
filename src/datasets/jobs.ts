import { Type } from 'typebox';
import type { Scratch } from '../blobs/scratch.js';
import type { BlobStore } from '../blobs/types.js';
import { AppError, isErrorCode } from '../errors.js';
import { newId } from '../ids.js';
import { withFields, type Log } from '../logger.js';
import { JobFailure } from '../jobs/errors.js';
import type { JobService } from '../jobs/service.js';
import { requireJobPermission, type JobGrants } from '../identity/job-grants.js';
import type { Job, JobDefinition } from '../jobs/types.js';
import type { Metrics } from '../system/metrics.js';
import { readFileHead, type ReceivedFile } from './receive.js';
import type { DatasetService, IngestResult } from './service.js';
import { HEAD_BYTES } from './sniff.js';

export const INGEST_KIND = 'ingest';

/** What an ingest job carries: where the accepted upload waits, what was learned receiving it, the form fields. */
export interface IngestPayload {
  v: 1;
  /** `uploads/<workspace>/<up_…>`: the accepted bytes, durable before the 202 answer. */
  uploadKey: string;
  filename: string;
  bytes: number;
  sha256: string;
  firstNul: number;
  /** Set for a new version of an existing dataset. */
  datasetId?: string;
  /** Reserved for a new dataset (the 202 answer names it). */
  newDatasetId?: string;
  /** Reserved version id: every attempt writes the same blob key and recognizes its own earlier success. */
  versionId: string;
  name?: string;
  description?: string;
  tags?: string[];
  /** The upload request's id: the job's log lines carry it beside the job id, so one id follows an upload through. */
  requestId?: string;
}

/** The ingest answer a client would have had synchronously (dataset, version, duplicateOf). */
export type IngestJobResult = ReturnType<typeof ingestResponse>;

export const ingestResponse = (r: IngestResult) => ({ ...r.dataset, version: r.version, duplicateOf: r.duplicateOf });

const Str = (max: number) => Type.String({ maxLength: max });
const IngestPayloadSchema = Type.Object(
  {
    v: Type.Literal(1),
    uploadKey: Type.String({ pattern: '^uploads/[A-Za-z0-9_-]+/up_[0-9A-HJKMNP-TV-Z]{26}$' }),
    filename: Str(1024),
    bytes: Type.Integer({ minimum: 0 }),
    sha256: Type.String({ pattern: '^[0-9a-f]{64}$' }),
    firstNul: Type.Integer({ minimum: -1 }),
    datasetId: Type.Optional(Type.String({ pattern: '^ds_[0-9A-HJKMNP-TV-Z]{26}$' })),
    newDatasetId: Type.Optional(Type.String({ pattern: '^ds_[0-9A-HJKMNP-TV-Z]{26}$' })),
    versionId: Type.String({ pattern: '^dv_[0-9A-HJKMNP-TV-Z]{26}$' }),
    name: Type.Optional(Str(200)),
    description: Type.Optional(Str(4000)),
    tags: Type.Optional(Type.Array(Str(64), { maxItems: 20 })),
    requestId: Type.Optional(Str(128)),
  },
  { additionalProperties: false },
);

/**
 * The ingest job: DatasetService.ingest over the upload the request accepted. The upload is deleted once the
 * version is stored or the file is refused (a refusal is final: the job fails with the validation code and
 * its field errors); after any other failure it stays, so a retry can run, until the retention sweep.
 */
export function ingestJob(deps: {
  datasets: DatasetService;
  blobs: BlobStore;
  metrics: Metrics;
  grants: JobGrants;
}): JobDefinition<IngestPayload, IngestJobResult> {
  return {
    kind: INGEST_KIND,
    payload: IngestPayloadSchema,
    concurrency: 2,
    maxAttempts: 3,
    timeoutMs: 6 * 60 * 60_000,
    backoffMs: 5000,
    artifacts: (p) => [p.uploadKey],
    async handler(p, ctx) {
      // Its creator may have lost the permission since the upload was accepted: then nothing is stored (the upload
      // stays an artifact of the failed job until the job retention sweep).
      const grants = await deps.grants.of(ctx.workspaceId, ctx.createdBy);
      if (p.datasetId) await deps.datasets.assertMayAppend(ctx.workspaceId, p.datasetId, grants, { caller: 'job' });
      else requireJobPermission(grants, 'datasets:write', 'Storing an upload as a new dataset');
      if ((await deps.blobs.stat(p.uploadKey)) === null)
        throw new JobFailure('upload_missing', 'The uploaded file is no longer stored; upload it again', false);
      const blob = await deps.blobs.localFile(p.uploadKey);
      const started = performance.now();
      try {
        const file: ReceivedFile = {
          path: blob.path,
          filename: p.filename,
          bytes: p.bytes,
          sha256: p.sha256,
          head: await readFileHead(blob.path, HEAD_BYTES),
          firstNul: p.firstNul,
        };
        ctx.progress(1, 'validating');
        const result = await deps.datasets.ingest({
          workspaceId: ctx.workspaceId,
          datasetId: p.datasetId,
          presetDatasetId: p.newDatasetId,
          presetVersionId: p.versionId,
          name: p.name,
          description: p.description,
          tags: p.tags,
          file,
          keepSource: true,
          log: p.requestId ? withFields(ctx.log, { requestId: p.requestId }) : ctx.log,
          signal: ctx.signal,
          onProgress: (percent, message) => ctx.progress(percent, message),
        });
        deps.metrics.countIngest({
          format: result.version.sourceFormat,
          duplicate: result.duplicateOf !== null,
          startedMs: started,
        });
        await deps.blobs.delete(p.uploadKey);
        return ingestResponse(result);
      } catch (e) {
        // A cancelled or timed-out ingest is neither refused nor failed: its upload stays for a retry.
        if (ctx.signal.aborted) throw e;
        const refused = e instanceof AppError && e.status < 500;
        deps.metrics.countIngest({ refused });
        if (refused) await deps.blobs.delete(p.uploadKey);
        throw e;
      } finally {
        await blob.release();
      }
    },
  };
}

/**
 * What a synchronous upload (`?wait=true`) answers when its ingest job did not store a version: the problem the
 * job recorded, with the HTTP status its code has (a job keeps the code, not the status). A code outside the
 * table (a job kind's own failure code) is answered as `job_failed`, naming the recorded code.
 */
export function ingestFailure(job: Job): AppError {
  if (job.status === 'cancelled')
    return new AppError(
      'conflict',
      'The ingest job was cancelled before the version was stored; upload the file again',
    );
  const error = job.error ?? { code: 'internal', message: `The ingest job ended ${job.status}` };
  return isErrorCode(error.code)
    ? new AppError(error.code, error.message, error.details ?? [])
    : new AppError('job_failed', error.message, error.details ?? [], { jobErrorCode: error.code });
}

export interface IngestSubmission {
  workspaceId: string;
  createdBy: string | null;
  /** A new version of this dataset; otherwise a new dataset. */
  datasetId?: string;
  name?: string;
  description?: string;
  tags?: string[];
  file: ReceivedFile;
  log: Log;
  /** The upload request's id, carried into the job's log lines. */
  requestId?: string;
}

export type Submitted =
  { duplicate: IngestResult } | { accepted: { datasetId: string; jobId: string; status: 'queued' } };

/**
 * The asynchronous upload: what can be answered at once is (a missing dataset is 404, identical bytes answer
 * like a synchronous duplicate); otherwise the file is moved into the blob store (durable: fsynced) and an
 * ingest job is queued before the 202. The scratch file is always gone afterwards.
 */
export class IngestSubmitter {
  constructor(
    private readonly datasets: DatasetService,
    private readonly blobs: BlobStore,
    private readonly scratch: Scratch,
    private readonly jobs: JobService,
  ) {}

  async submit(s: IngestSubmission): Promise<Submitted> {
    let uploadKey: string | null = null;
    try {
      if (s.datasetId) await this.datasets.assertExists(s.workspaceId, s.datasetId);
      const duplicate = await this.datasets.findDuplicate(s.workspaceId, s.file.sha256);
      if (duplicate) return { duplicate };
      uploadKey = `uploads/${s.workspaceId}/${newId('up')}`;
      await this.blobs.putFile(uploadKey, s.file.path);
      const newDatasetId = s.datasetId ? undefined : newId('ds');
      const payload: IngestPayload = {
        v: 1,
        uploadKey,
        filename: s.file.filename,
        bytes: s.file.bytes,
        sha256: s.file.sha256,
        firstNul: s.file.firstNul,
        datasetId: s.datasetId,
        newDatasetId,
        versionId: newId('dv'),
        name: s.name,
        description: s.description,
        tags: s.datasetId ? undefined : s.tags,
        requestId: s.requestId,
      };
      const job = await this.jobs.enqueue(INGEST_KIND, withoutUndefined(payload), {
        workspaceId: s.workspaceId,
        createdBy: s.createdBy,
      });
      s.log.info(
        { jobId: job.id, datasetId: s.datasetId ?? newDatasetId, bytes: s.file.bytes },
        'upload accepted; ingest queued',
      );
      return { accepted: { datasetId: (s.datasetId ?? newDatasetId)!, jobId: job.id, status: 'queued' } };
    } catch (e) {
      if (uploadKey) await this.blobs.delete(uploadKey);
      throw e;
    } finally {
      // Moved into the blob store when accepted; otherwise (duplicate, 404, failure) removed here.
      await this.scratch.remove(s.file.path);
    }
  }
}

/** JSON has no undefined: keep payloads exactly what the table will store. */
function withoutUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
