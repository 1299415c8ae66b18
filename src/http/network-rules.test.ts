import { describe, expect, it } from 'vitest';
import {
  InvalidCidrError,
  NetworkRules,
  ipRateLimitKey,
  normalizeIp,
  refusalOf,
  validateCidrs,
} from './network-rules.js';

describe('normalizeIp', () => {
  it.each([
    ['10.0.0.1', { address: '10.0.0.1', family: 'ipv4' }],
    ['::ffff:10.0.0.1', { address: '10.0.0.1', family: 'ipv4' }],
    ['::FFFF:10.0.0.1', { address: '10.0.0.1', family: 'ipv4' }],
    ['::ffff:a00:1', { address: '10.0.0.1', family: 'ipv4' }],
    ['0:0:0:0:0:ffff:7b7b:7b7b', { address: '123.123.123.123', family: 'ipv4' }],
    ['2001:DB8::1', { address: '2001:db8::1', family: 'ipv6' }],
    ['[::1]', { address: '::1', family: 'ipv6' }],
    ['fe80::1%eth0', { address: 'fe80::1', family: 'ipv6' }],
    ['::ffff:0:10.0.0.1', { address: '::ffff:0:10.0.0.1', family: 'ipv6' }],
  ])('%s → %j', (raw, expected) => expect(normalizeIp(raw)).toEqual(expected));

  it.each(['', 'localhost', '10.0.0.256', '1.2.3', 'gggg::1'])('refuses %j', (raw) =>
    expect(normalizeIp(raw)).toBeNull(),
  );
});

describe('ipRateLimitKey', () => {
  it('keys IPv4 by address and IPv6 by its /64', () => {
    expect(ipRateLimitKey('192.0.2.7')).toBe('192.0.2.7');
    expect(ipRateLimitKey('::ffff:192.0.2.7')).toBe('192.0.2.7');
    expect(ipRateLimitKey('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(ipRateLimitKey('2001:db8:1:2:ffff:ffff:ffff:ffff')).toBe('2001:db8:1:2::/64');
    expect(ipRateLimitKey('2001:db8:1:3::1')).toBe('2001:db8:1:3::/64');
    expect(ipRateLimitKey('::1')).toBe('0:0:0:0::/64');
  });
});

describe('validateCidrs', () => {
  it('accepts addresses and CIDR blocks of both families, /0 to full length', () => {
    expect(
      validateCidrs([
        '10.0.0.0/8',
        '192.168.1.7',
        '0.0.0.0/0',
        '10.1.2.3/32',
        '2001:db8::/32',
        '::1',
        '::/0',
        '::1/128',
        '::ffff:10.0.0.0/104',
      ]),
    ).toEqual({ ok: true });
    expect(validateCidrs([])).toEqual({ ok: true });
  });

  it.each([
    [['10.0.0.0/8', '10.0.0.0/33'], 1, '10.0.0.0/33', 'prefix length must be an integer from 0 to 32'],
    [['2001:db8::/129'], 0, '2001:db8::/129', 'prefix length must be an integer from 0 to 128'],
    [['10.0.0.0/'], 0, '10.0.0.0/', 'prefix length must be an integer from 0 to 32'],
    [['10.0.0.0/-1'], 0, '10.0.0.0/-1', 'prefix length must be an integer from 0 to 32'],
    [['10.0.0.0/8/8'], 0, '10.0.0.0/8/8', 'prefix length must be an integer from 0 to 32'],
    [['::1', 'example.com'], 1, 'example.com', '"example.com" is not an IPv4 or IPv6 address'],
    [['300.1.1.1/8'], 0, '300.1.1.1/8', '"300.1.1.1" is not an IPv4 or IPv6 address'],
    [['1.1.1.1', ' '], 1, ' ', 'empty entry'],
  ])('%j → entry %i is bad', (list, index, value, message) => {
    expect(validateCidrs(list)).toEqual({ ok: false, index, value, message });
  });
});

describe('NetworkRules', () => {
  it('lets everyone in without rules', () => {
    const rules = NetworkRules.parse([], []);
    expect(rules.isOpen).toBe(true);
    expect(rules.allows('203.0.113.9')).toBe(true);
    expect(rules.allows('2001:db8::9')).toBe(true);
    expect(NetworkRules.open.allows('anything')).toBe(true);
  });

  it('an allow list admits only its blocks (IPv4, /32, mapped peers)', () => {
    const rules = NetworkRules.parse(['10.0.0.0/8', '192.0.2.7/32'], []);
    expect(rules.isOpen).toBe(false);
    expect(rules.allows('10.255.0.1')).toBe(true);
    expect(rules.allows('::ffff:10.1.1.1')).toBe(true);
    expect(rules.allows('192.0.2.7')).toBe(true);
    expect(rules.allows('192.0.2.8')).toBe(false);
    expect(rules.allows('11.0.0.1')).toBe(false);
    expect(rules.allows('2001:db8::1')).toBe(false);
    expect(rules.allows('not an ip')).toBe(false);
  });

  it('IPv6 rules, /128 and /0 stay within their family', () => {
    const rules = NetworkRules.parse(['2001:db8::/32', '::1/128'], []);
    expect(rules.allows('2001:db8:ffff::1')).toBe(true);
    expect(rules.allows('2001:db9::1')).toBe(false);
    expect(rules.allows('::1')).toBe(true);
    expect(rules.allows('::2')).toBe(false);
    expect(rules.allows('127.0.0.1')).toBe(false);

    const allIpv6 = NetworkRules.parse(['::/0'], []);
    expect(allIpv6.allows('2001:db8::1')).toBe(true);
    // BlockList alone would match IPv4 peers against ::/0; the rules keep families apart.
    expect(allIpv6.allows('10.0.0.1')).toBe(false);
    expect(allIpv6.allows('::ffff:10.0.0.1')).toBe(false);

    const allIpv4 = NetworkRules.parse(['0.0.0.0/0'], []);
    expect(allIpv4.allows('198.51.100.1')).toBe(true);
    expect(allIpv4.allows('::ffff:198.51.100.1')).toBe(true);
    expect(allIpv4.allows('2001:db8::1')).toBe(false);
  });

  it('deny wins over allow', () => {
    const rules = NetworkRules.parse(['10.0.0.0/8', '2001:db8::/32'], ['10.0.0.0/24', '2001:db8:bad::/48']);
    expect(rules.allows('10.0.1.1')).toBe(true);
    expect(rules.allows('10.0.0.1')).toBe(false);
    expect(rules.allows('::ffff:10.0.0.1')).toBe(false);
    expect(rules.allows('2001:db8:bad::1')).toBe(false);
    expect(rules.allows('2001:db8:600d::1')).toBe(true);
  });

  it('a deny list alone refuses only its blocks', () => {
    const rules = NetworkRules.parse([], ['203.0.113.0/24', '::ffff:198.51.100.0/120']);
    expect(rules.allows('203.0.113.200')).toBe(false);
    expect(rules.allows('198.51.100.9')).toBe(false);
    expect(rules.allows('203.0.114.1')).toBe(true);
    expect(rules.allows('2001:db8::1')).toBe(true);
  });

  it('answers the same through its decision cache, also past its size', () => {
    const rules = NetworkRules.parse(['10.0.0.0/16'], ['10.0.3.0/24']);
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 5000; i++) {
        const ip = `10.0.${i >> 8}.${i & 0xff}`;
        expect(rules.allows(ip)).toBe(i >> 8 !== 3);
      }
      expect(rules.allows('10.1.0.1')).toBe(false);
    }
  });

  it('parse names the bad entry, counting allow entries first', () => {
    expect(() => NetworkRules.parse(['10.0.0.0/8'], ['1.2.3.4', 'nope'])).toThrow(InvalidCidrError);
    try {
      NetworkRules.parse(['10.0.0.0/8'], ['1.2.3.4', 'nope']);
    } catch (e) {
      expect(e).toMatchObject({ index: 2, value: 'nope', reason: '"nope" is not an IPv4 or IPv6 address' });
      expect((e as Error).message).toBe('entry 2 ("nope"): "nope" is not an IPv4 or IPv6 address');
    }
  });
});

describe('refusalOf', () => {
  it('names the first deny entry that matches, or the allow list the address is not on', () => {
    expect(refusalOf([], [], '203.0.113.5')).toBeNull();
    expect(refusalOf(['203.0.113.0/24'], ['10.0.0.0/8'], '203.0.113.5')).toBeNull();
    expect(refusalOf([], ['10.0.0.0/8', '203.0.113.0/24', '203.0.113.5'], '::ffff:203.0.113.5')).toEqual({
      list: 'ipDeny',
      index: 1,
      rule: '203.0.113.0/24',
    });
    expect(refusalOf(['10.0.0.0/8'], ['2001:db8::/32'], '203.0.113.5')).toEqual({ list: 'ipAllow' });
    // Deny wins over allow, so a denied address on the allow list is refused by the deny entry.
    expect(refusalOf(['203.0.113.0/24'], ['203.0.113.5'], '203.0.113.5')).toEqual({
      list: 'ipDeny',
      index: 0,
      rule: '203.0.113.5',
    });
    expect(refusalOf(['fd00::/8'], [], '2001:db8::1')).toEqual({ list: 'ipAllow' });
  });
});
