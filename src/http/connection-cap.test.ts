import { describe, expect, it } from 'vitest';
import { ConnectionCounts, trustedPeers } from './connection-cap.js';

describe('ConnectionCounts', () => {
  it('lets each key hold up to max, frees a slot per close and forgets an empty key', () => {
    const counts = new ConnectionCounts(2);
    expect(counts.tryOpen('10.0.0.1')).toBe(true);
    expect(counts.tryOpen('10.0.0.1')).toBe(true);
    expect(counts.tryOpen('10.0.0.1')).toBe(false);
    expect(counts.tryOpen('10.0.0.2')).toBe(true);
    counts.close('10.0.0.1');
    expect(counts.tryOpen('10.0.0.1')).toBe(true);
    counts.close('10.0.0.2');
    expect(counts.count('10.0.0.2')).toBe(0);
  });
});

describe('trustedPeers', () => {
  it('trusts no peer without WEIR_TRUST_PROXY: every address is capped', () => {
    expect(trustedPeers(false)!('127.0.0.1')).toBe(false);
  });

  it('with true or a hop count every peer is a proxy: no cap', () => {
    expect(trustedPeers(true)).toBeNull();
    expect(trustedPeers(2)).toBeNull();
  });

  it('exempts only the listed proxies, range names included', () => {
    const trusted = trustedPeers(['10.1.2.3', 'loopback', 'fd00::/8'])!;
    expect(trusted('10.1.2.3')).toBe(true);
    expect(trusted('::ffff:10.1.2.3')).toBe(true);
    expect(trusted('127.0.0.5')).toBe(true);
    expect(trusted('::1')).toBe(true);
    expect(trusted('fd00::1')).toBe(true);
    expect(trusted('10.1.2.4')).toBe(false);
    expect(trusted('203.0.113.9')).toBe(false);
  });
});
