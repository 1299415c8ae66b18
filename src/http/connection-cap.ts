import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import type { TrustProxy } from '../config.js';
import { AppError } from '../errors.js';
import type { Log } from '../logger.js';
import { newId } from '../ids.js';
import { NetworkRules, ipRateLimitKey } from './network-rules.js';
import { rawProblemResponse } from './raw-problem.js';

/**
 * At most `max` open connections per client address, counted from the socket's peer address (IPv6 per /64, as the
 * rate limits count): X-Forwarded-For says nothing about who holds a socket. Every connection counts for as long as
 * it is open, keep-alive, WebSocket and SSE included. The connection over the cap never reaches the HTTP parser: it
 * gets a 429 problem and is closed.
 *
 * Behind a reverse proxy every connection comes from the proxy, so the peers WEIR_TRUST_PROXY trusts are not capped
 * (limit connections per client at the proxy). A hop count or `true` trusts every peer: the cap is then off.
 */

/** How long a refused connection may linger while its request is drained, so the client reads the 429 rather than a reset. */
const REFUSED_LINGER_MS = 2000;

/** proxy-addr's names for address ranges (what WEIR_TRUST_PROXY accepts) as CIDR blocks. */
const RANGE_NAMES: Record<string, string[]> = {
  loopback: ['127.0.0.0/8', '::1/128'],
  linklocal: ['169.254.0.0/16', 'fe80::/10'],
  uniquelocal: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'],
};

/** Whether a peer is a trusted proxy, and so not capped; null when the cap applies to no one. */
export function trustedPeers(trustProxy: TrustProxy): ((address: string) => boolean) | null {
  if (trustProxy === false) return () => false;
  if (trustProxy === true || typeof trustProxy === 'number') return null;
  const rules = NetworkRules.parse(
    trustProxy.flatMap((entry) => RANGE_NAMES[entry] ?? [entry]),
    [],
  );
  return (address) => rules.allows(address);
}

/** Open connections per address key; a key is dropped when its last connection closes. */
export class ConnectionCounts {
  private readonly open = new Map<string, number>();

  constructor(readonly max: number) {}

  /** Counts a connection in, or answers false when `key` already holds `max`. */
  tryOpen(key: string): boolean {
    const n = this.open.get(key) ?? 0;
    if (n >= this.max) return false;
    this.open.set(key, n + 1);
    return true;
  }

  close(key: string): void {
    const n = (this.open.get(key) ?? 1) - 1;
    if (n <= 0) this.open.delete(key);
    else this.open.set(key, n);
  }

  count(key: string): number {
    return this.open.get(key) ?? 0;
  }
}

/**
 * Puts the cap in front of the HTTP server's own 'connection' handling. Must run before the server listens.
 */
export function capConnectionsPerAddress(server: Server, max: number, trustProxy: TrustProxy, log: Log): void {
  const exempt = trustedPeers(trustProxy);
  if (exempt === null) {
    log.info(
      { maxConnectionsPerAddress: max },
      'every peer is a trusted proxy (WEIR_TRUST_PROXY): connections per address are not capped here',
    );
    return;
  }
  const counts = new ConnectionCounts(max);
  // Node's http.Server parses requests from its 'connection' listener: only sockets under the cap are handed on.
  const handlers = server.listeners('connection') as ((socket: Socket) => void)[];
  server.removeAllListeners('connection');
  server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress ?? '';
    if (!exempt(address)) {
      const key = ipRateLimitKey(address);
      if (!counts.tryOpen(key)) {
        refuse(socket, max, log, key);
        return;
      }
      socket.once('close', () => counts.close(key));
    }
    for (const handler of handlers) handler.call(server, socket);
  });
}

function refuse(socket: Socket, max: number, log: Log, key: string): void {
  const requestId = newId('req');
  log.info(
    { requestId, address: key, maxConnectionsPerAddress: max },
    'connection refused: too many open connections from this address',
  );
  const error = new AppError(
    'too_many_connections',
    `This address already holds ${max} open connections, the most allowed (WEIR_HTTP_MAX_CONNECTIONS_PER_ADDRESS); close some or reuse them (keep-alive), then retry`,
    [],
    { limit: max },
  );
  socket.on('error', () => {});
  socket.end(rawProblemResponse(error, requestId));
  // Read and drop whatever the client sends: closing with unread bytes would reset the connection before it reads the answer.
  socket.resume();
  setTimeout(() => socket.destroy(), REFUSED_LINGER_MS).unref();
}
