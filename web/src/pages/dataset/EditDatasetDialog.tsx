import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api, call } from '../../api/client';
import { ProblemError } from '../../api/problem';
import { Button, TextAreaField, TextField } from '../../ui/controls';
import { Dialog } from '../../ui/dialog';
import { ErrorState } from '../../ui/states';
import { useToast } from '../../ui/toast';
import { datasetKeys } from './queries';
import type { Dataset } from './types';

/** Tags as typed: comma-separated, trimmed, empty ones and repeats dropped. */
export function parseTags(text: string): string[] {
  return [
    ...new Set(
      text
        .split(',')
        .map((t) => t.trim())
        .filter(Boolean),
    ),
  ];
}

const FIELDS = ['/body/name', '/body/description', '/body/tags'];

/**
 * Renames, describes and tags a dataset (PATCH); the API's field errors are shown at their fields. Mount it when it
 * opens: the form starts from the dataset as it is then.
 */
export function EditDatasetDialog({
  dataset,
  open,
  onOpenChange,
}: {
  dataset: Dataset;
  open: boolean;
  onOpenChange: (open: boolean) => void;
}) {
  const queryClient = useQueryClient();
  const notify = useToast();
  const [name, setName] = useState(dataset.name);
  const [description, setDescription] = useState(dataset.description);
  const [tags, setTags] = useState(dataset.tags.join(', '));

  const save = useMutation({
    mutationFn: () =>
      call(
        api.PATCH('/api/v1/datasets/{id}', {
          params: { path: { id: dataset.id } },
          body: { name, description, tags: parseTags(tags) },
        }),
      ),
    onSuccess: (updated) => {
      queryClient.setQueryData(datasetKeys.detail(dataset.id), updated);
      void queryClient.invalidateQueries({ queryKey: ['datasets'] });
      notify({ title: 'Dataset saved' });
      onOpenChange(false);
    },
  });

  const problem = save.error instanceof ProblemError ? save.error : null;
  // An error at a field is shown there; anything else (a conflict, a network failure) above the buttons.
  const atAField = problem !== null && problem.fieldErrors.some((e) => FIELDS.some((f) => e.pointer.startsWith(f)));

  const submit = (event: FormEvent) => {
    event.preventDefault();
    save.mutate();
  };

  return (
    <Dialog open={open} onOpenChange={onOpenChange} title="Edit dataset">
      <form className="stack" onSubmit={submit} noValidate>
        <TextField
          label="Name"
          value={name}
          onChange={(e) => setName(e.target.value)}
          error={problem?.errorAt('/body/name')}
          required
          maxLength={200}
          autoComplete="off"
        />
        <TextAreaField
          label="Description"
          value={description}
          onChange={(e) => setDescription(e.target.value)}
          error={problem?.errorAt('/body/description')}
          rows={3}
        />
        <TextField
          label="Tags"
          hint="Separated by commas, at most 20"
          value={tags}
          onChange={(e) => setTags(e.target.value)}
          error={problem?.errorAt('/body/tags', true)}
          autoComplete="off"
        />
        {save.error && !atAField && <ErrorState error={save.error} title="Not saved" />}
        <div className="dialog-actions">
          <Button onClick={() => onOpenChange(false)}>Cancel</Button>
          <Button type="submit" variant="primary" busy={save.isPending}>
            Save
          </Button>
        </div>
      </form>
    </Dialog>
  );
}
