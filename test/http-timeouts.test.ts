import http from 'node:http';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { startTestApp, type TestApp } from './helpers/app.js';
import { eventually } from './helpers/jobs.js';
import { insertJobRow, wsUrl } from './helpers/realtime.js';
import { TUS, csvOf, metadataHeader, tusUpload } from './helpers/tus.js';
import { upload } from './helpers/upload.js';

/**
 * Slow and greedy clients on real sockets: the headers, body and keep-alive timeouts, the minimum upload rate, and
 * the cap on connections per client address. Timeouts are configured small; the bounds asserted leave room for a
 * loaded machine but are far below "never".
 */

/** A raw TCP connection that records what the server sends and when it closes. */
interface Raw {
  socket: net.Socket;
  openedAt: number;
  text(): string;
  /** Resolves with the milliseconds from connect to close. */
  closed: Promise<number>;
}

function connect(url: string, localAddress?: string): Promise<Raw> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: hostname, port: Number(port), localAddress });
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', () => {});
    socket.once('connect', () => {
      const openedAt = Date.now();
      const closed = new Promise<number>((done) => socket.once('close', () => done(Date.now() - openedAt)));
      resolve({ socket, openedAt, text: () => Buffer.concat(chunks).toString('latin1'), closed });
    });
    socket.once('error', reject);
  });
}

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** The response starting at character `from` of what `raw` received, once it is complete (or the connection closed). */
async function responseOf(raw: Raw, from = 0): Promise<RawResponse> {
  let closed = false;
  void raw.closed.then(() => (closed = true));
  return eventually(() => {
    const text = raw.text().slice(from);
    const end = text.indexOf('\r\n\r\n');
    if (end === -1) {
      if (closed) throw new Error(`connection closed without a response: ${JSON.stringify(text)}`);
      return undefined;
    }
    const [statusLine, ...lines] = text.slice(0, end).split('\r\n');
    const headers = Object.fromEntries(
      lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]),
    );
    const body = text.slice(end + 4);
    if (headers['content-length'] !== undefined && body.length < Number(headers['content-length']) && !closed)
      return undefined;
    return { status: Number(statusLine!.split(' ')[1]), headers, body };
  }, 'a response');
}

const requestHead = (method: string, path: string, headers: Record<string, string | number>): string =>
  `${method} ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\n${Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('')}\r\n`;

/** Sends `bytes` one byte every `everyMs` until the connection closes or they run out. */
function trickle(raw: Raw, bytes: Buffer, everyMs: number): { sent(): number } {
  let i = 0;
  const timer = setInterval(() => {
    if (raw.socket.destroyed || i >= bytes.length) {
      clearInterval(timer);
      return;
    }
    raw.socket.write(bytes.subarray(i, i + 1));
    i++;
  }, everyMs);
  void raw.closed.then(() => clearInterval(timer));
  return { sent: () => i };
}

async function createUpload(t: TestApp, length: number): Promise<string> {
  const res = await t.fetch(`${t.api}/uploads`, {
    method: 'POST',
    headers: { ...TUS, 'upload-length': String(length), 'upload-metadata': metadataHeader({ filename: 'slow.csv' }) },
  });
  expect(res.status, await res.clone().text()).toBe(201);
  return res.headers.get('location')!;
}

async function offsetOf(t: TestApp, location: string): Promise<number> {
  const res = await t.fetch(`${t.url}${location}`, { method: 'HEAD', headers: TUS });
  expect(res.status).toBe(200);
  return Number(res.headers.get('upload-offset'));
}

describe('timeouts (headers 1 s, body 1 s, uploads at least 16 KiB per 1 s, keep-alive 1 s)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({
      WEIR_HTTP_HEADERS_TIMEOUT: '1s',
      WEIR_HTTP_BODY_TIMEOUT: '1s',
      WEIR_UPLOAD_MIN_RATE: '16KiB/1s',
      WEIR_HTTP_KEEPALIVE_TIMEOUT: '1s',
      WEIR_SSE_HEARTBEAT_MS: '300',
      WEIR_WS_HEARTBEAT_MS: '500',
    });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('headers sent a byte at a time get a 408 and the connection closes; so does a connection that sends nothing', async () => {
    const slow = await connect(t.url);
    slow.socket.write('GET /health/live HTTP/1.1\r\nhost: 127.0.0.1\r\n');
    trickle(slow, Buffer.from('x-slow: ' + 'a'.repeat(1000)), 100);
    const silent = await connect(t.url);
    expect(await slow.closed).toBeLessThan(5000);
    const answer = await responseOf(slow);
    expect(answer.status).toBe(408);
    expect(answer.headers['content-type']).toBe('application/problem+json');
    expect(JSON.parse(answer.body)).toMatchObject({
      code: 'request_timeout',
      detail: expect.stringContaining('WEIR_HTTP_HEADERS_TIMEOUT') as unknown,
    });
    expect(await silent.closed).toBeLessThan(5000);
  });

  it('headers over the size limit get a 431 headers_too_large, bytes that are not HTTP a 400 bad_request; both close', async () => {
    const large = await connect(t.url);
    large.socket.write(requestHead('GET', '/health/live', { 'x-large': 'a'.repeat(64 * 1024) }));
    const answer = await responseOf(large);
    expect(answer.status).toBe(431);
    expect(JSON.parse(answer.body)).toMatchObject({ status: 431, code: 'headers_too_large' });
    expect(await large.closed).toBeLessThan(5000);
    const garbage = await connect(t.url);
    garbage.socket.write('NOT HTTP AT ALL\r\n\r\n');
    const refused = await responseOf(garbage);
    expect(refused.status).toBe(400);
    expect(JSON.parse(refused.body)).toMatchObject({ status: 400, code: 'bad_request' });
    expect(await garbage.closed).toBeLessThan(5000);
  });

  it('50 unauthenticated refreshes sending a 100,000-byte body a byte at a time are all answered 408 and closed', async () => {
    const clients = await Promise.all(Array.from({ length: 50 }, () => connect(t.url)));
    for (const c of clients) {
      c.socket.write(
        requestHead('POST', '/api/v1/auth/refresh', { 'content-type': 'application/json', 'content-length': 100_000 }),
      );
      trickle(c, Buffer.from('{'.padEnd(100_000, ' ')), 200);
    }
    const lifetimes = await Promise.all(clients.map((c) => c.closed));
    expect(Math.max(...lifetimes)).toBeLessThan(6000);
    const answered = await responseOf(clients[0]!);
    expect(answered.status).toBe(408);
    expect(answered.headers['content-type']).toBe('application/problem+json');
    const problem = JSON.parse(answered.body) as { code: string; detail: string };
    expect(problem.code).toBe('request_timeout');
    expect(problem.detail).toContain('WEIR_HTTP_BODY_TIMEOUT');
    for (const c of clients) expect(c.text()).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('5 tus PATCHes below the minimum rate are cut; the bytes each delivered are kept and the upload resumes from them', async () => {
    const length = 100_000;
    const data = csvOf(10_000).subarray(0, length);
    const patches = await Promise.all(
      Array.from({ length: 5 }, async () => {
        const location = await createUpload(t, length);
        const raw = await connect(t.url);
        raw.socket.write(
          requestHead('PATCH', location, {
            ...t.auth,
            ...TUS,
            'upload-offset': 0,
            'content-type': 'application/offset+octet-stream',
            'content-length': length,
          }),
        );
        raw.socket.write(data.subarray(0, 3000));
        const rest = trickle(raw, data.subarray(3000), 200);
        return { location, raw, sent: () => 3000 + rest.sent() };
      }),
    );
    for (const p of patches) {
      expect(await p.raw.closed).toBeLessThan(6000);
      const kept = await eventually(async () => {
        const offset = await offsetOf(t, p.location);
        return offset >= 3000 ? offset : undefined;
      }, 'the delivered bytes to be committed');
      expect(kept).toBeLessThanOrEqual(p.sent());
    }
    // tus: the client resumes at the kept offset, and the upload completes.
    const first = patches[0]!;
    const offset = await offsetOf(t, first.location);
    const res = await t.fetch(`${t.url}${first.location}`, {
      method: 'PATCH',
      headers: { ...TUS, 'upload-offset': String(offset), 'content-type': 'application/offset+octet-stream' },
      body: data.subarray(offset),
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('upload-offset')).toBe(String(length));
  });

  it('a PATCH that keeps the minimum rate is not cut, though it takes longer than the body timeout', async () => {
    const chunk = 32 * 1024;
    const length = 12 * chunk;
    const data = csvOf(40_000).subarray(0, length);
    const location = await createUpload(t, length);
    const raw = await connect(t.url);
    raw.socket.write(
      requestHead('PATCH', location, {
        ...t.auth,
        ...TUS,
        'upload-offset': 0,
        'content-type': 'application/offset+octet-stream',
        'content-length': length,
      }),
    );
    for (let i = 0; i < 12; i++) {
      raw.socket.write(data.subarray(i * chunk, (i + 1) * chunk));
      await new Promise((r) => setTimeout(r, 250));
    }
    const answer = await responseOf(raw);
    expect(answer.status).toBe(204);
    expect(answer.headers['upload-offset']).toBe(String(length));
    expect(Date.now() - raw.openedAt).toBeGreaterThan(2000);
    raw.socket.destroy();
  });

  it('a multipart upload that keeps the rate is bounded by it, not by the body timeout', async () => {
    const boundary = 'weirslowboundary';
    const csv = csvOf(20_000);
    const body = Buffer.concat([
      Buffer.from(
        `--${boundary}\r\ncontent-disposition: form-data; name="file"; filename="slow-multipart.csv"\r\ncontent-type: text/csv\r\n\r\n`,
      ),
      csv,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    const raw = await connect(t.url);
    raw.socket.write(
      requestHead('POST', '/api/v1/datasets?wait=true', {
        ...t.auth,
        'content-type': `multipart/form-data; boundary=${boundary}`,
        'content-length': body.length,
      }),
    );
    const parts = 10;
    const size = Math.ceil(body.length / parts);
    for (let i = 0; i < parts; i++) {
      raw.socket.write(body.subarray(i * size, (i + 1) * size));
      await new Promise((r) => setTimeout(r, 250));
    }
    const answer = await responseOf(raw);
    expect(answer.status, answer.body).toBe(201);
    expect(Date.now() - raw.openedAt).toBeGreaterThan(2000);
    raw.socket.destroy();
  });

  it('uploads at full speed are unaffected: tus-js-client and a multipart form', async () => {
    const data = csvOf(150_000);
    const run = tusUpload(`${t.api}/uploads`, data, {
      headers: t.auth,
      chunkSize: 1024 * 1024,
      metadata: { filename: 'fast.csv' },
    });
    await run.done;
    expect(await offsetOf(t, new URL(run.url!).pathname)).toBe(data.length);
    const res = await upload(t, csvOf(50_000), { filename: 'fast-form.csv' });
    expect(res.status).toBe(201);
  });

  it('WebSocket and SSE connections outlive the header, body and keep-alive timeouts', async () => {
    const ws = new WebSocket(wsUrl(t.url), { headers: t.auth });
    let pings = 0;
    ws.on('ping', () => pings++);
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    const jobId = await insertJobRow(t.context.store.db, {
      workspaceId: 'ws_default',
      status: 'running',
      progress: 10,
    });
    const sse = await t.fetch(`${t.api}/jobs/${jobId}/events`);
    expect(sse.status).toBe(200);
    const reader = sse.body!.getReader();
    let heartbeats = 0;
    let text = '';
    // Heartbeats every 300 ms: ten of them is 3 s of an open stream.
    while (heartbeats < 10) {
      const { value, done } = await reader.read();
      expect(done).toBe(false);
      text += new TextDecoder().decode(value);
      heartbeats = text.split('\n').filter((l) => l.startsWith(':')).length;
    }
    await eventually(() => (pings >= 5 ? true : undefined), 'five WebSocket pings');
    expect(ws.readyState).toBe(WebSocket.OPEN);
    ws.close();
    await reader.cancel();
  });

  it('an idle keep-alive connection is closed after the keep-alive timeout', async () => {
    const raw = await connect(t.url);
    raw.socket.write(requestHead('GET', '/health/live', {}));
    expect((await responseOf(raw)).status).toBe(200);
    const answeredAfter = Date.now() - raw.openedAt;
    const lifetime = await raw.closed;
    expect(lifetime - answeredAfter).toBeGreaterThanOrEqual(900);
    expect(lifetime - answeredAfter).toBeLessThan(5000);
  });
});

describe('connections per address (at most 3)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ WEIR_HTTP_MAX_CONNECTIONS_PER_ADDRESS: '3' });
  });
  afterAll(async () => {
    await t?.close();
  });

  /** A connection from `localAddress` (a loopback address of its own: the test client's other connections do not count) that answered one request. */
  async function held(localAddress: string): Promise<Raw> {
    const raw = await connect(t.url, localAddress);
    raw.socket.write(requestHead('GET', '/health/live', {}));
    const answer = await responseOf(raw);
    expect(answer.status).toBe(200);
    return raw;
  }

  async function refused(localAddress: string): Promise<void> {
    const raw = await connect(t.url, localAddress);
    raw.socket.write(requestHead('GET', '/health/live', {}));
    const answer = await responseOf(raw);
    expect(answer.status).toBe(429);
    expect(answer.headers['content-type']).toBe('application/problem+json');
    const problem = JSON.parse(answer.body) as { code: string; detail: string; limit: number };
    expect(problem).toMatchObject({ code: 'too_many_connections', limit: 3 });
    expect(problem.detail).toContain('WEIR_HTTP_MAX_CONNECTIONS_PER_ADDRESS');
    expect(await raw.closed).toBeLessThan(5000);
  }

  it('the 4th concurrent connection from one address is refused with 429 and closed; other addresses are not affected; a closed one frees a slot', async () => {
    const mine = [await held('127.0.0.2'), await held('127.0.0.2'), await held('127.0.0.2')];
    await refused('127.0.0.2');
    const other = await held('127.0.0.3');
    other.socket.destroy();
    mine[0]!.socket.destroy();
    await mine[0]!.closed;
    const again = await eventually(async () => {
      const raw = await connect(t.url, '127.0.0.2');
      raw.socket.write(requestHead('GET', '/health/live', {}));
      const answer = await responseOf(raw);
      if (answer.status === 200) return raw;
      raw.socket.destroy();
      return undefined;
    }, 'a slot to free up');
    for (const raw of [again, ...mine]) raw.socket.destroy();
  });

  it('WebSocket and SSE connections count toward the cap', async () => {
    const address = '127.0.0.4';
    const ws = new WebSocket(wsUrl(t.url), { headers: t.auth, localAddress: address });
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    const jobId = await insertJobRow(t.context.store.db, {
      workspaceId: 'ws_default',
      status: 'running',
      progress: 10,
    });
    const sse = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const { hostname, port } = new URL(t.url);
      http
        .get(
          {
            host: hostname,
            port,
            path: `/api/v1/jobs/${jobId}/events`,
            headers: t.auth,
            localAddress: address,
            agent: false,
          },
          resolve,
        )
        .once('error', reject);
    });
    expect(sse.statusCode).toBe(200);
    const third = await held(address);
    await refused(address);
    expect(ws.readyState).toBe(WebSocket.OPEN);
    ws.close();
    sse.destroy();
    third.socket.destroy();
  });
});
