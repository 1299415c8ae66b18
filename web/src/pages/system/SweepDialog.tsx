import { useQueryClient } from '@tanstack/react-query';
import { useEffect, useRef, useState } from 'react';
import { JobProgress, type Job } from '../../api/jobs';
import { formatBytes, formatNumber } from '../../lib/format';
import { Button } from '../../ui/controls';
import { Dialog } from '../../ui/dialog';
import { ErrorState, Loading } from '../../ui/states';
import { sweepResultOf, useSweep, type SweepResult } from './sweep';

/**
 * "Sweep now": a dry run first, its findings shown, then the real sweep only once confirmed, followed to its end.
 * The dialog mounts its sweeps when opened, so every opening starts from a fresh dry run.
 */
export function SweepButton() {
  const [open, setOpen] = useState(false);
  return (
    <>
      <Button variant="primary" onClick={() => setOpen(true)}>
        Sweep now…
      </Button>
      <Dialog
        open={open}
        onOpenChange={setOpen}
        title="Sweep storage"
        description="A dry run lists what the retention rules would delete; nothing is deleted until you confirm."
      >
        {open && <SweepFlow close={() => setOpen(false)} />}
      </Dialog>
    </>
  );
}

function SweepFlow({ close }: { close: () => void }) {
  const queryClient = useQueryClient();
  const dry = useSweep(true);
  const real = useSweep(false);
  // One dry run per opening (the ref keeps React's development double effects from starting two).
  const started = useRef(false);
  const startDry = dry.start.mutate;
  useEffect(() => {
    if (started.current) return;
    started.current = true;
    startDry();
  }, [startDry]);
  const dryResult = dry.job ? sweepResultOf(dry.job) : null;
  const realResult = real.job ? sweepResultOf(real.job) : null;
  const realEnded = Boolean(real.job?.finishedAt);
  useEffect(() => {
    // The store changed: its statistics are read again.
    if (realEnded) void queryClient.invalidateQueries({ queryKey: ['system', 'storage'] });
  }, [realEnded, queryClient]);
  return (
    <div className="stack sweep-flow">
      <h3>Dry run</h3>
      <SweepStage job={dry.job} error={dry.start.error ?? dry.followError} result={dryResult} dryRun />
      {dryResult && real.start.isIdle && (
        <div className="dialog-actions">
          <Button onClick={close}>Close</Button>
          {dryResult.total.objects > 0 && (
            <Button variant="danger" onClick={() => real.start.mutate()}>
              Delete {formatNumber(dryResult.total.objects)} objects ({formatBytes(dryResult.total.bytes)})
            </Button>
          )}
        </div>
      )}
      {!real.start.isIdle && (
        <>
          <h3>Sweep</h3>
          <SweepStage job={real.job} error={real.start.error ?? real.followError} result={realResult} dryRun={false} />
          {(realResult || real.job?.finishedAt || real.start.error) && (
            <div className="dialog-actions">
              <Button onClick={close}>Close</Button>
            </div>
          )}
        </>
      )}
    </div>
  );
}

function SweepStage({
  job,
  error,
  result,
  dryRun,
}: {
  job: Job | undefined;
  error: unknown;
  result: SweepResult | null;
  dryRun: boolean;
}) {
  if (error) return <ErrorState error={error} title={dryRun ? 'Dry run failed' : 'Sweep failed'} />;
  if (!job) return <Loading label={dryRun ? 'Starting the dry run…' : 'Starting the sweep…'} />;
  if (!result) return <JobProgress job={job} label={dryRun ? 'Dry run progress' : 'Sweep progress'} />;
  return <SweepResultView result={result} />;
}

function SweepResultView({ result }: { result: SweepResult }) {
  const verb = result.dryRun ? 'Would delete' : 'Deleted';
  return (
    <div className="stack" style={{ gap: '0.5rem' }} aria-live="polite">
      <p style={{ margin: 0 }}>
        <strong>
          {verb} {formatNumber(result.total.objects)} objects, {formatBytes(result.total.bytes)}
        </strong>
        {result.total.objects === 0 && <span className="muted"> — nothing is past its retention.</span>}
      </p>
      <div className="table-wrap">
        <table className="table">
          <caption className="visually-hidden">{verb}, per area</caption>
          <thead>
            <tr>
              <th scope="col">Area</th>
              <th scope="col" className="num">
                Objects
              </th>
              <th scope="col" className="num">
                Bytes
              </th>
            </tr>
          </thead>
          <tbody>
            {Object.entries(result.areas).map(([area, t]) => (
              <tr key={area}>
                <td>{area}</td>
                <td className="num">{formatNumber(t.objects)}</td>
                <td className="num">{formatBytes(t.bytes)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <ul className="muted sweep-rules">
        <li>
          Expired uploads: {formatNumber(result.expiredUploads.uploads)} ({formatBytes(result.expiredUploads.bytes)})
        </li>
        <li>
          Old dataset versions: {formatNumber(result.prunedVersions.versions)} of{' '}
          {formatNumber(result.prunedVersions.datasets)} datasets ({formatBytes(result.prunedVersions.bytes)})
        </li>
        <li>
          Artifacts of deleted jobs: {formatNumber(result.jobArtifacts.jobs)} jobs (
          {formatBytes(result.jobArtifacts.bytes)})
        </li>
        {result.orphans && (
          <li>
            Model files no version refers to: {formatNumber(result.orphans.objects)} (
            {formatBytes(result.orphans.bytes)})
          </li>
        )}
      </ul>
    </div>
  );
}
