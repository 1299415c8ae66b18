import { describe, expect, it } from 'vitest';
import { affects, parseIdentityChange, type IdentityChange, type StreamHolder } from './changes.js';

const viewer: StreamHolder = { userId: 'usr_v', apiKeyId: null, sessionId: 'ses_v' };
const key: StreamHolder = { userId: 'usr_v', apiKeyId: 'key_1', sessionId: null };
const stranger: StreamHolder = { userId: 'usr_s', apiKeyId: null, sessionId: 'ses_s' };
const watching = new Set(['ws_a']);
const nothing = new Set<string>();

describe('identity changes', () => {
  it('concern exactly the streams whose access they can take away', () => {
    const cases: [IdentityChange, StreamHolder, ReadonlySet<string>, boolean][] = [
      [{ kind: 'member.removed', workspaceId: 'ws_a', userId: 'usr_v' }, viewer, watching, true],
      // A key acts for its creator: the creator's removal reaches the key's streams.
      [{ kind: 'member.removed', workspaceId: 'ws_a', userId: 'usr_v' }, key, watching, true],
      [{ kind: 'member.removed', workspaceId: 'ws_a', userId: 'usr_v' }, stranger, watching, false],
      [{ kind: 'member.role_changed', workspaceId: 'ws_a', userId: 'usr_s' }, stranger, nothing, true],
      [{ kind: 'apikey.revoked', workspaceId: 'ws_a', apiKeyId: 'key_1' }, key, watching, true],
      [{ kind: 'apikey.revoked', workspaceId: 'ws_a', apiKeyId: 'key_1' }, viewer, watching, false],
      [{ kind: 'session.revoked', sessionId: 'ses_v' }, viewer, nothing, true],
      [{ kind: 'session.revoked', sessionId: 'ses_v' }, key, nothing, false],
      [{ kind: 'user.disabled', userId: 'usr_v' }, key, nothing, true],
      [{ kind: 'user.sessions_revoked', userId: 'usr_s' }, viewer, nothing, false],
      [{ kind: 'workspace.network_rules_changed', workspaceId: 'ws_a' }, stranger, watching, true],
      [{ kind: 'workspace.network_rules_changed', workspaceId: 'ws_b' }, stranger, watching, false],
    ];
    for (const [change, holder, workspaces, expected] of cases)
      expect(affects(change, holder, workspaces), JSON.stringify([change, holder])).toBe(expected);
  });

  it('are read back only from well-formed events (they may come from another node)', () => {
    const change = { kind: 'member.removed', workspaceId: 'ws_a', userId: 'usr_v' };
    expect(parseIdentityChange('identity.changed', change)).toEqual(change);
    expect(parseIdentityChange('job.state', change)).toBeNull();
    expect(parseIdentityChange('identity.changed', null)).toBeNull();
    expect(parseIdentityChange('identity.changed', 'member.removed')).toBeNull();
    expect(parseIdentityChange('identity.changed', { kind: 'member.promoted', userId: 'usr_v' })).toBeNull();
    expect(parseIdentityChange('identity.changed', { kind: 'member.removed', workspaceId: 'ws_a' })).toBeNull();
    expect(
      parseIdentityChange('identity.changed', { kind: 'apikey.revoked', workspaceId: 'ws_a', apiKeyId: 7 }),
    ).toBeNull();
    expect(parseIdentityChange('identity.changed', { kind: 'toString', userId: 'usr_v' })).toBeNull();
  });
});
