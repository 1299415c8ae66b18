import { useEffect, useState } from 'react';
import { Button, SelectField, TextField } from '../../ui/controls';
import { FILTER_KEYS, FORMATS, SORTS, type ListView } from './list-view';

/** Typing in a text filter updates the URL (and asks the server) once the person pauses, not per keystroke. */
const TYPING_PAUSE_MS = 300;

type Update = (changes: Partial<ListView>) => void;

/** A text filter kept in the URL: local while typing, committed after a pause (or on Enter / leaving the field). */
function useCommittedText(value: string, commit: (v: string) => void) {
  const [draft, setDraft] = useState(value);
  // The URL changed from elsewhere (back button, "Clear filters"): show it.
  useEffect(() => setDraft(value), [value]);
  useEffect(() => {
    if (draft === value) return;
    const timer = setTimeout(() => commit(draft), TYPING_PAUSE_MS);
    return () => clearTimeout(timer);
    // commit is a new function per render; the draft and the committed value decide
  }, [draft, value]);
  return {
    value: draft,
    onChange: (e: React.ChangeEvent<HTMLInputElement>) => setDraft(e.target.value),
    onBlur: () => draft !== value && commit(draft),
    onKeyDown: (e: React.KeyboardEvent) => e.key === 'Enter' && draft !== value && commit(draft),
  };
}

export function DatasetFilters({ view, update }: { view: ListView; update: Update }) {
  // Any filter change goes back to the first page: page 4 of the old result means nothing for the new one.
  const set = (changes: Partial<ListView>) => update({ ...changes, page: '1' });
  const search = useCommittedText(view.search, (search) => set({ search }));
  const tag = useCommittedText(view.tag, (tag) => set({ tag }));
  const filtered = FILTER_KEYS.some((k) => view[k] !== '');
  return (
    <form
      className="toolbar dataset-filters"
      role="search"
      aria-label="Filter datasets"
      onSubmit={(e) => e.preventDefault()}
    >
      <TextField label="Search" type="search" placeholder="Name contains…" {...search} />
      <TextField label="Tag" placeholder="Exact tag" {...tag} />
      <SelectField
        label="Format"
        value={view.format}
        onChange={(e) => set({ format: e.target.value })}
        options={[{ value: '', label: 'Any format' }, ...FORMATS.map((f) => ({ value: f, label: f.toUpperCase() }))]}
      />
      <TextField
        label="Created from"
        type="date"
        value={view.createdAfter}
        max={view.createdBefore || undefined}
        onChange={(e) => set({ createdAfter: e.target.value })}
      />
      <TextField
        label="Created to"
        type="date"
        value={view.createdBefore}
        min={view.createdAfter || undefined}
        onChange={(e) => set({ createdBefore: e.target.value })}
      />
      <SelectField label="Sort" value={view.sort} onChange={(e) => set({ sort: e.target.value })} options={SORTS} />
      {filtered && (
        <Button
          onClick={() => set({ search: '', tag: '', format: '', createdAfter: '', createdBefore: '' })}
          className="dataset-filters-clear"
        >
          Clear filters
        </Button>
      )}
    </form>
  );
}
