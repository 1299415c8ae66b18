import { useCallback, useEffect, useId, useRef } from 'react';
import type { FieldError } from '../../api/problem';
import { formatNumber } from '../../lib/format';
import { Button } from '../../ui/controls';
import type { JsonSchema } from '../../ui/json-schema';
import { RowsTable, type RowsColumn } from '../../ui/RowsTable';
import { SchemaForm, type FormParameter } from '../../ui/SchemaForm';
import type { Step, StepKind } from './api';

export type PreviewState = 'ready' | 'loading' | 'blocked' | 'untouched' | 'off';

const NO_PREVIEW: Record<Exclude<PreviewState, 'ready' | 'off'>, string> = {
  loading: 'Previewing…',
  blocked: 'No preview until the error at or above this step is fixed.',
  untouched: 'Fill in this step to preview its rows.',
};

interface StepPreview {
  columns: RowsColumn[];
  rows: unknown[][];
}

/**
 * One step of the pipeline: its form, generated from its kind's JSON schema, the errors the API placed in it, and
 * the first rows it makes. Column names the step can use (its input's) are offered in its column fields.
 */
export function StepCard({
  index,
  count,
  step,
  kind,
  errors,
  preview,
  previewState,
  inputColumns,
  parameters,
  focusOnMount,
  onChange,
  onMove,
  onRemove,
}: {
  index: number;
  count: number;
  step: Step;
  kind: StepKind | undefined;
  errors: FieldError[];
  preview: StepPreview | undefined;
  /** Why there is no preview: an error at or before this step, not filled in yet, no permission, or loading. */
  previewState: PreviewState;
  inputColumns: readonly string[];
  /** The template's parameter names: a field may take one instead of a value. */
  parameters: readonly FormParameter[];
  /** Takes focus when it appears (a step just added), so keyboard users land in it. */
  focusOnMount?: boolean;
  onChange: (step: Step) => void;
  onMove: (to: number) => void;
  onRemove: () => void;
}) {
  const headingId = useId();
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    if (focusOnMount) heading.current?.focus();
  }, [focusOnMount]);
  const n = index + 1;
  // Weir's column fields are the only patterned strings of the step schemas (names without control characters).
  const suggest = useCallback(
    (schema: JsonSchema) => (schema.pattern !== undefined ? inputColumns : undefined),
    [inputColumns],
  );
  return (
    <li className="card step-card" aria-labelledby={headingId}>
      <div className="step-card-head">
        <h3 id={headingId} ref={heading} tabIndex={-1}>
          <span className="step-number">Step {n}</span> {step.type}
        </h3>
        <div className="row step-card-actions">
          <Button small variant="ghost" disabled={index === 0} onClick={() => onMove(index - 1)}>
            <span aria-hidden="true">↑</span>
            <span className="visually-hidden">Move step {n} up</span>
          </Button>
          <Button small variant="ghost" disabled={index === count - 1} onClick={() => onMove(index + 1)}>
            <span aria-hidden="true">↓</span>
            <span className="visually-hidden">Move step {n} down</span>
          </Button>
          <Button small variant="ghost" onClick={onRemove}>
            Remove<span className="visually-hidden"> step {n}</span>
          </Button>
        </div>
      </div>
      {kind ? (
        <>
          <p className="muted step-summary">{kind.summary}</p>
          <SchemaForm
            schema={kind.schema}
            value={step}
            onChange={(value) => onChange(value as Step)}
            errors={errors}
            suggest={suggest}
            parameters={parameters}
            idPrefix={`step-${headingId}`}
          />
        </>
      ) : (
        <p className="danger-text">This server has no step type “{step.type}”: remove the step.</p>
      )}
      <StepRows n={n} preview={preview} state={previewState} />
    </li>
  );
}

function StepRows({ n, preview, state }: { n: number; preview: StepPreview | undefined; state: PreviewState }) {
  if (state === 'off') return null;
  if (!preview || state !== 'ready')
    return <p className="muted step-preview-note">{NO_PREVIEW[state === 'ready' ? 'loading' : state]}</p>;
  return (
    <div className="stack step-preview">
      <p className="muted step-preview-note">
        Output of step {n}: {preview.columns.length} columns, first {formatNumber(preview.rows.length)} rows
      </p>
      <RowsTable columns={preview.columns} rows={preview.rows} label={`Output of step ${n}`} />
    </div>
  );
}
