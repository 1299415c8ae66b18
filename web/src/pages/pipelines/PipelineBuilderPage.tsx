import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useMemo, useState } from 'react';
import { Link, useLocation, useParams, useSearch } from 'wouter';
import { api, call } from '../../api/client';
import { ProblemError } from '../../api/problem';
import { useCan } from '../../app/session';
import { formatNumber } from '../../lib/format';
import { Button, PageHeader, TextAreaField, TextField } from '../../ui/controls';
import { ConfirmDialog } from '../../ui/dialog';
import { initialValue } from '../../ui/json-schema';
import { RowsTable } from '../../ui/RowsTable';
import { SchemaForm } from '../../ui/SchemaForm';
import { ErrorState, QueryView } from '../../ui/states';
import { useToast } from '../../ui/toast';
import { pipelineKeys, useStepKinds, type Pipeline, type Step, type StepKind } from './api';
import {
  bodyPointer,
  definitionOf,
  draftOf,
  emptyDraft,
  errorsUnder,
  formParameters,
  newStepKey,
  PARAMETERS_SCHEMA,
  paramsSchema,
  stepIndexOf,
  type Draft,
} from './draft';
import { InputPicker } from './InputPicker';
import { RunHistory } from './RunHistory';
import { RunPanel } from './RunPanel';
import { StepCard } from './StepCard';
import { usePreview } from './usePreview';
import { VersionsList } from './VersionsList';
import './pipelines.css';

/** /pipelines/new (optionally `?dataset=ds_…` as the input) and /pipelines/:id: the pipeline builder. */
export default function PipelineBuilderPage() {
  const { id } = useParams<{ id?: string }>();
  const pipeline = useQuery({
    queryKey: pipelineKeys.one(id ?? ''),
    enabled: id !== undefined,
    queryFn: () => call(api.GET('/api/v1/pipelines/{id}', { params: { path: { id: id! } } })),
  });
  if (id === undefined) return <Builder key="new" pipeline={null} />;
  return (
    <QueryView query={pipeline} loadingLabel="Loading the pipeline…">
      {(p) => <Builder key={p.id} pipeline={p} />}
    </QueryView>
  );
}

const snapshot = (draft: Draft, loaded: Pipeline | null) =>
  JSON.stringify({
    name: draft.name,
    description: draft.description,
    definition: definitionOf(draft, loaded?.definition),
  });

function Builder({ pipeline }: { pipeline: Pipeline | null }) {
  const canWrite = useCan('pipelines:write');
  const canRun = useCan('pipelines:run');
  const queryClient = useQueryClient();
  const notify = useToast();
  const [, navigate] = useLocation();
  const search = useSearch();
  const [draft, setDraft] = useState<Draft>(() =>
    pipeline ? draftOf(pipeline) : emptyDraft(new URLSearchParams(search).get('dataset') ?? ''),
  );
  const [saved, setSaved] = useState(() => (pipeline ? snapshot(draft, pipeline) : null));
  // Steps just added and not yet touched are left out of the preview: their empty required fields are not errors yet.
  const [untouched, setUntouched] = useState<ReadonlySet<number>>(new Set());
  const [paramValues, setParamValues] = useState<Record<string, unknown>>({});
  const [runError, setRunError] = useState<unknown>(null);
  const [focusKey, setFocusKey] = useState<number | null>(null);
  const kinds = useStepKinds();

  const definition = definitionOf(draft, pipeline?.definition);
  const dirty = snapshot(draft, pipeline) !== saved;
  const params = draft.parameters.length > 0 ? paramValues : undefined;
  const parameterNames = useMemo(() => formParameters(draft.parameters), [draft.parameters]);

  const save = useMutation({
    mutationFn: async () => {
      const body = { name: draft.name.trim(), description: draft.description, definition };
      return pipeline
        ? call(api.PUT('/api/v1/pipelines/{id}', { params: { path: { id: pipeline.id } }, body }))
        : call(api.POST('/api/v1/pipelines', { body }));
    },
    onSuccess: (result) => {
      queryClient.setQueryData(pipelineKeys.one(result.id), result);
      void queryClient.invalidateQueries({ queryKey: pipelineKeys.all, type: 'inactive' });
      void queryClient.invalidateQueries({ queryKey: pipelineKeys.versions(result.id) });
      setSaved(snapshot(draft, result));
      notify({ title: `Saved version ${result.version}`, description: result.name });
      if (!pipeline) navigate(`/pipelines/${result.id}`, { replace: true });
    },
  });

  // Every change goes through here: an error from the last save is about the pipeline as it was.
  const edit = (change: (d: Draft) => Draft) => {
    if (save.error) save.reset();
    setDraft(change);
  };
  const editStep = (index: number, value: Step) => {
    const key = draft.steps[index]?.key;
    if (key !== undefined && untouched.has(key)) setUntouched((keys) => new Set([...keys].filter((k) => k !== key)));
    edit((d) => ({ ...d, steps: d.steps.map((s, i) => (i === index ? { ...s, value } : s)) }));
  };
  const moveStep = (from: number, to: number) =>
    edit((d) => {
      const steps = [...d.steps];
      const [moved] = steps.splice(from, 1);
      if (moved) steps.splice(to, 0, moved);
      return { ...d, steps };
    });
  const addStep = (kind: StepKind) => {
    const key = newStepKey();
    setFocusKey(key);
    setUntouched((keys) => new Set([...keys, key]));
    edit((d) => ({
      ...d,
      steps: [...d.steps, { key, value: (initialValue(kind.schema) ?? { type: kind.type }) as Step }],
    }));
  };

  // The preview covers the steps up to the first untouched one.
  const firstUntouched = draft.steps.findIndex((s) => untouched.has(s.key));
  const previewed = firstUntouched < 0 ? draft.steps.length : firstUntouched;
  const previewDefinition = { ...definition, steps: definition.steps.slice(0, previewed) };
  const preview = usePreview(previewDefinition, params, canRun);
  const previewError = preview.data?.error ?? null;
  const failedStep = previewError?.fieldErrors.map((e) => stepIndexOf(e.pointer)).find((i) => i !== null) ?? null;

  const errors = useMemo(() => {
    const all = [save.error, previewError, runError].flatMap((e) => (e instanceof ProblemError ? e.fieldErrors : []));
    const seen = new Set<string>();
    return all.filter((e) => {
      const id = `${bodyPointer(e.pointer)}\n${e.message}`;
      return seen.has(id) ? false : (seen.add(id), true);
    });
  }, [save.error, previewError, runError]);
  const errorAt = (pointer: string) => errorsUnder(errors, pointer).find((e) => e.pointer === '')?.message;

  const data = preview.data?.preview ?? null;
  const columnsBefore = (index: number): string[] =>
    (index === 0 ? data?.input.columns : data?.steps[index - 1]?.columns)?.map((c) => c.name) ?? [];

  return (
    <>
      <PageHeader
        title={pipeline ? pipeline.name : 'New pipeline'}
        subtitle={
          pipeline ? (
            <>
              Version {pipeline.version}
              {dirty ? ' · unsaved changes' : ''} · <Link href="/pipelines">All pipelines</Link>
            </>
          ) : (
            <>
              Choose an input, add steps, watch each step's rows, then save.{' '}
              <Link href="/pipelines">All pipelines</Link>
            </>
          )
        }
        actions={
          <>
            {canWrite && (
              <Button
                variant="primary"
                busy={save.isPending}
                disabled={!dirty && pipeline !== null}
                onClick={() => save.mutate()}
              >
                {pipeline ? 'Save new version' : 'Save pipeline'}
              </Button>
            )}
            {canWrite && pipeline && <DeletePipeline pipeline={pipeline} />}
          </>
        }
      />
      {save.error && <ErrorState error={save.error} title="Not saved" />}

      <div className="builder">
        <section className="card stack" aria-labelledby="pipeline-about">
          <h2 id="pipeline-about">Pipeline</h2>
          <div className="grid-2">
            <TextField
              label="Name"
              required
              value={draft.name}
              error={errorAt('/name')}
              maxLength={200}
              onChange={(e) => {
                const name = e.target.value;
                edit((d) => ({ ...d, name }));
              }}
            />
            <TextField
              label="Output dataset name"
              value={draft.outputName}
              error={errorAt('/definition/output/name') ?? errorAt('/definition/output')}
              maxLength={200}
              placeholder={draft.name ? `${draft.name} output` : undefined}
              hint="Each run adds a version to this dataset; the first run creates it."
              onChange={(e) => {
                const outputName = e.target.value;
                edit((d) => ({ ...d, outputName }));
              }}
            />
          </div>
          <TextAreaField
            label="Description"
            rows={2}
            value={draft.description}
            error={errorAt('/description')}
            maxLength={4000}
            onChange={(e) => {
              const description = e.target.value;
              edit((d) => ({ ...d, description }));
            }}
          />
        </section>

        <section className="card stack" aria-labelledby="pipeline-input">
          <h2 id="pipeline-input">Input</h2>
          <InputPicker
            value={draft.input}
            datasetError={errorAt('/definition/input/datasetId') ?? errorAt('/definition/input')}
            versionError={errorAt('/definition/input/versionId')}
            onChange={(input) => edit((d) => ({ ...d, input }))}
          />
          {data && (
            <div className="stack step-preview">
              <p className="muted step-preview-note">
                Input: {data.input.columns.length} columns, first {formatNumber(data.input.rows.length)} rows
              </p>
              <RowsTable columns={data.input.columns} rows={data.input.rows} label="Input rows" />
            </div>
          )}
          {previewError && failedStep === null && <ErrorState error={previewError} title="No preview" />}
          {!canRun && <p className="muted">Previews need the pipelines:run permission.</p>}
        </section>

        <section className="stack" aria-labelledby="pipeline-steps">
          <h2 id="pipeline-steps">Steps</h2>
          {draft.steps.length === 0 && (
            <p className="muted">No steps yet: the output would be the input as it is. Add a step below.</p>
          )}
          <ol className="step-list">
            {draft.steps.map((s, i) => (
              <StepCard
                key={s.key}
                index={i}
                count={draft.steps.length}
                step={s.value}
                kind={kinds.data?.find((k) => k.type === s.value.type)}
                errors={errorsUnder(errors, `/definition/steps/${i}`)}
                preview={i < previewed ? data?.steps[i] : undefined}
                previewState={
                  !canRun
                    ? 'off'
                    : i >= previewed
                      ? 'untouched'
                      : data?.steps[i]
                        ? 'ready'
                        : failedStep !== null && failedStep <= i
                          ? 'blocked'
                          : 'loading'
                }
                inputColumns={columnsBefore(i)}
                parameters={parameterNames}
                focusOnMount={s.key === focusKey}
                onChange={(value) => editStep(i, value)}
                onMove={(to) => moveStep(i, to)}
                onRemove={() => edit((d) => ({ ...d, steps: d.steps.filter((_, j) => j !== i) }))}
              />
            ))}
          </ol>
          {kinds.error ? (
            <ErrorState error={kinds.error} title="Step types not loaded" retry={() => void kinds.refetch()} />
          ) : (
            <AddStep kinds={kinds.data ?? []} onAdd={addStep} />
          )}
        </section>

        <details className="card parameters" open={draft.parameters.length > 0 || undefined}>
          <summary>
            <h2>Parameters</h2>
            <span className="muted">
              {draft.parameters.length > 0
                ? `${draft.parameters.length} declared: this pipeline is a template`
                : 'none: make this pipeline a template'}
            </span>
          </summary>
          <div className="stack">
            <SchemaForm
              schema={PARAMETERS_SCHEMA}
              label="Declared parameters"
              value={draft.parameters}
              onChange={(value) => edit((d) => ({ ...d, parameters: (value as Draft['parameters']) ?? [] }))}
              errors={errorsUnder(errors, '/definition/parameters')}
              idPrefix="parameters"
            />
            {draft.parameters.length > 0 && (
              <SchemaForm
                schema={paramsSchema(draft.parameters)}
                label="Values for preview and run"
                value={paramValues}
                onChange={(value) => setParamValues((value as Record<string, unknown>) ?? {})}
                errors={errorsUnder(errors, '/params')}
                idPrefix="param-values"
              />
            )}
          </div>
        </details>

        {pipeline && (
          <>
            {canRun && (
              <section className="card stack" aria-labelledby="pipeline-run">
                <h2 id="pipeline-run">Run</h2>
                <RunPanel
                  pipelineId={pipeline.id}
                  version={pipeline.version}
                  params={params}
                  blockedBecause={dirty ? 'Save your changes first: a run runs a saved version.' : null}
                  onParamErrors={setRunError}
                />
              </section>
            )}
            <section className="card stack" aria-labelledby="pipeline-runs">
              <h2 id="pipeline-runs">Run history</h2>
              <RunHistory pipelineId={pipeline.id} label={`Runs of ${pipeline.name}`} />
            </section>
            <section className="card stack" aria-labelledby="pipeline-versions">
              <h2 id="pipeline-versions">Versions</h2>
              <VersionsList
                pipeline={pipeline}
                onOpen={(version) =>
                  edit((d) => ({
                    ...draftOf({ ...pipeline, definition: version.definition }),
                    name: d.name,
                    description: d.description,
                  }))
                }
              />
            </section>
          </>
        )}
      </div>
    </>
  );
}

function AddStep({ kinds, onAdd }: { kinds: readonly StepKind[]; onAdd: (kind: StepKind) => void }) {
  const [type, setType] = useState('');
  const chosen = kinds.find((k) => k.type === type);
  return (
    <div className="card add-step">
      <div className="field">
        <label htmlFor="add-step-type">Step type</label>
        <select id="add-step-type" className="input" value={type} onChange={(e) => setType(e.target.value)}>
          <option value="">Choose a step…</option>
          {kinds.map((k) => (
            <option key={k.type} value={k.type}>
              {k.type}: {k.summary}
            </option>
          ))}
        </select>
      </div>
      <Button
        disabled={!chosen}
        onClick={() => {
          if (chosen) onAdd(chosen);
          setType('');
        }}
      >
        Add step
      </Button>
    </div>
  );
}

function DeletePipeline({ pipeline }: { pipeline: Pipeline }) {
  const queryClient = useQueryClient();
  const [, navigate] = useLocation();
  const notify = useToast();
  return (
    <ConfirmDialog
      trigger={(open) => (
        <Button variant="danger" onClick={open}>
          Delete
        </Button>
      )}
      title={`Delete ${pipeline.name}?`}
      description="Its versions go. Its runs, and the lineage of the datasets it made, stay readable."
      confirmLabel="Delete pipeline"
      onConfirm={async () => {
        await call(api.DELETE('/api/v1/pipelines/{id}', { params: { path: { id: pipeline.id } } }));
        queryClient.removeQueries({ queryKey: pipelineKeys.one(pipeline.id) });
        void queryClient.invalidateQueries({ queryKey: pipelineKeys.all });
        notify({ title: 'Pipeline deleted', description: pipeline.name });
        navigate('/pipelines');
      }}
    />
  );
}
