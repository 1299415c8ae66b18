import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, call } from '../../api/client';
import { messageOf } from '../../api/problem';
import { useCan, useMe } from '../../app/session';
import { formatDateTime } from '../../lib/format';
import { Badge, Button } from '../../ui/controls';
import { ConfirmDialog } from '../../ui/dialog';
import { QueryView } from '../../ui/states';
import { useToast } from '../../ui/toast';
import { InvitationsCard } from './InvitationsCard';
import { MyInvitations } from './MyInvitations';
import { fetchMembers, settingsKeys } from './queries';
import { grantableRoles, mayManageRole, type Member, type Role } from './types';
import { WorkspaceCard } from './WorkspaceCard';

export function MembersTab() {
  const canManage = useCan('members:manage');
  return (
    <div className="stack">
      <MyInvitations />
      <WorkspaceCard />
      <MembersCard />
      {canManage && <InvitationsCard />}
    </div>
  );
}

function MembersCard() {
  const me = useMe();
  const workspaceId = me.workspace.id;
  const members = useQuery({ queryKey: settingsKeys.members(workspaceId), queryFn: () => fetchMembers(workspaceId) });
  return (
    <section className="card" aria-labelledby="members-heading">
      <h2 id="members-heading">Members</h2>
      <QueryView query={members} loadingLabel="Loading members…">
        {(items) => (
          <div className="table-wrap">
            <table className="table settings-table">
              <thead>
                <tr>
                  <th scope="col">Member</th>
                  <th scope="col">Role</th>
                  <th scope="col">Member since</th>
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {items.map((member) => (
                  <MemberRow key={member.userId} member={member} self={member.userId === me.user.id} />
                ))}
              </tbody>
            </table>
          </div>
        )}
      </QueryView>
    </section>
  );
}

/**
 * A member with their role. Managers change the role in place and remove the member after confirming; the roles
 * offered stop at the manager's own. Your own row has no controls: a slip there could take your access away.
 */
function MemberRow({ member, self }: { member: Member; self: boolean }) {
  const me = useMe();
  const canManage = useCan('members:manage');
  const queryClient = useQueryClient();
  const toast = useToast();
  const workspaceId = me.workspace.id;
  const editable = canManage && !self && mayManageRole(me.workspace.role, member.role);
  const path = { workspaceId, userId: member.userId };

  const refresh = () => queryClient.invalidateQueries({ queryKey: settingsKeys.members(workspaceId) });
  const changeRole = useMutation({
    mutationFn: (role: Role) =>
      call(api.PATCH('/api/v1/workspaces/{workspaceId}/members/{userId}', { params: { path }, body: { role } })),
    onSuccess: (updated) => {
      toast({ title: 'Role changed', description: `${updated.email} is now ${updated.role}.` });
      return refresh();
    },
    onError: (error) => toast({ title: 'Role not changed', description: messageOf(error), tone: 'error' }),
  });
  const remove = () =>
    call(api.DELETE('/api/v1/workspaces/{workspaceId}/members/{userId}', { params: { path } })).then(() => {
      toast({ title: 'Member removed', description: member.email });
      return refresh();
    });

  const who = member.displayName && member.displayName !== member.email ? member.displayName : null;
  return (
    <tr>
      <td>
        <div className="member-name">
          {who ?? member.email} {self && <Badge tone="accent">you</Badge>}
        </div>
        {who && <div className="muted">{member.email}</div>}
      </td>
      <td>
        {editable ? (
          <select
            className="input role-select"
            aria-label={`Role of ${member.email}`}
            value={member.role}
            disabled={changeRole.isPending}
            onChange={(e) => changeRole.mutate(e.target.value as Role)}
          >
            {grantableRoles(me.workspace.role).map((role) => (
              <option key={role} value={role}>
                {role}
              </option>
            ))}
          </select>
        ) : (
          <Badge>{member.role}</Badge>
        )}
      </td>
      <td>{formatDateTime(member.addedAt)}</td>
      <td className="actions">
        {editable && (
          <ConfirmDialog
            title={`Remove ${member.email}?`}
            description="They lose access to this workspace at once; their API keys for it stop working. You can invite them again later."
            confirmLabel="Remove member"
            onConfirm={remove}
            trigger={(open) => (
              <Button small variant="ghost" onClick={open} aria-label={`Remove ${member.email}`}>
                Remove
              </Button>
            )}
          />
        )}
      </td>
    </tr>
  );
}
