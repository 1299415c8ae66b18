import type { JobError } from '../jobs/types.js';

/**
 * uploading: bytes arrive (PATCH). ingesting: every byte is in; the ingest job turns it into a dataset version.
 * done: the version exists (or the same bytes were stored already). rejected: the content was refused (the
 * first bytes, or the ingest's validation). failed: the ingest failed for good or was cancelled. expired: left
 * unfinished past its expiry, bytes swept. A partial upload (tus concatenation) ends as `complete` instead of
 * ingesting: only the final upload that names it is ingested.
 */
export type UploadStatus = 'uploading' | 'complete' | 'ingesting' | 'done' | 'rejected' | 'failed' | 'expired';

export interface StoredUpload {
  id: string;
  workspaceId: string;
  createdBy: string | null;
  status: UploadStatus;
  /** null while deferred (Upload-Defer-Length). */
  length: number | null;
  offset: number;
  concat: 'partial' | 'final' | null;
  /** The partial uploads a final upload concatenates, in order. */
  parts: string[];
  /** The decoded Upload-Metadata pairs, as sent. */
  metadata: Record<string, string>;
  filename: string;
  datasetId: string | null;
  versionId: string | null;
  jobId: string | null;
  /** The version holding the same bytes, when the ingest found them stored already. */
  duplicateOf: { datasetId: string; versionId: string } | null;
  error: JobError | null;
  lockOwner: string | null;
  lockUntil: string | null;
  expiresAt: string | null;
  createdAt: string;
  updatedAt: string;
  finishedAt: string | null;
}

/** GET /uploads/:id: the upload and, once its bytes are in, its ingest. */
export interface UploadView {
  id: string;
  status: UploadStatus;
  filename: string;
  length: number | null;
  offset: number;
  /** 0–100 of the bytes received (null while the length is deferred). */
  percent: number | null;
  concat: 'partial' | 'final' | null;
  parts: string[];
  metadata: Record<string, string>;
  datasetId: string | null;
  versionId: string | null;
  jobId: string | null;
  ingest: { status: string; progress: number; message: string | null } | null;
  duplicateOf: { datasetId: string; versionId: string } | null;
  error: JobError | null;
  expiresAt: string | null;
  createdAt: string;
  updatedAt: string;
  finishedAt: string | null;
}
