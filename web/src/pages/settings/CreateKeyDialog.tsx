import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useId, useRef, useState, type FormEvent } from 'react';
import { api, call } from '../../api/client';
import { ProblemError } from '../../api/problem';
import { useMe, type Permission } from '../../app/session';
import { Button, SelectField, TextField } from '../../ui/controls';
import { Dialog } from '../../ui/dialog';
import { ErrorState, Loading } from '../../ui/states';
import { fetchPermissions, settingsKeys } from './queries';

const EXPIRY_OPTIONS = [
  { value: '30', label: 'In 30 days' },
  { value: '90', label: 'In 90 days' },
  { value: '365', label: 'In a year' },
  { value: 'never', label: 'Never' },
  { value: 'date', label: 'On a date…' },
] as const;

/** `expiresAt` for the choice: days from now, or the end of a chosen day (local time); undefined for never. */
function expiresAt(choice: string, date: string): string | undefined {
  if (choice === 'never') return undefined;
  if (choice === 'date') return date ? new Date(`${date}T23:59:59`).toISOString() : undefined;
  return new Date(Date.now() + Number(choice) * 86_400_000).toISOString();
}

/**
 * Creates an API key. The scopes offered are those a key may hold (the server's `machine` role) that the caller
 * holds too. The token comes back once: the dialog then shows it, selectable, with a Copy button, and says plainly
 * that it will not be shown again.
 */
export function CreateKeyDialog() {
  const [open, setOpen] = useState(false);
  const [token, setToken] = useState<string | null>(null);
  const close = (next: boolean) => {
    setOpen(next);
    // The secret leaves memory with the dialog.
    if (!next) setToken(null);
  };
  return (
    <>
      <Button variant="primary" onClick={() => setOpen(true)}>
        Create key
      </Button>
      <Dialog
        open={open}
        onOpenChange={close}
        title={token ? 'Your new API key' : 'Create an API key'}
        description={token ? 'Copy it now: you will not see it again.' : undefined}
      >
        {token ? <SecretView token={token} onDone={() => close(false)} /> : <KeyForm onCreated={setToken} />}
      </Dialog>
    </>
  );
}

function KeyForm({ onCreated }: { onCreated: (token: string) => void }) {
  const me = useMe();
  const queryClient = useQueryClient();
  const permissions = useQuery({ queryKey: settingsKeys.permissions, queryFn: fetchPermissions, staleTime: Infinity });
  const grantable = grantableScopes(permissions.data, me.workspace.permissions);
  const [name, setName] = useState('');
  const [expiry, setExpiry] = useState('90');
  const [date, setDate] = useState('');
  const [scopes, setScopes] = useState<Set<string> | null>(null);
  const chosen = scopes ?? new Set(grantable.map((p) => p.name));
  const create = useMutation({
    mutationFn: () =>
      call(
        api.POST('/api/v1/keys', {
          body: {
            name: name.trim(),
            scopes: grantable.map((p) => p.name).filter((s) => chosen.has(s)),
            expiresAt: expiresAt(expiry, date),
          },
        }),
      ),
    onSuccess: async (created) => {
      onCreated(created.token);
      await queryClient.invalidateQueries({ queryKey: settingsKeys.keys(me.workspace.id) });
    },
  });
  const problem = create.error instanceof ProblemError ? create.error : null;
  const scopeError = problem?.errorAt('/body/scopes', true);
  const toggle = (scope: string, on: boolean) => {
    const next = new Set(chosen);
    if (on) next.add(scope);
    else next.delete(scope);
    setScopes(next);
  };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate();
  };
  if (permissions.isPending) return <Loading label="Loading permissions…" />;
  if (permissions.error) return <ErrorState error={permissions.error} retry={() => void permissions.refetch()} />;
  return (
    <form className="stack" onSubmit={submit}>
      <TextField
        label="Name"
        hint="What uses it, e.g. “nightly import”."
        required
        maxLength={200}
        value={name}
        onChange={(e) => setName(e.target.value)}
        error={problem?.errorAt('/body/name')}
      />
      <div className="grid-2">
        <SelectField
          label="Expires"
          value={expiry}
          onChange={(e) => setExpiry(e.target.value)}
          options={EXPIRY_OPTIONS}
        />
        {expiry === 'date' && (
          <TextField
            label="Expiry date"
            type="date"
            required
            min={new Date(Date.now() + 86_400_000).toISOString().slice(0, 10)}
            value={date}
            onChange={(e) => setDate(e.target.value)}
            error={problem?.errorAt('/body/expiresAt')}
          />
        )}
      </div>
      <fieldset className="scope-list" aria-describedby={scopeError ? 'key-scope-error' : undefined}>
        <legend>Scopes</legend>
        {grantable.map((p) => (
          <label key={p.name} className="checkbox">
            <input type="checkbox" checked={chosen.has(p.name)} onChange={(e) => toggle(p.name, e.target.checked)} />
            <span>
              <code>{p.name}</code> <span className="muted">{p.description}</span>
            </span>
          </label>
        ))}
        {scopeError && (
          <span className="error danger-text" id="key-scope-error" role="alert">
            {scopeError}
          </span>
        )}
      </fieldset>
      {create.error && !problem?.fieldErrors.length && <ErrorState error={create.error} title="Not created" />}
      <div className="dialog-actions">
        <Button type="submit" variant="primary" busy={create.isPending} disabled={!name.trim() || chosen.size === 0}>
          Create key
        </Button>
      </div>
    </form>
  );
}

type PermissionsAnswer = Awaited<ReturnType<typeof fetchPermissions>>;

function grantableScopes(answer: PermissionsAnswer | undefined, held: readonly Permission[]) {
  const machine = new Set(answer?.roles.find((r) => r.name === 'machine')?.permissions ?? []);
  return (answer?.permissions ?? []).filter((p) => machine.has(p.name) && held.includes(p.name));
}

function SecretView({ token, onDone }: { token: string; onDone: () => void }) {
  const id = useId();
  const field = useRef<HTMLInputElement>(null);
  const [copied, setCopied] = useState<'yes' | 'failed' | null>(null);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(token);
      setCopied('yes');
    } catch {
      // No clipboard permission (or not a secure context): the text is selected for a manual copy instead.
      field.current?.select();
      setCopied('failed');
    }
  };
  return (
    <div className="stack">
      <div className="state-warning" role="note">
        <strong>You will not see this key again.</strong> Store it somewhere safe now; if it is lost, revoke it and
        create another.
      </div>
      <div className="field">
        <label htmlFor={id}>API key</label>
        <div className="secret-row">
          <input
            ref={field}
            id={id}
            className="input mono secret"
            readOnly
            value={token}
            onFocus={(e) => e.target.select()}
            spellCheck={false}
            autoComplete="off"
          />
          <Button variant="primary" onClick={() => void copy()}>
            Copy
          </Button>
        </div>
        <span className="hint" role="status">
          {copied === 'yes' && 'Copied to the clipboard.'}
          {copied === 'failed' && 'Could not copy: the key is selected, press Ctrl+C (⌘C) to copy it.'}
        </span>
      </div>
      <div className="dialog-actions">
        <Button onClick={onDone}>Done</Button>
      </div>
    </div>
  );
}
