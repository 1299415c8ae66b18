import { useQuery } from '@tanstack/react-query';
import { useRef } from 'react';
import { api, call } from '../../api/client';
import {
  formatBytes,
  formatDateTime,
  formatDuration,
  formatNumber,
  formatPercent,
  formatRelative,
} from '../../lib/format';
import { Badge, Button, ProgressBar } from '../../ui/controls';
import { QueryView } from '../../ui/states';
import { SweepButton } from './SweepDialog';

/** Storage by area (objects, bytes, oldest, retention), free disk, the sweep schedule and the last sweep. */
export function StorageSection() {
  // "Walk again" asks the server for a fresh walk instead of its 30 s cached one; other reads take the cache.
  const freshNext = useRef(false);
  const storage = useQuery({
    queryKey: ['system', 'storage'],
    queryFn: () => {
      const fresh = freshNext.current;
      freshNext.current = false;
      return call(api.GET('/api/v1/system/storage', { params: { query: { fresh } } }));
    },
  });
  return (
    <section className="card" aria-labelledby="storage-title">
      <div className="section-head">
        <h2 id="storage-title">Storage</h2>
        <div className="row">
          <Button
            small
            busy={storage.isFetching}
            onClick={() => {
              freshNext.current = true;
              void storage.refetch();
            }}
          >
            Walk again
          </Button>
          <SweepButton />
        </div>
      </div>
      <QueryView query={storage} loadingLabel="Walking the store…">
        {(s) => (
          <div className="stack">
            <p className="muted" style={{ margin: 0 }}>
              {s.driver === 'local' ? 'Local disk' : 'S3'} · {formatNumber(s.totals.objects)} objects,{' '}
              {formatBytes(s.totals.bytes)} · walked {formatRelative(s.walkedAt)} in {formatDuration(s.walkMs)}
            </p>
            {s.disk && (
              <div className="disk">
                <span>
                  Disk: {formatBytes(s.disk.totalBytes - s.disk.freeBytes)} used of {formatBytes(s.disk.totalBytes)},{' '}
                  {formatBytes(s.disk.freeBytes)} free
                </span>
                <ProgressBar
                  value={s.disk.totalBytes > 0 ? 1 - s.disk.freeBytes / s.disk.totalBytes : 0}
                  label={`Disk used: ${formatPercent(s.disk.totalBytes > 0 ? 1 - s.disk.freeBytes / s.disk.totalBytes : 0)}`}
                />
              </div>
            )}
            <div className="table-wrap">
              <table className="table storage-areas">
                <caption className="visually-hidden">Storage by area</caption>
                <thead>
                  <tr>
                    <th scope="col">Area</th>
                    <th scope="col" className="num">
                      Objects
                    </th>
                    <th scope="col" className="num">
                      Bytes
                    </th>
                    <th scope="col">Oldest</th>
                    <th scope="col">Kept for</th>
                    <th scope="col" className="num">
                      Workspaces
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {s.areas.map((a) => {
                    const retention = (s.retention.areas as Record<string, number | null | undefined>)[a.area];
                    return (
                      <tr key={a.area}>
                        <th scope="row">{a.area}</th>
                        <td className="num">{formatNumber(a.objects)}</td>
                        <td className="num">{formatBytes(a.bytes)}</td>
                        <td>{a.oldest ? formatRelative(a.oldest) : '—'}</td>
                        <td>
                          {retention === undefined
                            ? '—'
                            : retention === null
                              ? 'until deleted'
                              : formatDuration(retention)}
                        </td>
                        <td className="num">{formatNumber(a.workspaces.length)}</td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </div>
            <dl className="facts">
              <dt>Sweep schedule</dt>
              <dd>
                <code>{s.retention.cron}</code> ({s.retention.timezone}), next {formatDateTime(s.retention.nextRun)}
              </dd>
              <dt>Job artifacts kept</dt>
              <dd>{formatDuration(s.retention.jobArtifactsMs)} after their job is deleted</dd>
              <dt>Last sweep</dt>
              <dd>
                {s.lastSweep ? (
                  <>
                    <Badge
                      tone={
                        s.lastSweep.status === 'succeeded'
                          ? 'success'
                          : s.lastSweep.status === 'failed'
                            ? 'danger'
                            : 'default'
                      }
                    >
                      {s.lastSweep.status}
                    </Badge>{' '}
                    {s.lastSweep.dryRun ? 'dry run, ' : ''}
                    {s.lastSweep.scheduledFor ? 'scheduled' : 'started by hand'},{' '}
                    {formatDateTime(s.lastSweep.finishedAt ?? s.lastSweep.startedAt)}
                  </>
                ) : (
                  'none yet'
                )}
              </dd>
            </dl>
          </div>
        )}
      </QueryView>
    </section>
  );
}
