import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api, call } from '../../api/client';
import { ProblemError } from '../../api/problem';
import { useMe } from '../../app/session';
import { Button } from '../../ui/controls';
import { ErrorState, QueryView } from '../../ui/states';
import { useToast } from '../../ui/toast';
import { fetchWorkspace, settingsKeys } from './queries';
import { RuleListField, type RuleRow } from './RuleListField';
import type { Workspace } from './types';

type ListName = 'ipAllow' | 'ipDeny';

/** The workspace's IP allow and deny lists (instance-wide rules, from config, apply on top of these). */
export function NetworkTab() {
  const me = useMe();
  const workspace = useQuery({
    queryKey: settingsKeys.workspace(me.workspace.id),
    queryFn: () => fetchWorkspace(me.workspace.id),
  });
  return (
    <section className="card" aria-labelledby="network-heading">
      <h2 id="network-heading">Network rules</h2>
      <p className="muted">
        Addresses or CIDR blocks (<code>10.0.0.0/8</code>, <code>2001:db8::/32</code>). With an allow list, only those
        addresses may use the workspace; a deny entry wins over an allow entry.
      </p>
      <QueryView query={workspace} loadingLabel="Loading the rules…">
        {(ws) => <RulesForm key={ws.id} workspace={ws} />}
      </QueryView>
    </section>
  );
}

let nextRowId = 1;
const rowsOf = (values: readonly string[]): RuleRow[] => values.map((value) => ({ id: nextRowId++, value }));

/** Entries as sent (blank rows left out), with the row each one came from: the API's pointers count sent entries. */
function entriesOf(rows: readonly RuleRow[]) {
  const sent = rows.map((row, index) => ({ value: row.value.trim(), index })).filter((e) => e.value !== '');
  return { values: sent.map((e) => e.value), rowOf: (sentIndex: number) => sent[sentIndex]?.index };
}

function RulesForm({ workspace }: { workspace: Workspace }) {
  const me = useMe();
  const queryClient = useQueryClient();
  const toast = useToast();
  const [rows, setRows] = useState<Record<ListName, RuleRow[]>>(() => ({
    ipAllow: rowsOf(workspace.ipAllow),
    ipDeny: rowsOf(workspace.ipDeny),
  }));
  const entries = { ipAllow: entriesOf(rows.ipAllow), ipDeny: entriesOf(rows.ipDeny) };
  const changed =
    entries.ipAllow.values.join('\n') !== workspace.ipAllow.join('\n') ||
    entries.ipDeny.values.join('\n') !== workspace.ipDeny.join('\n');

  const save = useMutation({
    mutationFn: () =>
      call(
        api.PATCH('/api/v1/workspaces/{workspaceId}', {
          params: { path: { workspaceId: workspace.id } },
          body: { ipAllow: entries.ipAllow.values, ipDeny: entries.ipDeny.values },
        }),
      ),
    onSuccess: (updated) => {
      queryClient.setQueryData(settingsKeys.workspace(updated.id), updated);
      setRows({ ipAllow: rowsOf(updated.ipAllow), ipDeny: rowsOf(updated.ipDeny) });
      toast({ title: 'Network rules saved' });
    },
  });
  const problem = save.error instanceof ProblemError ? save.error : null;
  const lockout = problem?.code === 'self_lockout' ? problem : null;

  /** Field errors of one list, by row: `/body/ipDeny/2` is the third entry sent; `/body/ipAllow` the whole list. */
  const errorsOf = (list: ListName) => {
    const byRow = new Map<number, string>();
    let whole: string | undefined;
    for (const e of problem?.fieldErrors ?? []) {
      const match = new RegExp(`^/body/${list}(?:/(\\d+))?$`).exec(e.pointer);
      if (!match) continue;
      const row = match[1] === undefined ? undefined : entries[list].rowOf(Number(match[1]));
      if (row === undefined) whole = e.message;
      else byRow.set(row, e.message);
    }
    return { byRow, whole };
  };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    save.mutate();
  };
  const setList = (list: ListName) => (next: RuleRow[]) => setRows((current) => ({ ...current, [list]: next }));
  const otherError = problem && !lockout && problem.fieldErrors.length === 0;
  return (
    <form className="stack" onSubmit={submit} noValidate>
      {lockout && (
        <div className="state-warning" role="alert">
          <strong>These rules would lock you out.</strong> {lockout.problem.detail}
        </div>
      )}
      {me.user.instanceAdmin && (
        <p className="muted">
          As an instance administrator you are not held to these rules on this page, so rules that shut out your own
          address are accepted: check them before saving.
        </p>
      )}
      <div className="grid-2">
        <RuleListField
          name="ipAllow"
          legend="Allow only"
          hint="Empty: any address may use the workspace."
          rows={rows.ipAllow}
          onChange={setList('ipAllow')}
          errors={errorsOf('ipAllow')}
          newRow={() => ({ id: nextRowId++, value: '' })}
        />
        <RuleListField
          name="ipDeny"
          legend="Deny"
          hint="These addresses may not use the workspace, even when allowed."
          rows={rows.ipDeny}
          onChange={setList('ipDeny')}
          errors={errorsOf('ipDeny')}
          newRow={() => ({ id: nextRowId++, value: '' })}
        />
      </div>
      {otherError && <ErrorState error={save.error} title="Rules not saved" />}
      <div className="row">
        <Button type="submit" variant="primary" busy={save.isPending} disabled={!changed}>
          Save rules
        </Button>
        <Button
          disabled={!changed || save.isPending}
          onClick={() => {
            save.reset();
            setRows({ ipAllow: rowsOf(workspace.ipAllow), ipDeny: rowsOf(workspace.ipDeny) });
          }}
        >
          Discard changes
        </Button>
      </div>
    </form>
  );
}
