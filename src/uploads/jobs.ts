import { createReadStream } from 'node:fs';
import { Type } from 'typebox';
import type { DatasetService } from '../datasets/service.js';
import { ingestResponse, type IngestJobResult } from '../datasets/jobs.js';
import { FileDigest, type ReceivedFile } from '../datasets/receive.js';
import { AppError } from '../errors.js';
import { requireJobPermission, type JobGrants } from '../identity/job-grants.js';
import { JobFailure } from '../jobs/errors.js';
import type { JobContext, JobDefinition } from '../jobs/types.js';
import type { Metrics } from '../system/metrics.js';
import type { UploadEvents } from './events.js';
import type { StoredUpload } from './model.js';
import { declaredFilename, readUploadMetadata } from './protocol.js';
import type { UploadRepo } from './repo.js';
import type { UploadStaging } from './staging.js';

export const UPLOAD_INGEST_KIND = 'upload.ingest';

/** Ids are reserved when the upload completes, so every attempt writes the same version (see IngestInput). */
export interface UploadIngestPayload {
  v: 1;
  uploadId: string;
  versionId: string;
  /** A new version of this existing dataset (metadata `datasetId`). */
  datasetId?: string;
  /** Reserved for a new dataset. */
  newDatasetId?: string;
}

const ULID = '[0-9A-HJKMNP-TV-Z]{26}';
const PayloadSchema = Type.Object(
  {
    v: Type.Literal(1),
    uploadId: Type.String({ pattern: `^up_${ULID}$` }),
    versionId: Type.String({ pattern: `^dv_${ULID}$` }),
    datasetId: Type.Optional(Type.String({ pattern: `^ds_${ULID}$` })),
    newDatasetId: Type.Optional(Type.String({ pattern: `^ds_${ULID}$` })),
  },
  { additionalProperties: false },
);

export type UploadIngestResult = IngestJobResult & { uploadId: string };

/** One pass over the assembled file: what the plain upload path learns while receiving (hash, first NUL, head). */
async function describe(path: string, bytes: number, filename: string, ctx: JobContext): Promise<ReceivedFile> {
  const digest = new FileDigest();
  let lastReport = 0;
  for await (const chunk of createReadStream(path, {
    highWaterMark: 1024 * 1024,
    signal: ctx.signal,
  }) as AsyncIterable<Buffer>) {
    digest.update(chunk);
    if (digest.bytes - lastReport > 64 * 1024 * 1024) {
      lastReport = digest.bytes;
      ctx.progress(1 + (digest.bytes / Math.max(bytes, 1)) * 9, 'hashing');
    }
  }
  return digest.received(path, filename);
}

/**
 * The ingest of a finished tus upload: assemble its bytes (one staged file, or the parts of a final upload),
 * hash them, and hand them to DatasetService.ingest like any upload. A refused file marks the upload
 * `rejected` with the validation error (final: no retry); the bytes go once the version is stored or refused,
 * and stay for a retry after any other failure (the sweep removes them with the expired upload).
 */
export function uploadIngestJob(deps: {
  repo: UploadRepo;
  staging: UploadStaging;
  datasets: DatasetService;
  events: UploadEvents;
  metrics: Metrics;
  grants: JobGrants;
  publishState(workspaceId: string, id: string): Promise<void>;
}): JobDefinition<UploadIngestPayload, UploadIngestResult> {
  return {
    kind: UPLOAD_INGEST_KIND,
    payload: PayloadSchema,
    concurrency: 2,
    maxAttempts: 3,
    timeoutMs: 6 * 60 * 60_000,
    backoffMs: 5000,
    async handler(p, ctx) {
      const upload = await deps.repo.get(ctx.workspaceId, p.uploadId);
      if (!upload)
        throw new JobFailure(
          'upload_missing',
          'The upload no longer exists (terminated or expired); upload the file again',
          false,
        );
      const parts = upload.concat === 'final' ? await orderedParts(deps.repo, upload) : [upload];
      await refuseUnlessAllowed(deps, p, ctx, parts);
      const report = (percent: number, message: string) => {
        ctx.progress(percent, message);
        deps.events.ingest(upload.id, ctx.jobId, percent, message);
      };
      report(1, 'assembling');
      const blob = await deps.staging.materialize(
        parts,
        parts.map((u) => u.offset),
      );
      const started = performance.now();
      try {
        const file = await describe(
          blob.path,
          upload.offset,
          declaredFilename(upload.filename, upload.metadata.filetype),
          ctx,
        );
        const meta = readUploadMetadata(new Map(Object.entries(upload.metadata)));
        const result = await deps.datasets.ingest({
          workspaceId: ctx.workspaceId,
          datasetId: p.datasetId,
          presetDatasetId: p.newDatasetId,
          presetVersionId: p.versionId,
          name: meta.name ?? meta.filename,
          description: meta.description,
          tags: p.datasetId ? undefined : meta.tags,
          file,
          keepSource: true,
          log: ctx.log,
          signal: ctx.signal,
          onProgress: (percent, message) => report(10 + percent * 0.9, message),
        });
        deps.metrics.countIngest({
          format: result.version.sourceFormat,
          duplicate: result.duplicateOf !== null,
          startedMs: started,
        });
        await deps.repo.transition(upload.id, ['ingesting', 'uploading'], 'done', {
          datasetId: result.dataset.id,
          versionId: result.version.id,
          duplicateOf: result.duplicateOf,
          finished: true,
        });
        await removeBytes(deps, parts, ctx);
        for (const part of parts)
          if (part.id !== upload.id) await deps.repo.transition(part.id, ['complete'], 'done', { finished: true });
        await deps.publishState(upload.workspaceId, upload.id);
        return { ...ingestResponse(result), uploadId: upload.id };
      } catch (e) {
        if (ctx.signal.aborted) throw e;
        if (e instanceof AppError && e.status < 500) {
          deps.metrics.countIngest({ refused: true });
          await deps.repo.transition(upload.id, ['ingesting', 'uploading'], 'rejected', {
            error: { code: e.code, message: e.message, ...(e.errors.length > 0 ? { details: e.errors } : {}) },
            finished: true,
          });
          await removeBytes(deps, parts, ctx);
          await deps.publishState(upload.workspaceId, upload.id);
        } else if (ctx.attempt >= ctx.maxAttempts) {
          await deps.repo.transition(upload.id, ['ingesting'], 'failed', {
            error: { code: 'ingest_failed', message: e instanceof Error ? e.message : String(e) },
            finished: true,
          });
          await deps.publishState(upload.workspaceId, upload.id);
        }
        throw e;
      } finally {
        await blob.release();
      }
    },
  };
}

/**
 * The upload's creator may have lost the permission to add this version since the upload was created: then the
 * upload fails for good with `forbidden` and its bytes go, before anything is assembled or stored.
 */
async function refuseUnlessAllowed(
  deps: Parameters<typeof uploadIngestJob>[0],
  p: UploadIngestPayload,
  ctx: JobContext,
  parts: StoredUpload[],
): Promise<void> {
  const grants = await deps.grants.of(ctx.workspaceId, ctx.createdBy);
  try {
    if (p.datasetId) await deps.datasets.assertMayAppend(ctx.workspaceId, p.datasetId, grants, { caller: 'job' });
    else requireJobPermission(grants, 'datasets:write', 'Storing an upload as a new dataset');
  } catch (e) {
    if (!(e instanceof AppError) || e.status >= 500) throw e;
    await deps.repo.transition(p.uploadId, ['ingesting', 'uploading'], 'failed', {
      error: { code: e.code, message: e.message },
      finished: true,
    });
    await removeBytes(deps, parts, ctx);
    await deps.publishState(ctx.workspaceId, p.uploadId);
    throw e;
  }
}

async function orderedParts(repo: UploadRepo, upload: StoredUpload): Promise<StoredUpload[]> {
  const byId = new Map((await repo.getMany(upload.workspaceId, upload.parts)).map((u) => [u.id, u]));
  return upload.parts.map((id) => {
    const part = byId.get(id);
    if (!part)
      throw new JobFailure('upload_missing', `Partial upload '${id}' no longer exists; upload the file again`, false);
    return part;
  });
}

async function removeBytes(deps: { staging: UploadStaging }, uploads: StoredUpload[], ctx: JobContext): Promise<void> {
  for (const u of uploads)
    await deps.staging
      .remove(u)
      .catch((err: unknown) =>
        ctx.log.warn({ err, uploadId: u.id }, 'removing ingested upload bytes failed; the sweep removes them'),
      );
}
