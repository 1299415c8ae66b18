import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { Link } from 'wouter';
import { api, call } from '../../api/client';
import { JobStatusBadge, type JobStatus } from '../../api/jobs';
import { useCan } from '../../app/session';
import { formatDateTime, formatRelative } from '../../lib/format';
import { useUrlState } from '../../lib/url-state';
import { Badge, Button, PageHeader, SelectField, TextField } from '../../ui/controls';
import { Empty, QueryView } from '../../ui/states';
import { modelKeys } from './api';
import { TrainForm } from './TrainForm';
import './models.css';

const LISTED = 100;

/** /models — the workspace's models, newest first, and the form that trains a new one. */
export default function ModelsPage() {
  const canTrain = useCan('models:train');
  const [state, update] = useUrlState({ search: '', task: '', train: '' });
  const models = useQuery({
    queryKey: modelKeys.list(state.search, state.task),
    placeholderData: keepPreviousData,
    queryFn: () =>
      call(
        api.GET('/api/v1/models', {
          params: {
            query: {
              limit: LISTED,
              offset: 0,
              ...(state.search ? { q: state.search } : {}),
              ...(state.task ? { task: state.task as 'forecast' | 'regression' | 'classification' } : {}),
            },
          },
        }),
      ),
  });
  return (
    <>
      <PageHeader
        title="Models"
        subtitle="Forecasts, regressions and classifications trained on your datasets, measured against baselines on data they never saw."
        actions={
          canTrain &&
          !state.train && (
            <Button variant="primary" onClick={() => update({ train: '1' })}>
              Train a model
            </Button>
          )
        }
      />
      {canTrain && state.train && <TrainForm onCancel={() => update({ train: '' })} />}
      <div className="toolbar" role="search">
        <TextField
          label="Search models"
          type="search"
          placeholder="Name contains…"
          value={state.search}
          onChange={(e) => update({ search: e.target.value })}
        />
        <SelectField
          label="Task"
          value={state.task}
          onChange={(e) => update({ task: e.target.value })}
          options={[
            { value: '', label: 'Any task' },
            { value: 'forecast', label: 'Forecast' },
            { value: 'regression', label: 'Regression' },
            { value: 'classification', label: 'Classification' },
          ]}
        />
      </div>
      <QueryView
        query={models}
        loadingLabel="Loading models…"
        isEmpty={(data) => data.items.length === 0}
        empty={
          <Empty title={state.search || state.task ? 'No model matches' : 'No models yet'}>
            {state.search || state.task
              ? 'Try another name or task.'
              : canTrain
                ? 'Train one on a dataset: pick the target, and Weir measures it against simple baselines.'
                : 'Nobody has trained a model in this workspace yet.'}
          </Empty>
        }
      >
        {(data) => (
          <div className="table-wrap">
            <table className="table" aria-label="Models">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Task</th>
                  <th scope="col">Target</th>
                  <th scope="col">Current</th>
                  <th scope="col">Training</th>
                  <th scope="col">Updated</th>
                </tr>
              </thead>
              <tbody>
                {data.items.map((m) => (
                  <tr key={m.id}>
                    <td>
                      <Link href={`/models/${m.id}`}>{m.name}</Link>
                    </td>
                    <td>{m.task}</td>
                    <td>
                      <code>{m.target}</code>
                    </td>
                    <td>{m.currentVersion !== null ? <Badge tone="accent">v{m.currentVersion}</Badge> : '—'}</td>
                    <td>{m.training ? <JobStatusBadge status={m.training.status as JobStatus} /> : '—'}</td>
                    <td>
                      <time dateTime={m.updatedAt} title={formatDateTime(m.updatedAt)}>
                        {formatRelative(m.updatedAt)}
                      </time>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </QueryView>
    </>
  );
}
