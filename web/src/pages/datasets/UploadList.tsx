import { useQueryClient } from '@tanstack/react-query';
import { useEffect, useSyncExternalStore } from 'react';
import { Link } from 'wouter';
import { JobProgress, useJob } from '../../api/jobs';
import { formatBytes, formatDuration, formatRate } from '../../lib/format';
import { Badge, Button, ProgressBar } from '../../ui/controls';
import { datasetListKey } from './list-query';
import { refusalLines, type Refusal } from './refusal';
import { uploadQueue, type UploadItem, type UploadPhase } from './upload-queue';

export function useUploads(): readonly UploadItem[] {
  return useSyncExternalStore(uploadQueue.subscribe, uploadQueue.getSnapshot);
}

const PHASE_LABEL: Record<UploadPhase, string> = {
  sending: 'uploading',
  paused: 'paused',
  finishing: 'uploaded',
  ingesting: 'uploaded',
  refused: 'refused',
  failed: 'stopped',
};

/** The page's uploads: each file's transfer, then its ingest, then a link to the dataset it became. */
export function UploadList({ items }: { items: readonly UploadItem[] }) {
  if (items.length === 0) return null;
  return (
    <section className="card upload-list" aria-labelledby="uploads-heading">
      <h2 id="uploads-heading">Uploads</h2>
      <ul>
        {items.map((item) => (
          <UploadRow key={item.key} item={item} />
        ))}
      </ul>
    </section>
  );
}

function UploadRow({ item }: { item: UploadItem }) {
  const transferring = item.phase === 'sending' || item.phase === 'paused' || item.phase === 'failed';
  return (
    <li className="upload-item">
      <div className="upload-head">
        <strong className="upload-name">{item.name}</strong>
        <Badge tone={item.phase === 'refused' ? 'danger' : item.phase === 'failed' ? 'warning' : 'default'}>
          {PHASE_LABEL[item.phase]}
        </Badge>
        <span className="upload-actions">
          {item.phase === 'sending' && (
            <Button small onClick={() => uploadQueue.pause(item.key)} aria-label={`Pause ${item.name}`}>
              Pause
            </Button>
          )}
          {item.phase === 'paused' && (
            <Button small onClick={() => uploadQueue.resume(item.key)} aria-label={`Resume ${item.name}`}>
              Resume
            </Button>
          )}
          {item.phase === 'failed' && (
            <Button small onClick={() => uploadQueue.resume(item.key)} aria-label={`Retry ${item.name}`}>
              Retry
            </Button>
          )}
          {transferring ? (
            <Button
              small
              variant="ghost"
              onClick={() => void uploadQueue.cancel(item.key)}
              aria-label={`Cancel ${item.name}`}
            >
              Cancel
            </Button>
          ) : (
            <Button
              small
              variant="ghost"
              onClick={() => uploadQueue.remove(item.key)}
              aria-label={`Dismiss ${item.name}`}
            >
              Dismiss
            </Button>
          )}
        </span>
      </div>
      {transferring && <TransferProgress item={item} />}
      {item.phase === 'finishing' && (
        <p className="muted upload-line">{formatBytes(item.size)} sent; starting the ingest…</p>
      )}
      {item.phase === 'failed' && item.failure && (
        <p className="danger-text upload-line" role="alert">
          {item.failure}. Retry resumes from the bytes Weir already holds.
        </p>
      )}
      {item.refusal && <RefusalMessage name={item.name} refusal={item.refusal} />}
      {item.phase === 'ingesting' && item.jobId && <IngestStatus item={item} jobId={item.jobId} />}
    </li>
  );
}

function TransferProgress({ item }: { item: UploadItem }) {
  const fraction = item.size === 0 ? 1 : item.sent / item.size;
  return (
    <div className="upload-transfer">
      <ProgressBar value={fraction} label={`Uploading ${item.name}`} />
      <p className="muted upload-line">
        <span>
          {formatBytes(item.sent)} of {formatBytes(item.size)}
        </span>
        {item.phase === 'sending' && item.rate !== null && <span> · {formatRate(item.rate)}</span>}
        {item.phase === 'sending' && item.etaMs !== null && <span> · {formatDuration(item.etaMs)} left</span>}
      </p>
    </div>
  );
}

function RefusalMessage({ name, refusal }: { name: string; refusal: Refusal }) {
  return (
    <div className="danger-text upload-refusal" role="alert">
      <strong>Weir refused {name}:</strong>
      <ul>
        {refusalLines(refusal).map((line, i) => (
          <li key={i}>{line}</li>
        ))}
      </ul>
      {refusal.requestId && (
        <p className="muted upload-line">
          Request id <code>{refusal.requestId}</code>
        </p>
      )}
    </div>
  );
}

/** The ingest job, live over the WebSocket; once it succeeds, the dataset it made (and a fresh list). */
function IngestStatus({ item, jobId }: { item: UploadItem; jobId: string }) {
  const job = useJob(jobId);
  const queryClient = useQueryClient();
  const status = job.data?.status;
  useEffect(() => {
    if (status === 'succeeded') void queryClient.invalidateQueries({ queryKey: datasetListKey() });
  }, [status, queryClient]);

  if (!job.data) return job.error ? <p className="danger-text upload-line">Could not read the ingest job.</p> : null;
  const result = job.data.result as {
    id?: unknown;
    name?: unknown;
    duplicateOf?: { datasetId?: unknown } | null;
  } | null;
  const datasetId =
    typeof result?.duplicateOf?.datasetId === 'string'
      ? result.duplicateOf.datasetId
      : typeof result?.id === 'string'
        ? result.id
        : item.datasetId;
  const datasetName = typeof result?.name === 'string' ? result.name : item.name;
  return (
    <div className="upload-ingest">
      <JobProgress job={job.data} label={`Ingesting ${item.name}`} />
      {status === 'succeeded' && datasetId && (
        <p className="upload-line">
          {result?.duplicateOf ? 'Already stored as ' : 'Stored as '}
          <Link href={`/datasets/${datasetId}`}>{datasetName}</Link>
        </p>
      )}
    </div>
  );
}
