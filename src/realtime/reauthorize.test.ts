import { describe, expect, it } from 'vitest';
import type { Topic } from '../bus/types.js';
import { AppError } from '../errors.js';
import type { AccessControl, Principal } from '../http/access.js';
import type { Permission } from '../identity/permissions.js';
import { lostTopics, reauthenticator, serially } from './reauthorize.js';
import type { TopicOwner } from './topics.js';

const principal: Principal = {
  kind: 'user',
  userId: 'usr_1',
  email: null,
  apiKeyId: null,
  sessionId: 'ses_1',
  workspaceId: 'ws_a',
  role: 'viewer',
  permissions: new Set<Permission>(['jobs:read']),
  instanceAdmin: false,
  ip: '10.0.0.1',
};

describe('lostTopics', () => {
  it('answers the topics no longer allowed, asking once per workspace and permission', async () => {
    const asked: string[] = [];
    const access: AccessControl = {
      authenticate: () => Promise.reject(new Error('unused')),
      can: (_p, workspaceId, permission) => {
        asked.push(`${workspaceId} ${permission}`);
        return Promise.resolve(workspaceId === 'ws_a' && permission === 'jobs:read');
      },
    };
    const grants = new Map<Topic, TopicOwner>([
      ['job:job_1', { workspaceId: 'ws_a', permission: 'jobs:read' }],
      ['job:job_2', { workspaceId: 'ws_a', permission: 'jobs:read' }],
      ['dataset:ds_1', { workspaceId: 'ws_a', permission: 'datasets:read' }],
      ['dataset:ds_2', { workspaceId: 'ws_a', permission: 'datasets:read' }],
      ['job:job_3', { workspaceId: 'ws_b', permission: 'jobs:read' }],
    ]);
    expect(await lostTopics(access, principal, grants)).toEqual(['dataset:ds_1', 'dataset:ds_2', 'job:job_3']);
    expect(asked).toEqual(['ws_a jobs:read', 'ws_a datasets:read', 'ws_b jobs:read']);
  });
});

describe('reauthenticator', () => {
  const accessThat = (outcome: () => Promise<Principal>): AccessControl => ({
    authenticate: outcome,
    can: () => Promise.resolve(true),
  });

  it('answers the fresh principal, null for a 401, and rejects on anything else', async () => {
    expect(
      await reauthenticator(
        accessThat(() => Promise.resolve(principal)),
        't',
        '10.0.0.1',
        'ws_a',
      )(),
    ).toBe(principal);
    expect(
      await reauthenticator(
        accessThat(() => Promise.reject(new AppError('unauthorized', 'revoked'))),
        't',
        '10.0.0.1',
        'ws_a',
      )(),
    ).toBeNull();
    await expect(
      reauthenticator(
        accessThat(() => Promise.reject(new Error('connection reset'))),
        't',
        '10.0.0.1',
        'ws_a',
      )(),
    ).rejects.toThrow('connection reset');
  });
});

describe('serially', () => {
  it('never runs twice at once, and runs once more after triggers that came during a run', async () => {
    let running = 0;
    let most = 0;
    let runs = 0;
    const gates: (() => void)[] = [];
    const trigger = serially(
      async () => {
        runs++;
        most = Math.max(most, ++running);
        await new Promise<void>((resolve) => gates.push(resolve));
        running--;
      },
      () => {},
    );
    trigger();
    trigger();
    trigger();
    expect(runs).toBe(1);
    gates.shift()!();
    await new Promise((r) => setImmediate(r));
    expect(runs).toBe(2);
    gates.shift()!();
    await new Promise((r) => setImmediate(r));
    expect(runs).toBe(2);
    expect(most).toBe(1);
  });

  it('hands a failure to onError and keeps working', async () => {
    const failures: unknown[] = [];
    let fail = true;
    let done = 0;
    const trigger = serially(
      async () => {
        if (fail) throw new Error('boom');
        done++;
      },
      (e) => failures.push(e),
    );
    trigger();
    await new Promise((r) => setImmediate(r));
    fail = false;
    trigger();
    await new Promise((r) => setImmediate(r));
    expect(failures).toHaveLength(1);
    expect(done).toBe(1);
  });
});
