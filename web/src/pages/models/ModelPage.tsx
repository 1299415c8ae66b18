import { useMutation, useQueryClient } from '@tanstack/react-query';
import { lazy, Suspense, useCallback, useState } from 'react';
import { Link, useLocation, useParams } from 'wouter';
import { api, call } from '../../api/client';
import { isFinished, JobProgress, useJob } from '../../api/jobs';
import { useTopic, type TopicEvent } from '../../api/realtime';
import { useCan } from '../../app/session';
import { formatDateTime, formatDuration, formatNumber } from '../../lib/format';
import { useUrlState } from '../../lib/url-state';
import { Badge, Button, PageHeader } from '../../ui/controls';
import { ConfirmDialog } from '../../ui/dialog';
import { Empty, ErrorState, Loading, QueryView } from '../../ui/states';
import { useToast } from '../../ui/toast';
import {
  modelKeys,
  reportOf,
  useModel,
  useModelVersions,
  type Model,
  type ModelProgress,
  type ModelVersion,
  type TrainingReport,
} from './api';
import { applyProgress, NO_TRAINING, type TrainingView } from './training';
import './models.css';

// vega loads with the first chart, never with the page.
const ModelCharts = lazy(() => import('./ModelCharts'));
const LiveLossChart = lazy(() => import('./ModelCharts').then((m) => ({ default: m.LiveLossChart })));

/** Metric columns in a fixed order per task; others the report has follow. */
const METRIC_ORDER: Record<string, string[]> = {
  forecast: ['mse', 'mae', 'rmse', 'mape', 'smape', 'mase'],
  regression: ['mse', 'rmse', 'mae', 'r2'],
  classification: ['accuracy', 'macroF1', 'logLoss', 'rocAuc'],
};

const cell = (v: number | null | undefined) => (v === null || v === undefined ? '—' : formatNumber(v));

/** /models/:id — a model: its training (live), the metrics beside the baselines, charts and versions. */
export default function ModelPage() {
  const { id = '' } = useParams<{ id: string }>();
  const model = useModel(id);
  return (
    <QueryView query={model} loadingLabel="Loading the model…">
      {(m) => <ModelView model={m} />}
    </QueryView>
  );
}

/** The live state of a training from its `model.progress` events (and the new version when it lands). */
function useTraining(model: Model) {
  const queryClient = useQueryClient();
  const [view, setView] = useState<TrainingView>(NO_TRAINING);
  const onEvent = useCallback(
    (event: TopicEvent) => {
      if (event.event === 'model.version') {
        void queryClient.invalidateQueries({ queryKey: modelKeys.detail(model.id) });
        void queryClient.invalidateQueries({ queryKey: modelKeys.versions(model.id) });
        void queryClient.invalidateQueries({ queryKey: modelKeys.lists });
      } else if (event.event === 'model.progress')
        setView((current) => applyProgress(current, event.data as ModelProgress));
    },
    [model.id, queryClient],
  );
  useTopic(
    `model:${model.id}`,
    onEvent,
    () => void queryClient.invalidateQueries({ queryKey: modelKeys.detail(model.id) }),
  );
  return view;
}

function ModelView({ model }: { model: Model }) {
  const canTrain = useCan('models:train');
  const [, navigate] = useLocation();
  const queryClient = useQueryClient();
  const toast = useToast();
  const versions = useModelVersions(model.id);
  const job = useJob(model.training?.jobId ?? null);
  const { progress, points } = useTraining(model);
  const [state, update] = useUrlState({ version: '' });
  const training = job.data && !isFinished(job.data.status);
  const [wasTraining, setWasTraining] = useState(false);
  if (training && !wasTraining) setWasTraining(true);
  if (wasTraining && job.data && isFinished(job.data.status)) {
    setWasTraining(false);
    void queryClient.invalidateQueries({ queryKey: modelKeys.detail(model.id) });
    void queryClient.invalidateQueries({ queryKey: modelKeys.versions(model.id) });
    void queryClient.invalidateQueries({ queryKey: modelKeys.lists });
  }

  const items = versions.data?.items ?? [];
  const selected = items.find((v) => String(v.number) === state.version) ?? items.find((v) => v.current) ?? items[0];

  const remove = async () => {
    await call(api.DELETE('/api/v1/models/{id}', { params: { path: { id: model.id } } }));
    await queryClient.invalidateQueries({ queryKey: modelKeys.all });
    toast({ title: `Model ${model.name} deleted` });
    navigate('/models');
  };

  return (
    <div className="stack">
      <p className="breadcrumb">
        <Link href="/models">Models</Link> <span aria-hidden="true">/</span>
      </p>
      <PageHeader
        title={model.name}
        subtitle={
          <>
            {model.task} of <code>{model.target}</code>
            {model.spec.horizon ? ` ${model.spec.horizon} steps ahead` : ''} on{' '}
            <Link href={`/datasets/${model.datasetId}`}>its dataset</Link>
          </>
        }
        actions={
          canTrain && (
            <ConfirmDialog
              title={`Delete ${model.name}?`}
              description={`Its ${model.versionCount} version(s) and their artifacts go too. This cannot be undone.`}
              confirmLabel="Delete model"
              onConfirm={remove}
              trigger={(open) => (
                <Button variant="danger" onClick={open}>
                  Delete
                </Button>
              )}
            />
          )
        }
      />
      {job.data && (training || job.data.status === 'failed' || job.data.status === 'cancelled') && (
        <section className="card stack" aria-labelledby="training-title">
          <h2 id="training-title">Training</h2>
          <JobProgress job={job.data} label="Training progress" />
          {training && progress?.phase && (
            <p className="training-phase" aria-live="polite">
              Phase: <strong>{progress.phase}</strong> {progress.algorithm}
              {progress.iteration !== undefined &&
                ` · iteration ${progress.iteration}${progress.of ? ` of ${progress.of}` : ''}`}
              {progress.etaMs ? ` · about ${formatDuration(progress.etaMs)} left` : ''}
            </p>
          )}
          {points.length > 0 && (
            <Suspense fallback={<Loading label="Loading the chart…" />}>
              <LiveLossChart points={points} />
            </Suspense>
          )}
        </section>
      )}
      <QueryView
        query={versions}
        loadingLabel="Loading the versions…"
        isEmpty={(data) => data.items.length === 0}
        empty={
          <Empty title="No trained version yet">
            {training
              ? 'The first version appears when the training ends.'
              : 'The training did not register a version.'}
          </Empty>
        }
      >
        {() =>
          selected ? (
            <>
              <VersionReport model={model} version={selected} />
              <VersionsTable
                model={model}
                versions={items}
                selected={selected}
                onSelect={(n) => update({ version: String(n) })}
              />
            </>
          ) : null
        }
      </QueryView>
    </div>
  );
}

function MetricsTable({ report }: { report: TrainingReport }) {
  const algorithms = Object.keys(report.metrics).sort((a, b) =>
    a === report.algorithm ? -1 : b === report.algorithm ? 1 : a.localeCompare(b),
  );
  const present = new Set(algorithms.flatMap((a) => Object.keys(report.metrics[a]!.original)));
  const order = METRIC_ORDER[report.task] ?? [];
  const metrics = [...order.filter((m) => present.has(m)), ...[...present].filter((m) => !order.includes(m)).sort()];
  const skill = report.task === 'forecast';
  return (
    <div className="table-wrap">
      <table className="table" aria-label="Test metrics beside the baselines">
        <thead>
          <tr>
            <th scope="col">Algorithm</th>
            {metrics.map((m) => (
              <th key={m} scope="col" className="num">
                {m}
              </th>
            ))}
            {skill && (
              <th scope="col" className="num">
                skill
              </th>
            )}
          </tr>
        </thead>
        <tbody>
          {algorithms.map((a) => (
            <tr key={a} className={a === report.algorithm ? 'chosen' : undefined}>
              <th scope="row">
                {a} {a === report.algorithm ? <Badge tone="accent">model</Badge> : <Badge>baseline</Badge>}
              </th>
              {metrics.map((m) => (
                <td key={m} className="num">
                  {cell(report.metrics[a]!.original[m])}
                </td>
              ))}
              {skill && <td className="num">{cell(report.metrics[a]!.skill)}</td>}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Leaderboard({ report }: { report: TrainingReport }) {
  const keys = [...new Set(report.leaderboard.flatMap((l) => Object.keys(l.validation)))].sort();
  return (
    <div className="table-wrap">
      <table className="table" aria-label="Leaderboard">
        <thead>
          <tr>
            <th scope="col">Algorithm</th>
            <th scope="col">Status</th>
            {keys.map((k) => (
              <th key={k} scope="col" className="num">
                validation {k}
              </th>
            ))}
            <th scope="col" className="num">
              Training time
            </th>
          </tr>
        </thead>
        <tbody>
          {report.leaderboard.map((l) => (
            <tr key={l.algorithm}>
              <th scope="row">{l.algorithm}</th>
              <td>
                <Badge tone={l.status === 'ok' ? 'success' : l.status === 'failed' ? 'danger' : 'default'}>
                  {l.status}
                </Badge>
                {l.reason && <span className="muted"> {l.reason}</span>}
              </td>
              {keys.map((k) => (
                <td key={k} className="num">
                  {cell(l.validation[k])}
                </td>
              ))}
              <td className="num">{formatDuration(l.trainMs)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function VersionReport({ model, version }: { model: Model; version: ModelVersion }) {
  const report = reportOf(version);
  const d = report.data;
  return (
    <>
      <section className="card stack" aria-labelledby="metrics-title">
        <h2 id="metrics-title">
          Version {version.number}: {report.algorithm}
        </h2>
        <p className="muted">
          Trained on {formatNumber(d.rows)} rows of{' '}
          <Link href={`/datasets/${model.datasetId}?version=${version.datasetVersionId}`}>
            dataset version {version.datasetVersionId}
          </Link>
          : {formatNumber(d.train)} to train, {formatNumber(d.validation)} to validate, {formatNumber(d.test)} held back
          to test. The metrics below are on the held-back part, beside every baseline.
        </p>
        <MetricsTable report={report} />
        {report.leaderboard.length > 0 && (
          <>
            <h3>Leaderboard (selection on the validation part)</h3>
            <Leaderboard report={report} />
          </>
        )}
      </section>
      <Suspense fallback={<Loading label="Loading the charts…" />}>
        <ModelCharts modelId={model.id} version={version} />
      </Suspense>
    </>
  );
}

function VersionsTable({
  model,
  versions,
  selected,
  onSelect,
}: {
  model: Model;
  versions: ModelVersion[];
  selected: ModelVersion;
  onSelect: (number: number) => void;
}) {
  const canTrain = useCan('models:train');
  const queryClient = useQueryClient();
  const toast = useToast();
  const refresh = () =>
    Promise.all([
      queryClient.invalidateQueries({ queryKey: modelKeys.detail(model.id) }),
      queryClient.invalidateQueries({ queryKey: modelKeys.versions(model.id) }),
      queryClient.invalidateQueries({ queryKey: modelKeys.lists }),
    ]);
  const promote = useMutation({
    mutationFn: (v: ModelVersion) =>
      call(
        api.POST('/api/v1/models/{id}/versions/{version}/promote', {
          params: { path: { id: model.id, version: v.id } },
        }),
      ),
    onSuccess: async (m) => {
      await refresh();
      toast({ title: `Version ${m.currentVersion} is now current` });
    },
  });
  const remove = async (v: ModelVersion) => {
    await call(
      api.DELETE('/api/v1/models/{id}/versions/{version}', { params: { path: { id: model.id, version: v.id } } }),
    );
    await refresh();
    toast({ title: `Version ${v.number} deleted` });
  };
  return (
    <section className="card stack" aria-labelledby="versions-title">
      <h2 id="versions-title">Versions</h2>
      {promote.error ? <ErrorState error={promote.error} title="Not promoted" /> : null}
      <div className="table-wrap">
        <table className="table" aria-label="Versions">
          <thead>
            <tr>
              <th scope="col">Version</th>
              <th scope="col">Algorithm</th>
              <th scope="col">Trained</th>
              <th scope="col">Training time</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {versions.map((v) => (
              <tr key={v.id} aria-current={v.id === selected.id ? 'true' : undefined}>
                <th scope="row">
                  v{v.number} {v.current && <Badge tone="success">current</Badge>}
                </th>
                <td>{v.algorithm}</td>
                <td>{formatDateTime(v.createdAt)}</td>
                <td>{formatDuration(v.trainingMs)}</td>
                <td>
                  <div className="row">
                    <Button
                      small
                      disabled={v.id === selected.id}
                      onClick={() => onSelect(v.number)}
                      aria-label={`Show version ${v.number}`}
                    >
                      Show
                    </Button>
                    {canTrain && !v.current && (
                      <Button
                        small
                        busy={promote.isPending && promote.variables?.id === v.id}
                        onClick={() => promote.mutate(v)}
                        aria-label={`Promote version ${v.number}`}
                      >
                        Promote
                      </Button>
                    )}
                    {canTrain && (
                      <ConfirmDialog
                        title={`Delete version ${v.number}?`}
                        description={
                          v.current
                            ? 'It is the current version: the newest remaining one becomes current.'
                            : 'Its artifact goes too.'
                        }
                        confirmLabel="Delete version"
                        onConfirm={() => remove(v)}
                        trigger={(open) => (
                          <Button small variant="ghost" onClick={open} aria-label={`Delete version ${v.number}`}>
                            Delete
                          </Button>
                        )}
                      />
                    )}
                  </div>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
