import { describe, expect, it } from 'vitest';
import { StreamCaps } from './stream-caps.js';

const user = (userId: string) => ({ kind: 'user' as const, userId, apiKeyId: null });
const key = (apiKeyId: string, userId = 'usr_creator') => ({ kind: 'apiKey' as const, userId, apiKeyId });

describe('StreamCaps', () => {
  it('refuses the slot past the limit and gives it again once one is released', () => {
    const caps = new StreamCaps({ perUser: 2, perKey: 5 });
    const first = caps.take(user('usr_a'));
    const second = caps.take(user('usr_a'));
    expect(first).not.toBeNull();
    expect(second).not.toBeNull();
    expect(caps.take(user('usr_a'))).toBeNull();
    // Another user is not affected.
    expect(caps.take(user('usr_b'))).not.toBeNull();
    first!();
    expect(caps.count(user('usr_a'))).toBe(1);
    expect(caps.take(user('usr_a'))).not.toBeNull();
    expect(caps.take(user('usr_a'))).toBeNull();
  });

  it('gives a slot back once however often its release is called', () => {
    const caps = new StreamCaps({ perUser: 1, perKey: 1 });
    const release = caps.take(user('usr_a'))!;
    release();
    release();
    expect(caps.count(user('usr_a'))).toBe(0);
    const again = caps.take(user('usr_a'));
    expect(again).not.toBeNull();
    release();
    // The stale release did not free the new holder's slot.
    expect(caps.take(user('usr_a'))).toBeNull();
  });

  it('counts API keys apart from each other and from their creator, with their own limit', () => {
    const caps = new StreamCaps({ perUser: 1, perKey: 2 });
    expect(caps.take(user('usr_creator'))).not.toBeNull();
    expect(caps.take(user('usr_creator'))).toBeNull();
    expect(caps.take(key('key_1'))).not.toBeNull();
    expect(caps.take(key('key_1'))).not.toBeNull();
    expect(caps.take(key('key_1'))).toBeNull();
    expect(caps.take(key('key_2'))).not.toBeNull();
    expect(caps.holder(key('key_1'))).toMatchObject({ kind: 'apiKey', limit: 2 });
    expect(caps.holder(user('usr_creator'))).toMatchObject({ kind: 'user', limit: 1 });
  });
});
