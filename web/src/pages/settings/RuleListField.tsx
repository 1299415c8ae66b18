import { useRef } from 'react';
import { Button } from '../../ui/controls';

export interface RuleRow {
  /** Stable across edits, so React keeps each input (and its focus) while rows are added and removed. */
  id: number;
  value: string;
}

/**
 * One list of network rules edited as rows of inputs: add, change, remove. Errors come from the API's problem
 * document, placed at the row their pointer names, or under the list when they name the whole list.
 */
export function RuleListField({
  name,
  legend,
  hint,
  rows,
  onChange,
  errors,
  newRow,
}: {
  name: string;
  legend: string;
  hint: string;
  rows: readonly RuleRow[];
  onChange: (rows: RuleRow[]) => void;
  errors: { byRow: ReadonlyMap<number, string>; whole: string | undefined };
  newRow: () => RuleRow;
}) {
  const list = useRef<HTMLUListElement>(null);
  const hintId = `${name}-hint`;
  const wholeId = `${name}-error`;
  const add = () => {
    onChange([...rows, newRow()]);
    // Focus the new input once it is rendered.
    requestAnimationFrame(() => list.current?.querySelector<HTMLInputElement>('li:last-child input')?.focus());
  };
  return (
    <fieldset className="rule-list" aria-describedby={[hintId, errors.whole && wholeId].filter(Boolean).join(' ')}>
      <legend>{legend}</legend>
      <p className="hint muted" id={hintId}>
        {hint}
      </p>
      <ul ref={list} className="plain-list">
        {rows.map((row, index) => {
          const error = errors.byRow.get(index);
          const errorId = `${name}-${row.id}-error`;
          return (
            <li key={row.id} className="rule-row">
              <div className="rule-input">
                <input
                  className="input mono"
                  aria-label={`${legend}: entry ${index + 1}`}
                  placeholder="203.0.113.0/24"
                  value={row.value}
                  spellCheck={false}
                  autoComplete="off"
                  aria-invalid={error ? true : undefined}
                  aria-describedby={error ? errorId : undefined}
                  onChange={(e) => onChange(rows.map((r) => (r.id === row.id ? { ...r, value: e.target.value } : r)))}
                />
                <Button
                  small
                  variant="ghost"
                  aria-label={`Remove ${legend.toLowerCase()} entry ${index + 1}${row.value ? ` (${row.value})` : ''}`}
                  onClick={() => onChange(rows.filter((r) => r.id !== row.id))}
                >
                  Remove
                </Button>
              </div>
              {error && (
                <span className="error danger-text" id={errorId} role="alert">
                  {error}
                </span>
              )}
            </li>
          );
        })}
      </ul>
      {errors.whole && (
        <p className="error danger-text" id={wholeId} role="alert">
          {errors.whole}
        </p>
      )}
      <Button small onClick={add} aria-label={`Add an address to ${legend.toLowerCase()}`}>
        Add an address
      </Button>
    </fieldset>
  );
}
