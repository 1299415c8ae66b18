import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import type { Readable } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';

/**
 * Every HTTP request a connector makes to its source goes out through an `Outbound`, which refuses private
 * destinations where the connection is made, not only when the connector is created:
 *
 * - a host name is checked on the addresses the connection will really use (the `lookup` of the socket), so a name
 *   that resolved to a public address at creation and to 169.254.169.254 now (DNS rebinding) is refused;
 * - an address literal is checked before connecting (the socket does no lookup for it);
 * - redirects are followed here, one hop at a time, each hop checked the same way, so a public source cannot
 *   redirect the server into its own network (fetch's `redirect: 'follow'` could).
 *
 * Without WEIR_CONNECTORS_ALLOW_PRIVATE=true any workspace member with `connectors:manage` could otherwise read the
 * server's own network, or a cloud's metadata service, through a connector (SSRF).
 */

/**
 * Loopback, private, link-local (cloud metadata), CGNAT and unique-local addresses. An IPv4-mapped IPv6 address
 * (::ffff:127.0.0.1) is checked by BlockList against the IPv4 rules; a rule for ::ffff:0:0/96 would match every
 * IPv4 address, public ones too.
 */
const PRIVATE = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.168.0.0', 16],
] as const)
  PRIVATE.addSubnet(net, bits, 'ipv4');
for (const [net, bits] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
] as const)
  PRIVATE.addSubnet(net, bits, 'ipv6');

export function isPrivateAddress(address: string, family: number): boolean {
  return PRIVATE.check(address, family === 6 ? 'ipv6' : 'ipv4');
}

/** Where a connector may connect. */
export interface NetworkPolicy {
  /** WEIR_CONNECTORS_ALLOW_PRIVATE: every destination is allowed. */
  allowPrivate: boolean;
  /** Addresses refused (default: isPrivateAddress). Tests name their own, since their fake sources are on loopback. */
  refuses?: (address: string, family: number) => boolean;
  /** Name resolution (default: dns.lookup). */
  lookup?: typeof dnsLookup;
}

/** A destination the policy refuses; `address` is the one the connection would have used. */
export class RefusedDestination extends Error {
  override name = 'RefusedDestination';
  readonly code = 'EREFUSEDDESTINATION';
  constructor(
    readonly host: string,
    readonly address: string,
  ) {
    super(
      `${host === address ? address : `${host} (${address})`} is on a private, loopback or link-local network, which connectors may not reach (WEIR_CONNECTORS_ALLOW_PRIVATE)`,
    );
  }
}

/** The addresses `policy` refuses, or null when it allows every destination. */
function refusalOf(policy: NetworkPolicy): ((address: string, family: number) => boolean) | null {
  return policy.allowPrivate ? null : (policy.refuses ?? isPrivateAddress);
}

/**
 * Why a connection to `host` must not even start, when `host` is an address literal the policy refuses (a socket
 * does no lookup for a literal, so `checkedLookup` never sees it); null otherwise.
 */
export function refusedLiteral(policy: NetworkPolicy, host: string): RefusedDestination | null {
  const bare = host.replace(/^\[|\]$/g, '');
  const family = isIP(bare);
  const refuses = refusalOf(policy);
  return refuses && family !== 0 && refuses(bare, family) ? new RefusedDestination(bare, bare) : null;
}

/**
 * A socket `lookup` that fails the connection when any address the name resolves to is refused: the check is made
 * on the addresses the socket will use, so it holds however the name resolves by then.
 */
export function checkedLookup(policy: NetworkPolicy): LookupFunction {
  const refuses = refusalOf(policy);
  const lookup = policy.lookup ?? dnsLookup;
  return (hostname, options, callback) => {
    lookup(hostname, { ...options, all: true }, (error, found) => {
      if (error) return callback(error, '', 0);
      const addresses = found as unknown as LookupAddress[];
      const refused = refuses ? addresses.find((a) => refuses(a.address, a.family)) : undefined;
      if (refused) return callback(new RefusedDestination(hostname, refused.address), '', 0);
      if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
      const first = addresses[0];
      if (!first) return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), '', 0);
      callback(null, first.address, first.family);
    });
  };
}

export interface OutboundResponse {
  status: number;
  headers: Headers;
  /** The body, decompressed. Destroy it to stop reading. */
  body: Readable;
  /** The URL that answered, after redirects. */
  url: string;
}

const MAX_REDIRECTS = 5;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
/** Headers a request keeps when a redirect leaves its origin: nothing that could be a credential. */
const CROSS_ORIGIN_HEADERS = new Set(['accept', 'user-agent']);

/**
 * One connector's way out: keep-alive connections (each was checked when it connected, so reusing it is safe) and a
 * GET that follows redirects and refuses destinations `policy` refuses (see the module comment).
 */
export class Outbound {
  private readonly http: HttpAgent;
  private readonly https: HttpsAgent;

  constructor(private readonly policy: NetworkPolicy) {
    const agentOptions = { keepAlive: true, maxSockets: 4, lookup: checkedLookup(policy) };
    this.http = new HttpAgent(agentOptions);
    this.https = new HttpsAgent(agentOptions);
  }

  async get(
    url: string,
    options: { headers?: Record<string, string>; signal?: AbortSignal } = {},
  ): Promise<OutboundResponse> {
    let current = new URL(url);
    let headers = options.headers ?? {};
    for (let hop = 0; ; hop += 1) {
      const response = await this.getOnce(current, headers, options.signal);
      const location = response.headers.location;
      if (!REDIRECT_STATUSES.has(response.statusCode ?? 0) || location === undefined) {
        return {
          status: response.statusCode ?? 0,
          headers: headersOf(response),
          body: decoded(response),
          url: current.toString(),
        };
      }
      response.resume();
      if (hop >= MAX_REDIRECTS) throw new Error(`more than ${MAX_REDIRECTS} redirects`);
      const next = new URL(location, current);
      if (next.protocol !== 'http:' && next.protocol !== 'https:')
        throw new Error(`a redirect to ${next.protocol} is not followed`);
      if (next.origin !== current.origin)
        headers = Object.fromEntries(
          Object.entries(headers).filter(([name]) => CROSS_ORIGIN_HEADERS.has(name.toLowerCase())),
        );
      current = next;
    }
  }

  /** Closes the idle connections. */
  dispose(): void {
    this.http.destroy();
    this.https.destroy();
  }

  private getOnce(
    url: URL,
    headers: Record<string, string>,
    signal: AbortSignal | undefined,
  ): Promise<IncomingMessage> {
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      return Promise.reject(new Error(`${url.protocol} is not an HTTP address`));
    const refused = refusedLiteral(this.policy, url.hostname);
    if (refused) return Promise.reject(refused);
    const https = url.protocol === 'https:';
    return new Promise((resolve, reject) => {
      const req = (https ? httpsRequest : httpRequest)(url, {
        method: 'GET',
        headers: { 'accept-encoding': 'gzip, deflate, br', ...headers },
        signal,
        agent: https ? this.https : this.http,
      });
      req.once('response', resolve);
      req.once('error', reject);
      req.end();
    });
  }
}

function headersOf(response: IncomingMessage): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(response.headers)) {
    if (value === undefined) continue;
    for (const one of Array.isArray(value) ? value : [value]) headers.append(name, one);
  }
  return headers;
}

/** The body with its content-encoding undone (the size limit applies to what comes out: no zip bombs). */
function decoded(response: IncomingMessage): Readable {
  const encoding = (response.headers['content-encoding'] ?? '').trim().toLowerCase();
  const decoder =
    encoding === 'gzip' || encoding === 'x-gzip'
      ? createGunzip()
      : encoding === 'deflate'
        ? createInflate()
        : encoding === 'br'
          ? createBrotliDecompress()
          : null;
  if (decoder === null) return response;
  response.on('error', (e) => decoder.destroy(e));
  decoder.on('close', () => response.destroy());
  return response.pipe(decoder);
}
