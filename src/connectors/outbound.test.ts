import type { LookupAddress } from 'node:dns';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { isPrivateAddress, Outbound, RefusedDestination, type NetworkPolicy } from './outbound.js';
import { SourceGuard } from './safety.js';
import { SourceError } from './source-error.js';

/**
 * The fake sources all listen on loopback, so these tests name what their policy refuses: 127.0.0.2 stands for
 * the private network (a metadata service, an internal API) and 127.0.0.1 for the public internet.
 */
const INTERNAL = '127.0.0.2';
const refusesInternal = (address: string) => address === INTERNAL;

interface FakeServer {
  url: string;
  port: number;
  requests: { url: string; headers: IncomingHttpHeaders }[];
}

const servers: Server[] = [];
const outbounds: Outbound[] = [];
afterEach(async () => {
  for (const outbound of outbounds.splice(0)) outbound.dispose();
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

async function fakeServer(
  host: string,
  answer: (url: string, res: import('node:http').ServerResponse) => void,
): Promise<FakeServer> {
  const requests: FakeServer['requests'] = [];
  const server = createServer((req, res) => {
    requests.push({ url: req.url ?? '', headers: req.headers });
    answer(req.url ?? '', res);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://${host}:${port}`, port, requests };
}

const secretServer = () =>
  fakeServer(INTERNAL, (_url, res) => res.end(JSON.stringify({ credentials: 'of the cloud account' })));

function outbound(policy: Partial<NetworkPolicy> = {}): Outbound {
  const created = new Outbound({ allowPrivate: false, refuses: refusesInternal, ...policy });
  outbounds.push(created);
  return created;
}

async function text(response: { body: AsyncIterable<Buffer> }): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of response.body) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

/** A resolver that answers from a table, as a DNS server under an attacker's control would. */
function resolver(table: Record<string, string>): NetworkPolicy['lookup'] {
  return ((hostname: string, _options: unknown, callback: (e: Error | null, a: LookupAddress[]) => void) => {
    const address = table[hostname];
    if (address === undefined) callback(Object.assign(new Error(`${hostname} unknown`), { code: 'ENOTFOUND' }), []);
    else callback(null, [{ address, family: 4 }]);
  }) as unknown as NetworkPolicy['lookup'];
}

describe('Outbound: where a connector may connect', () => {
  it('refuses a redirect into the private network; the internal service never sees a request', async () => {
    const internal = await secretServer();
    const source = await fakeServer('127.0.0.1', (_url, res) =>
      res.writeHead(302, { location: `${internal.url}/latest/meta-data/iam` }).end(),
    );
    const error = await outbound()
      .get(`${source.url}/feed.json`)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RefusedDestination);
    expect((error as Error).message).toMatch(/127\.0\.0\.2 is on a private, loopback or link-local network/);
    expect(source.requests).toHaveLength(1);
    expect(internal.requests).toHaveLength(0);
  });

  it('checks a host name on the address the connection really uses (DNS rebinding)', async () => {
    const internal = await secretServer();
    const source = await fakeServer('127.0.0.1', (_url, res) => res.end('{"ok":true}'));
    const o = outbound({ lookup: resolver({ 'source.test': '127.0.0.1', 'rebound.test': INTERNAL }) });

    const ok = await o.get(`http://source.test:${source.port}/feed.json`);
    expect([ok.status, await text(ok)]).toEqual([200, '{"ok":true}']);
    expect(source.requests[0]?.headers.host).toBe(`source.test:${source.port}`);

    // The name passed every check when the connector was created; now it points inside.
    const error = await o.get(`http://rebound.test:${internal.port}/`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RefusedDestination);
    expect((error as Error).message).toContain(`rebound.test (${INTERNAL})`);
    expect(internal.requests).toHaveLength(0);
  });

  it('refuses an address literal without connecting, and allows everything with WEIR_CONNECTORS_ALLOW_PRIVATE', async () => {
    const internal = await secretServer();
    await expect(outbound().get(`${internal.url}/`)).rejects.toBeInstanceOf(RefusedDestination);
    expect(internal.requests).toHaveLength(0);

    const allowed = await outbound({ allowPrivate: true }).get(`${internal.url}/`);
    expect(JSON.parse(await text(allowed))).toEqual({ credentials: 'of the cloud account' });
  });

  it('follows redirects within the policy, and drops credentials when one leaves the origin', async () => {
    const other = await fakeServer('127.0.0.1', (_url, res) => res.end('moved here'));
    const source = await fakeServer('127.0.0.1', (url, res) => {
      if (url === '/old') res.writeHead(301, { location: '/new' }).end();
      else res.writeHead(307, { location: `${other.url}/elsewhere` }).end();
    });
    const headers = { accept: 'application/json', 'x-api-key': 'k-123', authorization: 'Bearer t-456' };
    const response = await outbound().get(`${source.url}/old`, { headers });
    expect([response.status, response.url, await text(response)]).toEqual([
      200,
      `${other.url}/elsewhere`,
      'moved here',
    ]);
    // Same origin: the key travels; another origin: only what cannot be a credential.
    expect(source.requests.map((r) => [r.url, r.headers['x-api-key']])).toEqual([
      ['/old', 'k-123'],
      ['/new', 'k-123'],
    ]);
    expect(other.requests[0]?.headers).toMatchObject({ accept: 'application/json' });
    expect(other.requests[0]?.headers['x-api-key']).toBeUndefined();
    expect(other.requests[0]?.headers.authorization).toBeUndefined();
  });

  it('stops a redirect loop, and does not follow a redirect out of HTTP', async () => {
    const loop = await fakeServer('127.0.0.1', (url, res) => res.writeHead(302, { location: `${url}x` }).end());
    await expect(outbound().get(`${loop.url}/`)).rejects.toThrow(/more than 5 redirects/);
    expect(loop.requests).toHaveLength(6);
    const file = await fakeServer('127.0.0.1', (_url, res) =>
      res.writeHead(302, { location: 'file:///etc/passwd' }).end(),
    );
    await expect(outbound().get(`${file.url}/`)).rejects.toThrow(/a redirect to file: is not followed/);
  });

  it('decodes a gzip body', async () => {
    const source = await fakeServer('127.0.0.1', (_url, res) =>
      res.writeHead(200, { 'content-encoding': 'gzip' }).end(gzipSync('{"feeds":[]}')),
    );
    const response = await outbound().get(`${source.url}/`);
    expect(await text(response)).toBe('{"feeds":[]}');
    expect(source.requests[0]?.headers['accept-encoding']).toContain('gzip');
  });

  it('refuses by default loopback, private, link-local, unique-local and mapped addresses, not public ones', () => {
    for (const [address, family] of [
      ['127.0.0.1', 4],
      ['10.1.2.3', 4],
      ['172.16.0.1', 4],
      ['192.168.1.1', 4],
      ['169.254.169.254', 4],
      ['100.64.0.1', 4],
      ['0.0.0.0', 4],
      ['::1', 6],
      ['fd00::1', 6],
      ['fe80::1', 6],
      ['::ffff:127.0.0.1', 6],
    ] as const)
      expect([address, isPrivateAddress(address, family)]).toEqual([address, true]);
    for (const [address, family] of [
      ['8.8.8.8', 4],
      ['52.1.2.3', 4],
      ['2606:4700::1111', 6],
    ] as const)
      expect([address, isPrivateAddress(address, family)]).toEqual([address, false]);
  });
});

describe('SourceGuard: a refused destination', () => {
  it('fails once, with a message that says why, without retries or the breaker counting it', async () => {
    const internal = await secretServer();
    const source = await fakeServer('127.0.0.1', (_url, res) =>
      res.writeHead(302, { location: `${internal.url}/?api_key=stolen` }).end(),
    );
    const guard = new SourceGuard({
      connectorId: 'c1',
      network: { allowPrivate: false, refuses: refusesInternal },
      limiter: null,
      retries: 2,
      breakerThreshold: 1,
      retryInitialDelayMs: 1,
    });
    try {
      const error = await guard.fetch({ url: `${source.url}/feed.json` }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SourceError);
      expect(error).toMatchObject({ kind: 'refused_destination' });
      expect((error as Error).message).toMatch(/refused: 127\.0\.0\.2 is on a private, loopback or link-local network/);
      expect(source.requests).toHaveLength(1);
      expect(internal.requests).toHaveLength(0);
      expect(guard.breakerState()).toBe('closed');
    } finally {
      guard.dispose();
    }
  });
});
