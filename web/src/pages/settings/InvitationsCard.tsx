import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api, call } from '../../api/client';
import { ProblemError } from '../../api/problem';
import { useMe } from '../../app/session';
import { formatDateTime, formatRelative } from '../../lib/format';
import { Badge, Button, SelectField, TextField, type Tone } from '../../ui/controls';
import { ConfirmDialog } from '../../ui/dialog';
import { Empty, ErrorState, QueryView } from '../../ui/states';
import { useToast } from '../../ui/toast';
import { settingsKeys } from './queries';
import { grantableRoles, roleOptions, type Invitation, type Role } from './types';

const STATUS_TONE: Record<Invitation['status'], Tone> = {
  pending: 'accent',
  accepted: 'success',
  declined: 'default',
  revoked: 'default',
  expired: 'warning',
};

/**
 * Invite by email address, and the workspace's invitations. No email is sent: the person signs in with that address
 * and accepts the invitation (it shows on their settings page), so the list also shows its id to pass on.
 */
export function InvitationsCard() {
  const me = useMe();
  const workspaceId = me.workspace.id;
  const invitations = useQuery({
    queryKey: settingsKeys.invitations(workspaceId),
    queryFn: () =>
      call(
        api.GET('/api/v1/workspaces/{workspaceId}/invitations', {
          params: { path: { workspaceId }, query: { limit: 100, offset: 0 } },
        }),
      ),
  });
  return (
    <section className="card" aria-labelledby="invitations-heading">
      <h2 id="invitations-heading">Invitations</h2>
      <InviteForm />
      <QueryView
        query={invitations}
        loadingLabel="Loading invitations…"
        isEmpty={(answer) => answer.items.length === 0}
        empty={<Empty title="No invitations yet" />}
      >
        {(answer) => (
          <div className="table-wrap">
            <table className="table settings-table">
              <thead>
                <tr>
                  <th scope="col">Email</th>
                  <th scope="col">Role</th>
                  <th scope="col">Status</th>
                  <th scope="col">Invitation id</th>
                  <th scope="col">Expires</th>
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {answer.items.map((invitation) => (
                  <InvitationRow key={invitation.id} invitation={invitation} />
                ))}
              </tbody>
            </table>
          </div>
        )}
      </QueryView>
    </section>
  );
}

function InviteForm() {
  const me = useMe();
  const workspaceId = me.workspace.id;
  const queryClient = useQueryClient();
  const toast = useToast();
  const roles = grantableRoles(me.workspace.role);
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<Role>(roles.includes('viewer') ? 'viewer' : (roles[0] ?? 'viewer'));
  const invite = useMutation({
    mutationFn: () =>
      call(
        api.POST('/api/v1/workspaces/{workspaceId}/invitations', {
          params: { path: { workspaceId } },
          body: { email: email.trim(), role },
        }),
      ),
    onSuccess: (invitation) => {
      toast({ title: 'Invitation created', description: `${invitation.email} can accept it after signing in.` });
      setEmail('');
      return queryClient.invalidateQueries({ queryKey: settingsKeys.invitations(workspaceId) });
    },
  });
  const problem = invite.error instanceof ProblemError ? invite.error : null;
  const submit = (e: FormEvent) => {
    e.preventDefault();
    invite.mutate();
  };
  return (
    <form className="inline-form invite-form" onSubmit={submit} aria-label="Invite someone">
      <TextField
        label="Email address"
        type="email"
        required
        value={email}
        onChange={(e) => setEmail(e.target.value)}
        error={problem?.errorAt('/body/email')}
      />
      <SelectField
        label="Role"
        value={role}
        onChange={(e) => setRole(e.target.value as Role)}
        options={roleOptions(roles)}
        error={problem?.errorAt('/body/role')}
      />
      <Button type="submit" variant="primary" busy={invite.isPending} disabled={!email.trim()}>
        Invite
      </Button>
      {invite.error && !problem?.fieldErrors.length && <ErrorState error={invite.error} title="Not invited" />}
    </form>
  );
}

function InvitationRow({ invitation }: { invitation: Invitation }) {
  const me = useMe();
  const workspaceId = me.workspace.id;
  const queryClient = useQueryClient();
  const toast = useToast();
  const withdraw = () =>
    call(
      api.DELETE('/api/v1/workspaces/{workspaceId}/invitations/{id}', {
        params: { path: { workspaceId, id: invitation.id } },
      }),
    ).then(() => {
      toast({ title: 'Invitation withdrawn', description: invitation.email });
      return queryClient.invalidateQueries({ queryKey: settingsKeys.invitations(workspaceId) });
    });
  return (
    <tr>
      <td>{invitation.email}</td>
      <td>{invitation.role}</td>
      <td>
        <Badge tone={STATUS_TONE[invitation.status]}>{invitation.status}</Badge>
      </td>
      <td>
        <code className="selectable">{invitation.id}</code>
      </td>
      <td title={formatDateTime(invitation.expiresAt)}>
        {invitation.status === 'pending' ? formatRelative(invitation.expiresAt) : '—'}
      </td>
      <td className="actions">
        {invitation.status === 'pending' && (
          <ConfirmDialog
            title={`Withdraw the invitation to ${invitation.email}?`}
            description="It can no longer be accepted. You can invite the address again."
            confirmLabel="Withdraw"
            onConfirm={withdraw}
            trigger={(open) => (
              <Button
                small
                variant="ghost"
                onClick={open}
                aria-label={`Withdraw the invitation to ${invitation.email}`}
              >
                Withdraw
              </Button>
            )}
          />
        )}
      </td>
    </tr>
  );
}
