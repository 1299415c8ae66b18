import { keepPreviousData, replaceEqualDeep, useQuery } from '@tanstack/react-query';
import { Link } from 'wouter';
import { api, call } from '../../api/client';
import { JobStatusBadge, type Job, type JobStatus } from '../../api/jobs';
import { useSession } from '../../app/session';
import { formatDateTime, formatDuration, formatNumber, formatRelative } from '../../lib/format';
import { useUrlState } from '../../lib/url-state';
import { Button, PageHeader, ProgressBar, SelectField, TextField } from '../../ui/controls';
import { Empty, Loading, QueryView } from '../../ui/states';
import { JobActions } from './job-actions';
import { JobStats } from './JobStats';
import { jobDuration } from './job-history';
import { keepNewer, useLiveJobList, type JobPage } from './live-list';
import './jobs.css';

const PAGE_SIZE = 25;

/** The status filter's choices: one status, or the two groups people look for. Values are comma lists. */
const STATUS_OPTIONS = [
  { value: '', label: 'Any status' },
  { value: 'queued,running', label: 'Unfinished (queued, running)' },
  { value: 'failed,cancelled', label: 'Failed or cancelled' },
  { value: 'queued', label: 'Queued' },
  { value: 'running', label: 'Running' },
  { value: 'succeeded', label: 'Succeeded' },
  { value: 'failed', label: 'Failed' },
  { value: 'cancelled', label: 'Cancelled' },
] as const;
const KNOWN_STATUSES = new Set<string>(['queued', 'running', 'succeeded', 'failed', 'cancelled']);

/** /jobs: the workspace's jobs, newest first, filtered and paged in the URL, kept live over the WebSocket. */
export default function JobsPage() {
  // The page can mount before the caller's /auth/me answer is in (a reload, a workspace switch).
  const { me } = useSession();
  if (!me) return <Loading />;
  return <JobsView workspaceId={me.workspace.id} />;
}

function JobsView({ workspaceId }: { workspaceId: string }) {
  const [filters, setFilters] = useUrlState({ status: '', kind: '', since: '', page: '1' });
  const statuses = filters.status.split(',').filter((s): s is JobStatus => KNOWN_STATUSES.has(s));
  const page = Math.max(1, Number.parseInt(filters.page, 10) || 1);
  const query = {
    limit: PAGE_SIZE,
    offset: (page - 1) * PAGE_SIZE,
    ...(statuses.length > 0 ? { status: statuses } : {}),
    ...(filters.kind ? { kind: filters.kind } : {}),
    ...(filters.since ? { createdAfter: `${filters.since}T00:00:00.000Z` } : {}),
  };
  const listKey = ['jobs', 'list', query] as const;
  const jobs = useQuery({
    queryKey: listKey,
    queryFn: () => call(api.GET('/api/v1/jobs', { params: { query } })),
    placeholderData: keepPreviousData,
    // A read that started before a job's final event must not move it back (live-list.ts newerJob).
    structuralSharing: (held, incoming) =>
      replaceEqualDeep(held, keepNewer(held as JobPage | undefined, incoming as JobPage)),
  });
  useLiveJobList(workspaceId, listKey, statuses);

  const kinds = useQuery({
    queryKey: ['jobs', 'stats', 7],
    queryFn: () => call(api.GET('/api/v1/jobs/stats', { params: { query: { days: 7 } } })),
    select: (s) => s.byKind.map((k) => k.kind),
  });
  const kindOptions = [...new Set([...(kinds.data ?? []), ...(filters.kind ? [filters.kind] : [])])].sort();
  const filtered = statuses.length > 0 || filters.kind !== '' || filters.since !== '';

  return (
    <>
      <PageHeader title="Jobs" subtitle="Ingests, pipeline runs and other background work in this workspace, live." />
      <div className="stack">
        <JobStats />
        <form className="toolbar" role="search" aria-label="Filter jobs" onSubmit={(e) => e.preventDefault()}>
          <SelectField
            label="Status"
            value={filters.status}
            options={STATUS_OPTIONS}
            onChange={(e) => setFilters({ status: e.target.value, page: '1' })}
          />
          <SelectField
            label="Kind"
            value={filters.kind}
            options={[{ value: '', label: 'Any kind' }, ...kindOptions.map((k) => ({ value: k, label: k }))]}
            onChange={(e) => setFilters({ kind: e.target.value, page: '1' })}
          />
          <TextField
            label="Created since"
            type="date"
            value={filters.since}
            onChange={(e) => setFilters({ since: e.target.value, page: '1' })}
          />
          {filtered && (
            <Button variant="ghost" onClick={() => setFilters({ status: '', kind: '', since: '', page: '1' })}>
              Clear filters
            </Button>
          )}
        </form>
        <QueryView
          query={jobs}
          loadingLabel="Loading jobs…"
          isEmpty={(d) => d.items.length === 0 && d.offset === 0}
          empty={
            <Empty title={filtered ? 'No job matches these filters' : 'No jobs yet'}>
              <p className="muted">
                {filtered
                  ? 'Try another status or kind, or clear the filters.'
                  : 'Uploading a file or running a pipeline starts one.'}
              </p>
            </Empty>
          }
        >
          {(data) => (
            <>
              <JobTable jobs={data.items} />
              <Pager
                page={page}
                total={data.total}
                shown={data.items.length}
                onPage={(p) => setFilters({ page: String(p) }, { push: true })}
              />
            </>
          )}
        </QueryView>
      </div>
    </>
  );
}

function JobTable({ jobs }: { jobs: Job[] }) {
  return (
    <div className="table-wrap">
      <table className="table">
        <caption className="visually-hidden">Jobs, newest first</caption>
        <thead>
          <tr>
            <th scope="col">Job</th>
            <th scope="col">Status</th>
            <th scope="col">Progress</th>
            <th scope="col" className="num">
              Attempts
            </th>
            <th scope="col">Created</th>
            <th scope="col" className="num">
              Run time
            </th>
            <th scope="col">
              <span className="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {jobs.map((job) => (
            <JobRow key={job.id} job={job} />
          ))}
        </tbody>
      </table>
    </div>
  );
}

function JobRow({ job }: { job: Job }) {
  const active = job.status === 'running' || job.status === 'queued';
  return (
    <tr data-job-id={job.id}>
      <td>
        <Link href={`/jobs/${job.id}`}>{job.kind}</Link>
        <code className="job-id">{job.id}</code>
      </td>
      <td>
        <JobStatusBadge status={job.status} />
      </td>
      <td className="job-progress-cell">
        {active ? (
          <>
            <ProgressBar
              value={job.status === 'queued' ? null : job.progress / 100}
              label={`${job.kind} ${job.id} progress`}
            />
            <span className="muted">
              {job.status === 'queued'
                ? 'waiting for a worker'
                : (job.progressMessage ?? `${Math.round(job.progress)}%`)}
            </span>
          </>
        ) : job.error ? (
          <span className={job.status === 'failed' ? 'danger-text' : 'muted'}>{job.error.message}</span>
        ) : (
          <span className="muted">{job.status === 'succeeded' ? 'done' : ''}</span>
        )}
      </td>
      <td className="num">
        {job.attempts} / {job.maxAttempts}
      </td>
      <td>
        <time dateTime={job.createdAt} title={formatDateTime(job.createdAt)}>
          {formatRelative(job.createdAt)}
        </time>
      </td>
      <td className="num">{formatDuration(jobDuration(job))}</td>
      <td>
        <JobActions job={job} />
      </td>
    </tr>
  );
}

function Pager({
  page,
  total,
  shown,
  onPage,
}: {
  page: number;
  total: number;
  shown: number;
  onPage: (page: number) => void;
}) {
  const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
  const first = (page - 1) * PAGE_SIZE + 1;
  return (
    <nav className="pager" aria-label="Pages of jobs">
      <span className="muted" aria-live="polite">
        {shown === 0
          ? `No jobs on page ${page}`
          : `${formatNumber(first)}–${formatNumber(first + shown - 1)} of ${formatNumber(total)}`}
      </span>
      <div className="row">
        <Button small disabled={page <= 1} onClick={() => onPage(page - 1)}>
          Previous
        </Button>
        <span>
          Page {page} of {pages}
        </span>
        <Button small disabled={page >= pages} onClick={() => onPage(page + 1)}>
          Next
        </Button>
      </div>
    </nav>
  );
}
