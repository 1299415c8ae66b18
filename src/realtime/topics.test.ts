import { describe, expect, it } from 'vitest';
import type { AccessControl, Principal } from '../http/access.js';
import { permissionsOf, type Permission } from '../identity/permissions.js';
import { ProtocolError } from './protocol.js';
import { authorizeTopic, TopicResolvers } from './topics.js';

const principal = (permissions: Permission[], role: Principal['role'] = 'viewer'): Principal => ({
  kind: 'apiKey',
  userId: 'usr_1',
  email: null,
  apiKeyId: 'key_1',
  sessionId: null,
  workspaceId: 'ws_mine',
  role,
  permissions: new Set(permissions),
  instanceAdmin: false,
});

/** Members of ws_mine hold exactly their permissions there; nobody is a member anywhere else. */
const access: AccessControl = {
  authenticate: () => Promise.reject(new Error('unused')),
  can: (p, workspaceId, permission) => Promise.resolve(workspaceId === p.workspaceId && p.permissions.has(permission)),
};

const resolvers = new TopicResolvers().register('job', (id) =>
  Promise.resolve(
    id === 'job_mine'
      ? { workspaceId: 'ws_mine', permission: 'jobs:read' }
      : id === 'job_theirs'
        ? { workspaceId: 'ws_theirs', permission: 'jobs:read' }
        : null,
  ),
);

async function refusal(p: Principal, topic: string): Promise<{ code: string; message: string }> {
  try {
    await authorizeTopic(resolvers, access, p, topic, 'r1');
  } catch (e) {
    if (e instanceof ProtocolError) return { code: e.code, message: e.message };
    throw e;
  }
  throw new Error('authorized');
}

describe('authorizeTopic', () => {
  it('authorizes a topic of the caller’s workspace when the role grants the permission', async () => {
    await expect(
      authorizeTopic(resolvers, access, principal([...permissionsOf('viewer')]), 'job:job_mine'),
    ).resolves.toEqual({
      topic: 'job:job_mine',
      kind: 'job',
      id: 'job_mine',
      workspaceId: 'ws_mine',
      permission: 'jobs:read',
    });
  });

  it('says forbidden in the caller’s own workspace when the permission is missing', async () => {
    expect(await refusal(principal(['datasets:read']), 'job:job_mine')).toEqual({
      code: 'forbidden',
      message: "watching job topics needs the permission 'jobs:read'",
    });
  });

  it('answers another workspace’s object exactly like a missing one, whatever the caller’s permissions', async () => {
    const theirs = await refusal(principal([...permissionsOf('owner')], 'owner'), 'job:job_theirs');
    const none = await refusal(principal([...permissionsOf('owner')], 'owner'), 'job:job_none');
    expect(theirs.code).toBe('not_found');
    expect(none.code).toBe('not_found');
    expect(theirs.message.replace('job_theirs', 'X')).toBe(none.message.replace('job_none', 'X'));
    // Not a member of its own principal workspace either (role null): never `forbidden`.
    expect((await refusal(principal([], null), 'job:job_mine')).code).toBe('not_found');
  });

  it('refuses malformed topics and kinds without a resolver', async () => {
    expect((await refusal(principal([]), 'job')).code).toBe('invalid_topic');
    expect((await refusal(principal([]), 'job:a/b')).code).toBe('invalid_topic');
    expect((await refusal(principal([]), 'model:mdl_1')).code).toBe('unknown_topic');
  });

  it('registers each kind once', () => {
    expect(() =>
      new TopicResolvers().register('job', () => Promise.resolve(null)).register('job', () => Promise.resolve(null)),
    ).toThrow("a resolver for 'job' topics is already registered");
  });
});
