import { validateCidrs } from '../http/network-rules.js';
import { ConfigError, type Reader } from './reader.js';

/** Who may reach the server and how it sees them: CORS origins, IP rules, trusted proxies. */

export function parseOrigins(values: string[]): string[] {
  for (const o of values) {
    if (o === '*') continue;
    let ok = false;
    try {
      const u = new URL(o);
      ok = (u.protocol === 'http:' || u.protocol === 'https:') && u.origin === o.replace(/\/$/, '');
    } catch {
      ok = false;
    }
    if (!ok)
      throw new ConfigError(
        'WEIR_CORS_ORIGINS',
        'a comma-separated list of origins such as https://app.example.com, or *',
        o,
      );
  }
  return values.map((o) => o.replace(/\/$/, ''));
}

/** Exactly what Fastify's `trustProxy` accepts: none/all, a hop count, or the trusted proxies' addresses/CIDRs. */
export type TrustProxy = boolean | number | string[];

export function cidrList(r: Reader, name: string): string[] {
  const list = r.list(name);
  const check = validateCidrs(list);
  if (!check.ok)
    throw new ConfigError(name, `comma-separated IPv4/IPv6 addresses or CIDR blocks (${check.message})`, check.value);
  return list;
}

/** proxy-addr (what Fastify uses) also knows these names for address ranges. */
const PROXY_RANGE_NAMES = ['loopback', 'linklocal', 'uniquelocal'];

export function parseTrustProxy(r: Reader): TrustProxy {
  const v = r.string('WEIR_TRUST_PROXY', 'false').toLowerCase();
  if (v === 'false') return false;
  // Believes X-Forwarded-For from any peer: only safe when nothing but the proxy can reach the server.
  if (v === 'true') return true;
  if (/^\d+$/.test(v)) return r.int('WEIR_TRUST_PROXY', 0, 1, 100);
  const list = r.list('WEIR_TRUST_PROXY');
  const check = validateCidrs(list.filter((entry) => !PROXY_RANGE_NAMES.includes(entry.toLowerCase())));
  if (!check.ok) {
    throw new ConfigError(
      'WEIR_TRUST_PROXY',
      `false, true, a hop count, or comma-separated proxy addresses/CIDRs (${check.message})`,
      check.value,
    );
  }
  return list.map((entry) => (PROXY_RANGE_NAMES.includes(entry.toLowerCase()) ? entry.toLowerCase() : entry));
}
