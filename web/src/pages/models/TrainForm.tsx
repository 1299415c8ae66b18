import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { useLocation } from 'wouter';
import { api, call } from '../../api/client';
import { ProblemError } from '../../api/problem';
import { Button, SelectField, TextField } from '../../ui/controls';
import { ErrorState } from '../../ui/states';
import { modelKeys, type ModelTask } from './api';

/** How many datasets the form offers, by name (as the pipeline input picker). */
const DATASETS_OFFERED = 500;

/** Algorithms a request may name per task besides `auto` (the server refuses one it does not have, at /algorithm). */
const ALGORITHMS: Record<ModelTask, string[]> = {
  forecast: [
    'repeat-last',
    'seasonal-naive',
    'mean',
    'drift',
    'linear',
    'nlinear',
    'dlinear',
    'gbdt',
    'mlp',
    'ets',
    'mstl',
  ],
  regression: ['mean', 'gbdt', 'mlp'],
  classification: ['majority', 'gbdt', 'mlp'],
};
const TASKS: { value: ModelTask; label: string }[] = [
  { value: 'forecast', label: 'Forecast (a numeric column over time)' },
  { value: 'regression', label: 'Regression (a number from other columns)' },
  { value: 'classification', label: 'Classification (a class from other columns)' },
];

const isTimeLike = (type: string) => /TIMESTAMP|DATE|INT/i.test(type);

/**
 * Trains a model: the dataset's latest version gives the columns (target, time column, features); the API checks
 * the request against it and answers a pointer per problem, shown at its field. On success: the model's page,
 * where the training is followed live.
 */
export function TrainForm({ onCancel }: { onCancel: () => void }) {
  const [, navigate] = useLocation();
  const queryClient = useQueryClient();
  const [datasetId, setDatasetId] = useState('');
  const [task, setTask] = useState<ModelTask>('forecast');
  const [name, setName] = useState('');
  const [target, setTarget] = useState('');
  const [timeColumn, setTimeColumn] = useState('');
  const [horizon, setHorizon] = useState('24');
  const [algorithm, setAlgorithm] = useState('auto');
  const [budget, setBudget] = useState('60');
  const [excluded, setExcluded] = useState<Set<string>>(new Set());

  const datasets = useQuery({
    queryKey: ['datasets', 'picker'],
    queryFn: () =>
      call(api.GET('/api/v1/datasets', { params: { query: { limit: DATASETS_OFFERED, offset: 0, sort: 'name' } } })),
  });
  const dataset = useQuery({
    queryKey: ['datasets', datasetId],
    enabled: datasetId !== '',
    queryFn: ({ signal }) => call(api.GET('/api/v1/datasets/{id}', { params: { path: { id: datasetId } }, signal })),
  });
  const columns = dataset.data?.latestVersion.schema ?? [];
  const forecast = task === 'forecast';
  const featureColumns = columns.filter((c) => c.name !== target && !(forecast && c.name === timeColumn));

  const train = useMutation({
    mutationFn: () => {
      const features = forecast ? undefined : featureColumns.filter((c) => !excluded.has(c.name)).map((c) => c.name);
      return call(
        api.POST('/api/v1/models', {
          body: {
            name: name.trim(),
            datasetId,
            task,
            target,
            ...(features ? { features } : {}),
            ...(forecast ? { timeColumn, horizon: Number(horizon) } : {}),
            algorithm,
            ...(budget ? { budgetSeconds: Number(budget) } : {}),
          },
        }),
      );
    },
    onSuccess: (accepted) => {
      void queryClient.invalidateQueries({ queryKey: modelKeys.all });
      navigate(`/models/${accepted.model.id}`);
    },
  });
  const problem = train.error instanceof ProblemError ? train.error : null;
  const at = (pointer: string) => problem?.errorAt(pointer);
  const featuresError = problem?.errorAt('/features', true);

  const chooseDataset = (id: string) => {
    setDatasetId(id);
    setTarget('');
    setTimeColumn('');
    setExcluded(new Set());
  };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    train.mutate();
  };

  return (
    <form className="card stack train-form" aria-label="Train a model" onSubmit={submit} noValidate>
      <h2>Train a model</h2>
      {datasets.error ? (
        <ErrorState error={datasets.error} title="Datasets not loaded" retry={() => void datasets.refetch()} />
      ) : null}
      <div className="grid-2">
        <TextField label="Name" required value={name} onChange={(e) => setName(e.target.value)} error={at('/name')} />
        <SelectField
          label="Dataset"
          value={datasetId}
          onChange={(e) => chooseDataset(e.target.value)}
          error={at('/datasetId')}
          options={[
            { value: '', label: datasets.isPending ? 'Loading datasets…' : 'Choose a dataset…' },
            ...(datasets.data?.items ?? []).map((d) => ({ value: d.id, label: d.name })),
          ]}
        />
        <SelectField label="Task" value={task} onChange={(e) => setTask(e.target.value as ModelTask)} options={TASKS} />
        <SelectField
          label="Target"
          value={target}
          onChange={(e) => setTarget(e.target.value)}
          error={at('/target')}
          disabled={columns.length === 0}
          options={[
            { value: '', label: 'Choose a column…' },
            ...columns.map((c) => ({ value: c.name, label: `${c.name} (${c.type})` })),
          ]}
        />
        {forecast && (
          <>
            <SelectField
              label="Time column"
              value={timeColumn}
              onChange={(e) => setTimeColumn(e.target.value)}
              error={at('/timeColumn')}
              disabled={columns.length === 0}
              options={[
                { value: '', label: 'Choose a column…' },
                ...columns
                  .filter((c) => isTimeLike(c.type) && c.name !== target)
                  .map((c) => ({ value: c.name, label: `${c.name} (${c.type})` })),
              ]}
            />
            <TextField
              label="Horizon"
              hint="Steps ahead to forecast"
              type="number"
              min={1}
              value={horizon}
              onChange={(e) => setHorizon(e.target.value)}
              error={at('/horizon')}
            />
          </>
        )}
        <SelectField
          label="Algorithm"
          value={algorithm}
          onChange={(e) => setAlgorithm(e.target.value)}
          error={at('/algorithm')}
          options={[
            { value: 'auto', label: 'auto (try each, keep the best on validation)' },
            ...(ALGORITHMS[task] ?? []).map((a) => ({ value: a, label: a })),
          ]}
        />
        <TextField
          label="Time budget (seconds)"
          type="number"
          min={1}
          value={budget}
          onChange={(e) => setBudget(e.target.value)}
          error={at('/budgetSeconds')}
        />
      </div>
      {!forecast && featureColumns.length > 0 && (
        <fieldset className="feature-list" aria-describedby={featuresError ? 'features-error' : undefined}>
          <legend>Features</legend>
          {featureColumns.map((c) => (
            <label key={c.name} className="checkbox">
              <input
                type="checkbox"
                checked={!excluded.has(c.name)}
                onChange={(e) =>
                  setExcluded((current) => {
                    const next = new Set(current);
                    if (e.target.checked) next.delete(c.name);
                    else next.add(c.name);
                    return next;
                  })
                }
              />
              <span>
                {c.name} <span className="muted">{c.type}</span>
              </span>
            </label>
          ))}
          {featuresError && (
            <span className="error danger-text" id="features-error" role="alert">
              {featuresError}
            </span>
          )}
        </fieldset>
      )}
      {train.error && !problem?.fieldErrors.length ? <ErrorState error={train.error} title="Not started" /> : null}
      <div className="row">
        <Button type="submit" variant="primary" busy={train.isPending} disabled={!datasetId || !target || !name.trim()}>
          Train
        </Button>
        <Button onClick={onCancel}>Cancel</Button>
      </div>
    </form>
  );
}
