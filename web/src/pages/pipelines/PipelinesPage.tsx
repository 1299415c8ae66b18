import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { Link } from 'wouter';
import { api, call } from '../../api/client';
import { useCan } from '../../app/session';
import { formatDateTime, formatNumber, formatRelative } from '../../lib/format';
import { useUrlState } from '../../lib/url-state';
import { Badge, Button, PageHeader, TextField } from '../../ui/controls';
import { Empty, QueryView } from '../../ui/states';
import { pipelineKeys, type PipelineSummary } from './api';
import { RunHistory } from './RunHistory';
import './pipelines.css';

const PAGE_SIZE = 25;

/** The workspace's saved pipelines, newest first, each with its current version and, on demand, its latest runs. */
export default function PipelinesPage() {
  const canWrite = useCan('pipelines:write');
  const [state, update] = useUrlState({ search: '', page: '1' });
  const page = Math.max(1, Number(state.page) || 1);
  const pipelines = useQuery({
    queryKey: pipelineKeys.list(state.search, page),
    placeholderData: keepPreviousData,
    queryFn: () =>
      call(
        api.GET('/api/v1/pipelines', {
          params: {
            query: {
              limit: PAGE_SIZE,
              offset: (page - 1) * PAGE_SIZE,
              ...(state.search ? { search: state.search } : {}),
            },
          },
        }),
      ),
  });
  return (
    <>
      <PageHeader
        title="Pipelines"
        subtitle="Steps that turn one dataset into another, saved with every version, run on demand."
        actions={
          canWrite && (
            <Link href="/pipelines/new" className="btn btn-primary">
              New pipeline
            </Link>
          )
        }
      />
      <div className="toolbar" role="search">
        <TextField
          label="Search pipelines"
          type="search"
          placeholder="Name contains…"
          value={state.search}
          onChange={(e) => update({ search: e.target.value, page: '1' })}
        />
      </div>
      <QueryView
        query={pipelines}
        loadingLabel="Loading pipelines…"
        isEmpty={(data) => data.items.length === 0}
        empty={
          <Empty title={state.search ? 'No pipeline matches' : 'No pipelines yet'}>
            {state.search
              ? 'Try another part of the name.'
              : canWrite
                ? 'Build one from a dataset: filter, derive, aggregate, join, and preview every step as you go.'
                : 'Nobody has saved a pipeline in this workspace yet.'}
          </Empty>
        }
      >
        {(data) => (
          <div className="stack">
            <ul className="pipeline-list" aria-label="Pipelines">
              {data.items.map((p) => (
                <PipelineItem key={p.id} pipeline={p} />
              ))}
            </ul>
            <Pager page={page} total={data.total} onPage={(next) => update({ page: String(next) }, { push: true })} />
          </div>
        )}
      </QueryView>
    </>
  );
}

function PipelineItem({ pipeline }: { pipeline: PipelineSummary }) {
  const [showRuns, setShowRuns] = useState(false);
  const runsId = `runs-${pipeline.id}`;
  return (
    <li className="card pipeline-item">
      <div className="pipeline-item-head">
        <div className="stack" style={{ gap: '0.2rem', minWidth: 0 }}>
          <h2 className="pipeline-item-name">
            <Link href={`/pipelines/${pipeline.id}`}>{pipeline.name}</Link>
          </h2>
          {pipeline.description && <p className="muted pipeline-item-description">{pipeline.description}</p>}
          <div className="row pipeline-item-facts">
            <Badge tone="accent">v{pipeline.version}</Badge>
            <span>
              {pipeline.stepCount} {pipeline.stepCount === 1 ? 'step' : 'steps'}
            </span>
            {pipeline.template && <Badge>template</Badge>}
            <span className="muted">
              updated{' '}
              <time dateTime={pipeline.updatedAt} title={formatDateTime(pipeline.updatedAt)}>
                {formatRelative(pipeline.updatedAt)}
              </time>
            </span>
            {pipeline.outputDatasetId && <Link href={`/datasets/${pipeline.outputDatasetId}`}>Output dataset</Link>}
          </div>
        </div>
        <Button
          small
          aria-expanded={showRuns}
          aria-controls={runsId}
          onClick={() => setShowRuns((v) => !v)}
          aria-label={`${showRuns ? 'Hide' : 'Show'} runs of ${pipeline.name}`}
        >
          {showRuns ? 'Hide runs' : 'Runs'}
        </Button>
      </div>
      <div id={runsId} hidden={!showRuns}>
        {showRuns && <RunHistory pipelineId={pipeline.id} label={`Runs of ${pipeline.name}`} />}
      </div>
    </li>
  );
}

function Pager({ page, total, onPage }: { page: number; total: number; onPage: (page: number) => void }) {
  const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
  if (pages === 1) return <p className="muted">{total === 1 ? '1 pipeline' : `${formatNumber(total)} pipelines`}</p>;
  return (
    <nav className="row" aria-label="Pages of pipelines">
      <Button small disabled={page <= 1} onClick={() => onPage(page - 1)}>
        Previous
      </Button>
      <span aria-current="page">
        Page {page} of {pages} ({formatNumber(total)} pipelines)
      </span>
      <Button small disabled={page >= pages} onClick={() => onPage(page + 1)}>
        Next
      </Button>
    </nav>
  );
}
