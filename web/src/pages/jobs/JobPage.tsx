import type { ReactNode } from 'react';
import { Link, useParams } from 'wouter';
import { JobProgress, JobStatusBadge, useJob, type Job } from '../../api/jobs';
import { formatDateTime, formatDuration } from '../../lib/format';
import { PageHeader } from '../../ui/controls';
import { QueryView } from '../../ui/states';
import { JobActions } from './job-actions';
import { historyFromRow, jobDuration, useLiveHistory, type HistoryEntry } from './job-history';
import './jobs.css';

/** /jobs/:id: one job, live over its `job:<id>` topic, with what it was given, what it answered, and its events. */
export default function JobPage() {
  const { id = '' } = useParams<{ id: string }>();
  const job = useJob(id);
  const live = useLiveHistory(id);
  return (
    <>
      <p className="muted" style={{ margin: '0 0 0.5rem' }}>
        <Link href="/jobs">← Jobs</Link>
      </p>
      <QueryView query={job} loadingLabel="Loading the job…">
        {(j) => (
          <>
            <PageHeader
              title={
                <>
                  {j.kind} <JobStatusBadge status={j.status} />
                </>
              }
              subtitle={<code>{j.id}</code>}
              actions={<JobActions job={j} small={false} />}
            />
            <div className="stack">
              <section className="card" aria-labelledby="job-state-title">
                <h2 id="job-state-title">State</h2>
                {/* A failure is shown once, below, with its code and details; a cancel needs no alarm. */}
                <JobProgress job={{ ...j, error: null }} />
                {j.error && j.status !== 'cancelled' && <JobErrorView error={j.error} />}
              </section>
              <div className="grid-2">
                <section className="card" aria-labelledby="job-facts-title">
                  <h2 id="job-facts-title">Details</h2>
                  <JobFacts job={j} />
                </section>
                <section className="card" aria-labelledby="job-events-title">
                  <h2 id="job-events-title">Events</h2>
                  <EventList entries={[...historyFromRow(j)]} label="From the job's record" />
                  <h3 style={{ marginTop: '1rem' }}>Received while this page is open</h3>
                  {live.length === 0 ? (
                    <p className="muted">
                      {j.status === 'queued' || j.status === 'running'
                        ? 'Waiting for the next state change or progress report…'
                        : 'None: the job has ended.'}
                    </p>
                  ) : (
                    <EventList entries={live} label="Live events" />
                  )}
                </section>
              </div>
              <section className="card" aria-labelledby="job-payload-title">
                <h2 id="job-payload-title">Payload</h2>
                <Json value={j.payload} label="Payload" />
              </section>
              {j.result !== null && j.result !== undefined && (
                <section className="card" aria-labelledby="job-result-title">
                  <h2 id="job-result-title">Result</h2>
                  <Json value={j.result} label="Result" />
                </section>
              )}
            </div>
          </>
        )}
      </QueryView>
    </>
  );
}

function JobFacts({ job }: { job: Job }) {
  const facts: [string, ReactNode][] = [
    ['Status', <JobStatusBadge key="s" status={job.status} />],
    ['Attempts', `${job.attempts} of at most ${job.maxAttempts}`],
    ['Created', formatDateTime(job.createdAt)],
    ['Started', formatDateTime(job.startedAt)],
    ['Finished', formatDateTime(job.finishedAt)],
    ['Run time', formatDuration(jobDuration(job))],
    ['Next attempt not before', job.status === 'queued' ? formatDateTime(job.runAfter) : '—'],
    ['Time limit per attempt', formatDuration(job.timeoutMs)],
    ['Priority', String(job.priority)],
    ['Created by', job.createdBy ? <code key="c">{job.createdBy}</code> : 'the system'],
    [
      'Parent job',
      job.parentId ? (
        <Link key="p" href={`/jobs/${job.parentId}`}>
          {job.parentId}
        </Link>
      ) : (
        '—'
      ),
    ],
  ];
  if (job.cancelRequested && job.status !== 'cancelled') facts.push(['Cancel', 'requested, stopping…']);
  return (
    <dl className="job-facts">
      {facts.map(([term, value]) => (
        <div key={term} style={{ display: 'contents' }}>
          <dt>{term}</dt>
          <dd>{value}</dd>
        </div>
      ))}
    </dl>
  );
}

function JobErrorView({ error }: { error: NonNullable<Job['error']> }) {
  return (
    <div className="state-error" style={{ marginTop: '0.75rem' }}>
      <strong>
        Error <code>{error.code}</code>
      </strong>
      <p style={{ margin: '0.35rem 0' }}>{error.message}</p>
      {error.details && error.details.length > 0 && (
        <ul>
          {error.details.map((d, i) => (
            <li key={i}>
              <code>{d.pointer || '/'}</code>
              {d.line !== undefined && ` line ${d.line}`}
              {d.row !== undefined && ` row ${d.row}`}: {d.message}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

function EventList({ entries, label }: { entries: HistoryEntry[]; label: string }) {
  return (
    <ol className="job-events" aria-label={label}>
      {entries.map((e, i) => (
        <li key={`${e.at}-${i}`}>
          <time dateTime={e.at} title={formatDateTime(e.at)}>
            {new Date(e.at).toLocaleTimeString()}
          </time>
          <span>
            <strong>{e.what}</strong>
            {e.detail && <span className="muted"> — {e.detail}</span>}
          </span>
        </li>
      ))}
    </ol>
  );
}

/** Any JSON value as indented text (never HTML): payloads and results are the job handler's own shapes. */
function Json({ value, label }: { value: unknown; label: string }) {
  return (
    <pre className="json-block" tabIndex={0} aria-label={label}>
      {JSON.stringify(value ?? null, null, 2)}
    </pre>
  );
}
