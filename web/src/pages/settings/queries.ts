import { api, call } from '../../api/client';

/**
 * Query keys and fetchers shared by the settings tabs, so a change in one tab (a role changed, a workspace renamed)
 * refreshes what the others show.
 */
export const settingsKeys = {
  workspace: (id: string) => ['settings', 'workspace', id] as const,
  members: (id: string) => ['settings', 'members', id] as const,
  invitations: (id: string) => ['settings', 'invitations', id] as const,
  myInvitations: ['settings', 'my-invitations'] as const,
  keys: (workspaceId: string) => ['settings', 'keys', workspaceId] as const,
  permissions: ['settings', 'permissions'] as const,
  audit: (workspaceId: string, filters: Record<string, string>) => ['settings', 'audit', workspaceId, filters] as const,
};

export const fetchWorkspace = (workspaceId: string) =>
  call(api.GET('/api/v1/workspaces/{workspaceId}', { params: { path: { workspaceId } } }));

export const fetchMembers = (workspaceId: string) =>
  call(api.GET('/api/v1/workspaces/{workspaceId}/members', { params: { path: { workspaceId } } })).then(
    (answer) => answer.items,
  );

export const fetchPermissions = () => call(api.GET('/api/v1/permissions'));
