import type { DetailedError, HttpRequest, Upload } from 'tus-js-client';
import { api, authHeaders } from '../../api/client';
import { credentials } from '../../api/credentials';
import { refusalFromProblemBody, refusalFromUploadError, type Refusal } from './refusal';
import { TransferRate } from './transfer-rate';

/**
 * The files dropped or chosen on the datasets page, each sent over tus (POST /api/v1/uploads, then PATCHes) and
 * then followed as the ingest job the last byte queues. The queue lives outside React, for the page's module: an
 * upload goes on while the person looks at another page, and is still listed when they come back.
 *
 * Phases: sending → (paused ⇄ sending) → finishing (asking the upload which job ingests it) → ingesting (the job,
 * followed live by the page) | refused (the file itself: no retry helps) | failed (the network or the server: retry
 * resumes from the bytes the server holds).
 */
export type UploadPhase = 'sending' | 'paused' | 'finishing' | 'ingesting' | 'refused' | 'failed';

export interface UploadItem {
  key: string;
  name: string;
  size: number;
  sent: number;
  phase: UploadPhase;
  /** Bytes per second over the last seconds, and ms left at that rate; null when not measurable. */
  rate: number | null;
  etaMs: number | null;
  uploadId: string | null;
  jobId: string | null;
  datasetId: string | null;
  refusal: Refusal | null;
  /** Why a failed transfer stopped (a retry may get through). */
  failure: string | null;
}

const UPLOADS_PATH = '/api/v1/uploads';
/** Long uploads go in chunks: each PATCH carries a fresh token, and a retry resends at most one chunk. */
const CHUNK_BYTES = 16 * 1024 * 1024;
const RETRY_DELAYS_MS = [0, 1000, 3000, 5000];
/** Statuses after which tus-js-client's retry can help: the upload itself is still fine. */
const TRANSIENT = new Set([401, 408, 409, 423, 429]);
/** A HEAD answering these says the file was refused: creating a fresh upload of it would be refused again. */
const REFUSED = new Set([410, 413, 415, 422]);

type Listener = () => void;

class UploadTask {
  item: UploadItem;
  private upload: Upload | null = null;
  private readonly rate = new TransferRate();
  private refusedOnResume = false;

  constructor(
    private readonly file: File,
    private readonly workspaceId: string | null,
    private readonly changed: () => void,
  ) {
    this.item = {
      key: `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`,
      name: file.name,
      size: file.size,
      sent: 0,
      phase: 'sending',
      rate: null,
      etaMs: null,
      uploadId: null,
      jobId: null,
      datasetId: null,
      refusal: null,
      failure: null,
    };
  }

  private set(changes: Partial<UploadItem>): void {
    this.item = { ...this.item, ...changes };
    this.changed();
  }

  async start(): Promise<void> {
    // Loaded on the first upload only: tus-js-client is not part of the page's first load.
    const tus = await import('tus-js-client');
    const metadata: Record<string, string> = { filename: this.file.name };
    if (this.file.type) metadata.filetype = this.file.type;
    this.upload = new tus.Upload(this.file, {
      endpoint: new URL(UPLOADS_PATH, location.href).toString(),
      metadata,
      chunkSize: CHUNK_BYTES,
      retryDelays: RETRY_DELAYS_MS,
      // Uploads resume within this page (pause, retry) from the URL the upload holds; nothing is left in storage.
      storeFingerprintForResuming: false,
      onBeforeRequest: (req) => this.authorize(req),
      onAfterResponse: (req, res) => {
        if (req.getMethod() === 'HEAD' && REFUSED.has(res.getStatus())) this.refusedOnResume = true;
      },
      onShouldRetry: (err) => {
        if (this.refusedOnResume) return false;
        const status = err.originalResponse?.getStatus() ?? 0;
        return status === 0 || status >= 500 || TRANSIENT.has(status);
      },
      onUploadUrlAvailable: () => this.set({ uploadId: uploadIdOf(this.upload?.url) }),
      onProgress: (sent, total) => {
        this.rate.add(sent, performance.now());
        this.set({ sent, rate: this.rate.bytesPerSecond(), etaMs: this.rate.etaMs(total) });
      },
      onSuccess: () => void this.finish(),
      onError: (e) => void this.failed(e),
    });
    this.upload.start();
  }

  /** Credentials per request, so an upload longer than a token's life goes on with the refreshed one. */
  private async authorize(req: HttpRequest): Promise<void> {
    if (this.refusedOnResume && req.getMethod() === 'POST')
      throw new Error('The server refused this file; not uploading it again');
    const headers = await authHeaders();
    if (headers.authorization) req.setHeader('Authorization', headers.authorization);
    // The workspace the file was dropped in, even if the person switches workspace while it uploads.
    const workspace = this.workspaceId ?? headers['x-weir-workspace'];
    if (workspace) req.setHeader('x-weir-workspace', workspace);
  }

  pause(): void {
    if (this.item.phase !== 'sending' || !this.upload) return;
    void this.upload.abort();
    this.rate.reset();
    this.set({ phase: 'paused', rate: null, etaMs: null });
  }

  /** Resumes a paused or failed transfer from the bytes the server holds (tus asks with HEAD first). */
  resume(): void {
    if ((this.item.phase !== 'paused' && this.item.phase !== 'failed') || !this.upload) return;
    this.rate.reset();
    this.set({ phase: 'sending', failure: null });
    this.upload.start();
  }

  /** Stops the transfer and deletes the bytes already sent (tus termination). */
  async cancel(): Promise<void> {
    if (!this.upload || (this.item.phase !== 'sending' && this.item.phase !== 'paused' && this.item.phase !== 'failed'))
      return;
    await this.upload.abort(this.upload.url !== null).catch(() => undefined);
  }

  /** Every byte is in: the request that brought the last one queued the ingest job; the upload names it. */
  private async finish(): Promise<void> {
    this.set({ phase: 'finishing', sent: this.item.size, rate: null, etaMs: null });
    const id = this.item.uploadId;
    if (!id) return this.set({ phase: 'failed', failure: 'The server did not say where the upload is' });
    try {
      let view = await this.view(id);
      // The job is queued before the last PATCH is answered; a short wait covers a server that answers first.
      for (let delay = 100; !view.jobId && view.status === 'uploading' && delay < 3200; delay *= 2) {
        await new Promise((r) => setTimeout(r, delay));
        view = await this.view(id);
      }
      if (view.status === 'rejected' || (view.status === 'failed' && !view.jobId))
        return this.set({ phase: 'refused', refusal: refusalFromUploadError(view.error) });
      if (!view.jobId)
        return this.set({ phase: 'failed', failure: `The upload is ${view.status} and has no ingest job` });
      this.set({ phase: 'ingesting', jobId: view.jobId, datasetId: view.duplicateOf?.datasetId ?? view.datasetId });
    } catch (e) {
      this.set({ phase: 'failed', failure: e instanceof Error ? e.message : String(e) });
    }
  }

  private async view(id: string) {
    const headers = this.workspaceId ? { 'x-weir-workspace': this.workspaceId } : {};
    const { data, error, response } = await api.GET('/api/v1/uploads/{id}', { params: { path: { id } }, headers });
    if (!data) {
      const refusal = refusalFromProblemBody(JSON.stringify(error ?? {}), response.status);
      throw new Error(refusal?.message ?? `The server answered ${response.status}`);
    }
    return data;
  }

  /**
   * tus gave up. A 4xx the server explains (a PNG named .csv, a ragged first rows, over the quota) is the file's
   * refusal; otherwise ask the upload itself, which knows whether it was refused while the connection broke.
   */
  private async failed(e: Error | DetailedError): Promise<void> {
    this.rate.reset();
    const response = 'originalResponse' in e ? e.originalResponse : null;
    const status = response?.getStatus() ?? 0;
    if (status >= 400 && status < 500 && !TRANSIENT.has(status)) {
      const refusal = refusalFromProblemBody(response!.getBody(), status);
      if (refusal) return this.set({ phase: 'refused', refusal, rate: null, etaMs: null });
    }
    const id = this.item.uploadId;
    const view = id ? await this.view(id).catch(() => null) : null;
    if (view?.status === 'rejected' || view?.status === 'failed')
      return this.set({ phase: 'refused', refusal: refusalFromUploadError(view.error), rate: null, etaMs: null });
    const reason =
      status === 0
        ? 'The connection to Weir was lost'
        : (response && refusalFromProblemBody(response.getBody(), status)?.message) || `The server answered ${status}`;
    this.set({ phase: 'failed', failure: reason, rate: null, etaMs: null });
  }
}

function uploadIdOf(url: string | null | undefined): string | null {
  return url ? (/\/(up_[0-9A-Z]+)$/i.exec(new URL(url, location.href).pathname)?.[1] ?? null) : null;
}

/** The page's uploads, newest first, with a snapshot React can subscribe to (useSyncExternalStore). */
class UploadQueue {
  private tasks: UploadTask[] = [];
  private snapshot: readonly UploadItem[] = [];
  private readonly listeners = new Set<Listener>();

  subscribe = (listener: Listener): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getSnapshot = (): readonly UploadItem[] => this.snapshot;

  add(files: Iterable<File>): void {
    for (const file of files) {
      const task = new UploadTask(file, credentials.workspaceId, () => this.publish());
      this.tasks.unshift(task);
      void task.start().catch((e: unknown) => {
        // Only loading tus-js-client can fail here (a deploy replaced the chunk): say so on the item.
        task.item = { ...task.item, phase: 'failed', failure: e instanceof Error ? e.message : String(e) };
        this.publish();
      });
    }
    this.publish();
  }

  pause(key: string): void {
    this.find(key)?.pause();
  }

  resume(key: string): void {
    this.find(key)?.resume();
  }

  async cancel(key: string): Promise<void> {
    await this.find(key)?.cancel();
    this.remove(key);
  }

  /** Forgets an item (its upload, if still running, is stopped first). */
  remove(key: string): void {
    const task = this.find(key);
    if (task && (task.item.phase === 'sending' || task.item.phase === 'paused')) task.pause();
    this.tasks = this.tasks.filter((t) => t.item.key !== key);
    this.publish();
  }

  private find(key: string): UploadTask | undefined {
    return this.tasks.find((t) => t.item.key === key);
  }

  private publish(): void {
    this.snapshot = this.tasks.map((t) => t.item);
    for (const listener of this.listeners) listener();
  }
}

export const uploadQueue = new UploadQueue();
