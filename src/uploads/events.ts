import { topics, type EventBus } from '../bus/types.js';
import type { Log } from '../logger.js';
import type { UploadView } from './model.js';

/** Bytes received so far: `{uploadId, offset, length}` (at most every PROGRESS_EVERY_MS per writing request, and at its end). */
export const UPLOAD_PROGRESS = 'upload.progress';
/** The upload's state changed (complete, ingesting, done, rejected, failed, expired, terminated): the UploadView. */
export const UPLOAD_STATE = 'upload.state';
/** Progress of the ingest job turning the upload into a dataset version: `{uploadId, jobId, progress, message}`. */
export const UPLOAD_INGEST = 'upload.ingest';

export const PROGRESS_EVERY_MS = 250;

/**
 * Publishes on `upload:<id>` (permission `datasets:read`). Like every publisher here it never fails the caller:
 * the database holds the truth, which `GET /uploads/:id` (or a `status` request on the socket) reads.
 */
export class UploadEvents {
  constructor(
    private readonly bus: EventBus,
    private readonly log: Log,
  ) {}

  progress(uploadId: string, offset: number, length: number | null): void {
    this.send(uploadId, UPLOAD_PROGRESS, { uploadId, offset, length });
  }

  state(view: UploadView | { id: string; status: 'terminated' }): void {
    this.send(view.id, UPLOAD_STATE, view);
  }

  ingest(uploadId: string, jobId: string, progress: number, message: string | null): void {
    this.send(uploadId, UPLOAD_INGEST, { uploadId, jobId, progress, message });
  }

  private send(id: string, type: string, data: unknown): void {
    const topic = topics.upload(id);
    this.bus
      .publish(topic, type, data)
      .catch((err: unknown) => this.log.warn({ err, topic, type }, 'upload event not published'));
  }
}
