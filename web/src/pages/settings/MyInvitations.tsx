import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, call } from '../../api/client';
import { messageOf } from '../../api/problem';
import { useMe, useSession } from '../../app/session';
import { formatRelative } from '../../lib/format';
import { Button } from '../../ui/controls';
import { useToast } from '../../ui/toast';
import { settingsKeys } from './queries';
import type { Invitation } from './types';

/**
 * Invitations sent to the signed-in person's address, to accept or decline. Shown only when there are some: an
 * invitation is how someone with an account joins another workspace.
 */
export function MyInvitations() {
  const me = useMe();
  const invitations = useQuery({
    queryKey: settingsKeys.myInvitations,
    enabled: me.via === 'jwt',
    queryFn: () => call(api.GET('/api/v1/invitations')).then((answer) => answer.items),
  });
  const pending = (invitations.data ?? []).filter((i) => i.status === 'pending');
  if (pending.length === 0) return null;
  return (
    <section className="card card-accent" aria-labelledby="my-invitations-heading">
      <h2 id="my-invitations-heading">Invitations for you</h2>
      <ul className="plain-list">
        {pending.map((invitation) => (
          <MyInvitation key={invitation.id} invitation={invitation} />
        ))}
      </ul>
    </section>
  );
}

function MyInvitation({ invitation }: { invitation: Invitation }) {
  const { switchWorkspace } = useSession();
  const queryClient = useQueryClient();
  const toast = useToast();
  const path = { id: invitation.id };
  const answer = useMutation({
    mutationFn: async (accept: boolean) => {
      if (accept) return (await call(api.POST('/api/v1/invitations/{id}/accept', { params: { path } }))).workspace.id;
      await call(api.POST('/api/v1/invitations/{id}/decline', { params: { path } }));
      return null;
    },
    onSuccess: async (joined) => {
      await queryClient.invalidateQueries({ queryKey: settingsKeys.myInvitations });
      if (joined) {
        await queryClient.invalidateQueries({ queryKey: ['me'] });
        toast({ title: `You joined ${invitation.workspaceName}` });
        switchWorkspace(joined);
      }
    },
    onError: (error) => toast({ title: 'Not answered', description: messageOf(error), tone: 'error' }),
  });
  return (
    <li className="row my-invitation">
      <span>
        <strong>{invitation.workspaceName}</strong> as {invitation.role}
        {invitation.invitedByEmail && <> · from {invitation.invitedByEmail}</>}
        <span className="muted"> · expires {formatRelative(invitation.expiresAt)}</span>
      </span>
      <span className="row">
        <Button small variant="primary" busy={answer.isPending} onClick={() => answer.mutate(true)}>
          Accept
        </Button>
        <Button small disabled={answer.isPending} onClick={() => answer.mutate(false)}>
          Decline
        </Button>
      </span>
    </li>
  );
}
