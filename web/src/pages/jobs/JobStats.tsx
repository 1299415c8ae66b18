import { useQuery } from '@tanstack/react-query';
import { api, call } from '../../api/client';
import { JobStatusBadge, type JobStatus } from '../../api/jobs';
import { formatDuration, formatNumber, formatPercent } from '../../lib/format';
import { ErrorState } from '../../ui/states';

const STATUSES: JobStatus[] = ['queued', 'running', 'succeeded', 'failed', 'cancelled'];
const WINDOW_DAYS = 7;

/** The workspace's jobs of the last week in one line: counts by status, success rate and run times. */
export function JobStats() {
  const stats = useQuery({
    queryKey: ['jobs', 'stats', WINDOW_DAYS],
    queryFn: () => call(api.GET('/api/v1/jobs/stats', { params: { query: { days: WINDOW_DAYS } } })),
  });
  if (stats.isPending) return <p className="muted job-stats">Loading statistics…</p>;
  if (stats.error)
    return <ErrorState error={stats.error} title="Statistics not loaded" retry={() => void stats.refetch()} />;
  const s = stats.data;
  return (
    <section className="card job-stats" aria-labelledby="job-stats-title">
      <h2 id="job-stats-title" className="visually-hidden">
        Statistics
      </h2>
      <dl className="job-stats-list">
        <div>
          <dt>Last {s.days} days</dt>
          <dd>
            {formatNumber(s.total)} {s.total === 1 ? 'job' : 'jobs'}
          </dd>
        </div>
        {STATUSES.map((status) => (
          <div key={status}>
            <dt>
              <JobStatusBadge status={status} />
            </dt>
            <dd>{formatNumber(s.byStatus[status])}</dd>
          </div>
        ))}
        <div>
          <dt>Success rate</dt>
          <dd>{formatPercent(s.successRate)}</dd>
        </div>
        <div>
          <dt>Run time p50 / p95</dt>
          <dd>
            {formatDuration(s.durationMs.p50)} / {formatDuration(s.durationMs.p95)}
          </dd>
        </div>
      </dl>
    </section>
  );
}
