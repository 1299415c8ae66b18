import { Link } from 'wouter';
import { JobStatusBadge } from '../../api/jobs';
import { formatDateTime, formatDuration, formatNumber, formatRelative } from '../../lib/format';
import { Empty } from '../../ui/states';
import { QueryView } from '../../ui/states';
import { usePipelineRuns, type Run } from './api';

/** A pipeline's latest runs: status, version, when, how long, rows, the output it made, or why it failed. */
export function RunHistory({ pipelineId, label }: { pipelineId: string; label: string }) {
  const runs = usePipelineRuns(pipelineId);
  return (
    <QueryView
      query={runs}
      loadingLabel="Loading runs…"
      isEmpty={(data) => data.items.length === 0}
      empty={<Empty title="No runs yet">A run stores its result as a new version of the output dataset.</Empty>}
    >
      {(data) => (
        <div className="stack" style={{ gap: '0.35rem' }}>
          <RunsTable runs={data.items} label={label} />
          {data.total > data.items.length && (
            <p className="muted" style={{ margin: 0 }}>
              The latest {data.items.length} of {formatNumber(data.total)} runs.
            </p>
          )}
        </div>
      )}
    </QueryView>
  );
}

export function RunsTable({ runs, label }: { runs: readonly Run[]; label: string }) {
  return (
    <div className="table-wrap" role="region" aria-label={label} tabIndex={0}>
      <table className="table">
        <caption className="visually-hidden">{label}</caption>
        <thead>
          <tr>
            <th scope="col">Status</th>
            <th scope="col" className="num">
              Version
            </th>
            <th scope="col">Started</th>
            <th scope="col" className="num">
              Duration
            </th>
            <th scope="col" className="num">
              Rows
            </th>
            <th scope="col">Output</th>
          </tr>
        </thead>
        <tbody>
          {runs.map((run) => (
            <tr key={run.id}>
              <td>
                <JobStatusBadge status={run.status} />
              </td>
              <td className="num">{run.pipelineVersion ?? '—'}</td>
              <td>
                <time dateTime={run.startedAt ?? run.createdAt} title={formatDateTime(run.startedAt ?? run.createdAt)}>
                  {formatRelative(run.startedAt ?? run.createdAt)}
                </time>
              </td>
              <td className="num">{formatDuration(run.durationMs)}</td>
              <td className="num">{formatNumber(run.rowCount)}</td>
              <td>
                <RunOutcome run={run} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function RunOutcome({ run }: { run: Run }) {
  if (run.error) return <span className="danger-text">{run.error.message}</span>;
  if (run.output.datasetId && run.status === 'succeeded')
    return <Link href={`/datasets/${run.output.datasetId}`}>Output dataset</Link>;
  if (run.jobId) return <Link href={`/jobs/${run.jobId}`}>Job</Link>;
  return <span className="muted">—</span>;
}
