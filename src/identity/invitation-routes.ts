import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { InvitationService } from './invitations.js';
import { noteAudit, principalOf } from '../http/access.js';
import {
  AcceptedInvitationResponse,
  InvitationParams,
  InviteBody,
  PageQuery,
  WorkspaceInvitationParams,
  WorkspaceParams,
} from './schemas.js';

const INVITE_DESCRIPTION =
  'The person becomes a member only by accepting (POST /api/v1/invitations/{id}/accept, once logged in with that ' +
  'email address). The answer is the same whether or not an account has the address; no email is sent, so share the invitation id. ' +
  'Inviting an address again renews its open invitation. Nobody can grant a role above their own; only owners invite owners.';

/**
 * /api/v1/workspaces/:workspaceId/invitations (the inviter's side) and /api/v1/invitations (the invitee's).
 * Registered inside identityRoutes, whose schemas (Invitation, WorkspaceWithRole) it uses.
 */
export const invitationRoutes: FastifyPluginAsyncTypebox<{ invitations: InvitationService }> = async (
  app,
  { invitations },
) => {
  app.post(
    '/api/v1/workspaces/:workspaceId/invitations',
    {
      config: { access: 'members:manage', audit: 'invitation.create' },
      schema: {
        tags: ['workspaces'],
        operationId: 'createInvitation',
        summary: 'Invite someone by email address',
        description: INVITE_DESCRIPTION,
        params: WorkspaceParams,
        body: InviteBody,
        response: { 202: Type.Ref('Invitation') },
      },
    },
    async (request, reply) => {
      const invitation = await invitations.invite(principalOf(request), request.params.workspaceId, request.body);
      noteAudit(request, {
        targetType: 'invitation',
        targetId: invitation.id,
        detail: { email: invitation.email, role: invitation.role },
      });
      return reply.code(202).send(invitation);
    },
  );

  app.get(
    '/api/v1/workspaces/:workspaceId/invitations',
    {
      config: { access: 'members:manage' },
      schema: {
        tags: ['workspaces'],
        operationId: 'listWorkspaceInvitations',
        summary: "The workspace's invitations, newest first, answered or not",
        params: WorkspaceParams,
        querystring: PageQuery,
        response: { 200: Type.Object({ items: Type.Array(Type.Ref('Invitation')), total: Type.Integer() }) },
      },
    },
    async (request) => invitations.ofWorkspace(request.params.workspaceId, request.query.limit, request.query.offset),
  );

  app.delete(
    '/api/v1/workspaces/:workspaceId/invitations/:id',
    {
      config: { access: 'members:manage', audit: 'invitation.revoke' },
      schema: {
        tags: ['workspaces'],
        operationId: 'withdrawInvitation',
        summary: 'Withdraw an invitation that has not been answered',
        params: WorkspaceInvitationParams,
        response: { 200: Type.Ref('Invitation') },
      },
    },
    async (request) => {
      noteAudit(request, { targetType: 'invitation', targetId: request.params.id });
      return invitations.revoke(principalOf(request), request.params.workspaceId, request.params.id);
    },
  );

  app.get(
    '/api/v1/invitations',
    {
      config: { access: 'authenticated' },
      schema: {
        tags: ['workspaces'],
        operationId: 'listMyInvitations',
        summary: 'Invitations to workspaces that I can accept',
        response: { 200: Type.Object({ items: Type.Array(Type.Ref('Invitation')) }) },
      },
    },
    async (request) => ({ items: await invitations.mine(principalOf(request)) }),
  );

  app.post(
    '/api/v1/invitations/:id/accept',
    {
      config: { access: 'authenticated', audit: 'invitation.accept' },
      schema: {
        tags: ['workspaces'],
        operationId: 'acceptInvitation',
        summary: 'Accept an invitation: become a member of its workspace',
        description:
          'Only the person the invitation was sent to (by email address), while it is pending and unexpired.',
        params: InvitationParams,
        response: { 200: AcceptedInvitationResponse },
      },
    },
    async (request) => {
      noteAudit(request, { targetType: 'invitation', targetId: request.params.id });
      const accepted = await invitations.accept(principalOf(request), request.params.id);
      noteAudit(request, { workspaceId: accepted.invitation.workspaceId, detail: { role: accepted.workspace.role } });
      return accepted;
    },
  );

  app.post(
    '/api/v1/invitations/:id/decline',
    {
      config: { access: 'authenticated', audit: 'invitation.decline' },
      schema: {
        tags: ['workspaces'],
        operationId: 'declineInvitation',
        summary: 'Decline an invitation',
        params: InvitationParams,
        response: { 200: Type.Ref('Invitation') },
      },
    },
    async (request) => {
      noteAudit(request, { targetType: 'invitation', targetId: request.params.id });
      const declined = await invitations.decline(principalOf(request), request.params.id);
      noteAudit(request, { workspaceId: declined.workspaceId });
      return declined;
    },
  );
};
