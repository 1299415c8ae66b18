import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, call } from '../../api/client';
import { useMe } from '../../app/session';
import { formatDateTime, formatRelative } from '../../lib/format';
import { Badge, Button, type Tone } from '../../ui/controls';
import { ConfirmDialog } from '../../ui/dialog';
import { Empty, QueryView } from '../../ui/states';
import { useToast } from '../../ui/toast';
import { CreateKeyDialog } from './CreateKeyDialog';
import { settingsKeys } from './queries';
import type { ApiKey } from './types';

type KeyState = 'active' | 'expired' | 'revoked';

function stateOf(key: ApiKey, now = Date.now()): KeyState {
  if (key.revokedAt) return 'revoked';
  if (key.expiresAt && new Date(key.expiresAt).getTime() <= now) return 'expired';
  return 'active';
}

const STATE_TONE: Record<KeyState, Tone> = { active: 'success', expired: 'warning', revoked: 'default' };

/** The workspace's API keys (never their secrets): create one, see where each is used, revoke. */
export function KeysTab() {
  const me = useMe();
  const workspaceId = me.workspace.id;
  const [showRevoked, setShowRevoked] = useState(false);
  const keys = useQuery({
    queryKey: settingsKeys.keys(workspaceId),
    queryFn: () => call(api.GET('/api/v1/keys')).then((answer) => answer.items),
  });
  const revokedCount = keys.data?.filter((k) => stateOf(k) === 'revoked').length ?? 0;
  return (
    <section className="card" aria-labelledby="keys-heading">
      <div className="card-header">
        <h2 id="keys-heading">API keys</h2>
        {me.via === 'jwt' && <CreateKeyDialog />}
      </div>
      <p className="muted">
        A key acts for the person who created it, within its scopes and their current role; it stops working when they
        leave the workspace. Send it as <code>Authorization: Bearer weir_…</code>.
      </p>
      {revokedCount > 0 && (
        <label className="checkbox">
          <input type="checkbox" checked={showRevoked} onChange={(e) => setShowRevoked(e.target.checked)} />
          Show {revokedCount} revoked {revokedCount === 1 ? 'key' : 'keys'}
        </label>
      )}
      <QueryView
        query={keys}
        loadingLabel="Loading keys…"
        isEmpty={(items) => !items.some((k) => showRevoked || stateOf(k) !== 'revoked')}
        empty={<Empty title="No API keys">Create one for a script, a scheduled job or another service.</Empty>}
      >
        {(items) => (
          <div className="table-wrap">
            <table className="table settings-table">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Key</th>
                  <th scope="col">Scopes</th>
                  <th scope="col">Status</th>
                  <th scope="col">Created</th>
                  <th scope="col">Expires</th>
                  <th scope="col">Last used</th>
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {items
                  .filter((k) => showRevoked || stateOf(k) !== 'revoked')
                  .map((key) => (
                    <KeyRow key={key.id} apiKey={key} />
                  ))}
              </tbody>
            </table>
          </div>
        )}
      </QueryView>
    </section>
  );
}

function KeyRow({ apiKey }: { apiKey: ApiKey }) {
  const me = useMe();
  const queryClient = useQueryClient();
  const toast = useToast();
  const state = stateOf(apiKey);
  const revoke = () =>
    call(api.DELETE('/api/v1/keys/{id}', { params: { path: { id: apiKey.id } } })).then(() => {
      toast({ title: 'Key revoked', description: apiKey.name });
      return queryClient.invalidateQueries({ queryKey: settingsKeys.keys(me.workspace.id) });
    });
  return (
    <tr>
      <td>{apiKey.name}</td>
      <td>
        <code>{apiKey.prefix}…</code>
      </td>
      <td>
        <details className="scopes">
          <summary>
            {apiKey.scopes.length} {apiKey.scopes.length === 1 ? 'scope' : 'scopes'}
          </summary>
          <ul className="plain-list">
            {apiKey.scopes.map((s) => (
              <li key={s}>
                <code>{s}</code>
              </li>
            ))}
          </ul>
        </details>
      </td>
      <td>
        <Badge tone={STATE_TONE[state]}>{state}</Badge>
      </td>
      <td title={formatDateTime(apiKey.createdAt)}>{formatRelative(apiKey.createdAt)}</td>
      <td title={apiKey.expiresAt ? formatDateTime(apiKey.expiresAt) : undefined}>
        {apiKey.expiresAt ? formatRelative(apiKey.expiresAt) : 'never'}
      </td>
      <td title={apiKey.lastUsedAt ? formatDateTime(apiKey.lastUsedAt) : undefined}>
        {apiKey.lastUsedAt ? formatRelative(apiKey.lastUsedAt) : 'never'}
      </td>
      <td className="actions">
        {state === 'active' && (
          <ConfirmDialog
            title={`Revoke the key “${apiKey.name}”?`}
            description="Programs using it are refused from their next request on. This cannot be undone."
            confirmLabel="Revoke key"
            onConfirm={revoke}
            trigger={(open) => (
              <Button small variant="ghost" onClick={open} aria-label={`Revoke ${apiKey.name}`}>
                Revoke
              </Button>
            )}
          />
        )}
      </td>
    </tr>
  );
}
