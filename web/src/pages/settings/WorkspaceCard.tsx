import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api, call } from '../../api/client';
import { ProblemError } from '../../api/problem';
import { useCan, useMe, useSession } from '../../app/session';
import { Button, TextField } from '../../ui/controls';
import { Dialog } from '../../ui/dialog';
import { ErrorState, QueryView } from '../../ui/states';
import { useToast } from '../../ui/toast';
import { fetchWorkspace, settingsKeys } from './queries';
import type { Workspace } from './types';

/** The workspace itself: its name (renamed by `workspace:manage`), and a way to start a new one. */
export function WorkspaceCard() {
  const me = useMe();
  const workspace = useQuery({
    queryKey: settingsKeys.workspace(me.workspace.id),
    queryFn: () => fetchWorkspace(me.workspace.id),
  });
  return (
    <section className="card" aria-labelledby="workspace-heading">
      <div className="card-header">
        <h2 id="workspace-heading">Workspace</h2>
        {me.via === 'jwt' && <NewWorkspaceButton />}
      </div>
      <QueryView query={workspace} loadingLabel="Loading the workspace…">
        {(ws) => <WorkspaceName workspace={ws} />}
      </QueryView>
    </section>
  );
}

function WorkspaceName({ workspace }: { workspace: Workspace }) {
  const canManage = useCan('workspace:manage');
  const queryClient = useQueryClient();
  const toast = useToast();
  const [name, setName] = useState(workspace.name);
  const rename = useMutation({
    mutationFn: (newName: string) =>
      call(
        api.PATCH('/api/v1/workspaces/{workspaceId}', {
          params: { path: { workspaceId: workspace.id } },
          body: { name: newName },
        }),
      ),
    onSuccess: async (updated) => {
      queryClient.setQueryData(settingsKeys.workspace(updated.id), updated);
      toast({ title: 'Workspace renamed', description: updated.name });
      // The header's workspace switcher shows the name.
      await queryClient.invalidateQueries({ queryKey: ['me'] });
    },
  });
  const details = (
    <p className="muted settings-ids">
      Slug <code>{workspace.slug}</code> · id <code>{workspace.id}</code>
    </p>
  );
  if (!canManage)
    return (
      <>
        <p className="workspace-name">{workspace.name}</p>
        {details}
      </>
    );
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (name.trim() && name.trim() !== workspace.name) rename.mutate(name.trim());
  };
  const fieldError = rename.error instanceof ProblemError ? rename.error.errorAt('/body/name') : undefined;
  return (
    <form className="inline-form" onSubmit={submit}>
      <TextField
        label="Name"
        value={name}
        required
        maxLength={200}
        onChange={(e) => setName(e.target.value)}
        error={fieldError}
      />
      <Button type="submit" busy={rename.isPending} disabled={!name.trim() || name.trim() === workspace.name}>
        Rename
      </Button>
      {details}
      {rename.error && !fieldError && <ErrorState error={rename.error} title="Not renamed" />}
    </form>
  );
}

/** Any signed-in person may start a workspace; they become its owner and can switch to it. */
function NewWorkspaceButton() {
  const { switchWorkspace } = useSession();
  const queryClient = useQueryClient();
  const [open, setOpen] = useState(false);
  const [name, setName] = useState('');
  const [slug, setSlug] = useState('');
  const create = useMutation({
    mutationFn: () =>
      call(
        api.POST('/api/v1/workspaces', { body: { name: name.trim(), ...(slug.trim() ? { slug: slug.trim() } : {}) } }),
      ),
    onSuccess: async (ws) => {
      setOpen(false);
      setName('');
      setSlug('');
      await queryClient.invalidateQueries({ queryKey: ['me'] });
      switchWorkspace(ws.id);
    },
  });
  const problem = create.error instanceof ProblemError ? create.error : null;
  return (
    <>
      <Button small onClick={() => (create.reset(), setOpen(true))}>
        New workspace
      </Button>
      <Dialog
        open={open}
        onOpenChange={setOpen}
        title="New workspace"
        description="You become its owner; the dashboard switches to it."
      >
        <form
          className="stack"
          onSubmit={(e) => {
            e.preventDefault();
            create.mutate();
          }}
        >
          <TextField
            label="Name"
            value={name}
            required
            maxLength={200}
            onChange={(e) => setName(e.target.value)}
            error={problem?.errorAt('/body/name')}
          />
          <TextField
            label="Slug (optional)"
            hint="Lower-case letters, digits and dashes; made from the name when left empty."
            value={slug}
            pattern="[a-z0-9][a-z0-9\-]{0,47}"
            onChange={(e) => setSlug(e.target.value)}
            error={problem?.errorAt('/body/slug')}
          />
          {create.error && !problem?.fieldErrors.length && <ErrorState error={create.error} title="Not created" />}
          <div className="dialog-actions">
            <Button onClick={() => setOpen(false)}>Cancel</Button>
            <Button type="submit" variant="primary" busy={create.isPending} disabled={!name.trim()}>
              Create workspace
            </Button>
          </div>
        </form>
      </Dialog>
    </>
  );
}
