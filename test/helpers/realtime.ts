import { Redis } from 'ioredis';
import type { Kysely } from 'kysely';
import { WebSocket, type ClientOptions } from 'ws';
import type { Database } from '../../src/db/types.js';
import { newId } from '../../src/ids.js';
import type { ServerMessage } from '../../src/realtime/protocol.js';

export const REDIS_URL = 'redis://127.0.0.1:6379';

/**
 * Whether Redis answers on 127.0.0.1:6379. Redis tests skip without it, unless WEIR_TEST_REQUIRE_REDIS=1
 * (CI), where its absence is a failure.
 */
export async function redisAvailable(): Promise<boolean> {
  const probe = new Redis(REDIS_URL, {
    lazyConnect: true,
    connectTimeout: 1000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  probe.on('error', () => {});
  try {
    await probe.connect();
    return (await probe.ping()) === 'PONG';
  } catch {
    if (process.env.WEIR_TEST_REQUIRE_REDIS === '1')
      throw new Error(`WEIR_TEST_REQUIRE_REDIS=1 but Redis does not answer at ${REDIS_URL}`);
    return false;
  } finally {
    probe.disconnect();
  }
}

/** Polls `check` until it returns true, failing after `timeoutMs`. */
export async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export interface Closed {
  code: number;
  reason: string;
}

/** A WebSocket test client that keeps every message and lets a test await the next one matching a condition. */
export class TestClient {
  readonly received: ServerMessage[] = [];
  /** Bytes of every text frame received. */
  receivedBytes = 0;
  readonly closed: Promise<Closed>;
  private cursor = 0;
  private waiters: (() => void)[] = [];

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => {
      this.receivedBytes += data.length;
      this.received.push(JSON.parse(data.toString('utf8')) as ServerMessage);
      for (const w of this.waiters.splice(0)) w();
    });
    this.closed = new Promise((resolve) =>
      ws.once('close', (code, reason) => {
        for (const w of this.waiters.splice(0)) w();
        resolve({ code, reason: reason.toString() });
      }),
    );
  }

  static open(url: string, options: ClientOptions = {}): Promise<TestClient> {
    const ws = new WebSocket(url, options);
    const client = new TestClient(ws);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(client));
      ws.once('error', reject);
      ws.once('unexpected-response', (req, res) => {
        // Listening to this event makes aborting the refused handshake our job.
        req.destroy();
        reject(new Error(`unexpected response ${res.statusCode}`));
      });
    });
  }

  send(message: unknown): void {
    this.ws.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  /** The next message (after those already taken) matching `match`; messages skipped over stay available to `all`. */
  async next<T extends ServerMessage['type']>(
    type: T,
    match: (m: Extract<ServerMessage, { type: T }>) => boolean = () => true,
    timeoutMs = 5000,
  ): Promise<Extract<ServerMessage, { type: T }>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (let i = this.cursor; i < this.received.length; i++) {
        const m = this.received[i]!;
        if (m.type === type && match(m as Extract<ServerMessage, { type: T }>)) {
          this.cursor = i + 1;
          return m as Extract<ServerMessage, { type: T }>;
        }
      }
      if (this.ws.readyState === WebSocket.CLOSED)
        throw new Error(`connection closed while waiting for a "${type}" message`);
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(
          `no "${type}" message within ${timeoutMs} ms; got ${JSON.stringify(this.received.slice(this.cursor)).slice(0, 500)}`,
        );
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Sends a request with an `id` and returns the answer carrying that id. */
  async request(message: Record<string, unknown> & { id: string }): Promise<ServerMessage> {
    this.send(message);
    const deadline = Date.now() + 5000;
    for (;;) {
      const answer = this.received.find((m) => 'id' in m && m.id === message.id);
      if (answer) return answer;
      if (this.ws.readyState === WebSocket.CLOSED) throw new Error('connection closed while waiting for an answer');
      if (Date.now() > deadline) throw new Error(`no answer to ${JSON.stringify(message)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 100);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  events(topic?: string): Extract<ServerMessage, { type: 'event' }>[] {
    return this.received.filter(
      (m): m is Extract<ServerMessage, { type: 'event' }> =>
        m.type === 'event' && (topic === undefined || m.topic === topic),
    );
  }

  close(): void {
    this.ws.close();
  }
}

export const wsUrl = (httpUrl: string): string => `${httpUrl.replace(/^http/, 'ws')}/api/v1/ws`;

/** An upgrade the server is expected to refuse: the HTTP status, content type and body it answered instead. */
export function refusedUpgrade(
  url: string,
  options: ClientOptions = {},
): Promise<{ status: number; contentType: string; body: Record<string, unknown> }> {
  const ws = new WebSocket(url, options);
  return new Promise((resolve, reject) => {
    ws.once('open', () => {
      ws.close();
      reject(new Error('the upgrade was accepted'));
    });
    ws.once('error', reject);
    ws.once('unexpected-response', (req, res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.once('end', () => {
        req.destroy();
        resolve({
          status: res.statusCode ?? 0,
          contentType: String(res.headers['content-type'] ?? ''),
          body: JSON.parse(text) as Record<string, unknown>,
        });
      });
    });
  });
}

/** Inserts a `jobs` row directly (for topics of jobs in any workspace, without the job runtime). */
export async function insertJobRow(
  db: Kysely<Database>,
  fields: { workspaceId: string; status?: string; progress?: number; id?: string },
): Promise<string> {
  const id = fields.id ?? newId('job');
  const now = new Date().toISOString();
  await db
    .insertInto('jobs')
    .values({
      id,
      kind: 'test.noop',
      workspace_id: fields.workspaceId,
      created_by: null,
      parent_id: null,
      payload_json: '{"v":1}',
      status: fields.status ?? 'running',
      priority: 0,
      progress: fields.progress ?? 0,
      progress_message: null,
      progress_data_json: null,
      attempts: 1,
      max_attempts: 3,
      timeout_ms: 60_000,
      result_json: null,
      error_code: null,
      error_message: null,
      cancel_requested: 0,
      worker_id: null,
      lease_until: null,
      run_after: now,
      created_at: now,
      started_at: now,
      finished_at: null,
      updated_at: now,
    })
    .execute();
  return id;
}

/** Inserts a workspace (for cross-workspace checks). */
export async function insertWorkspace(db: Kysely<Database>): Promise<string> {
  const id = newId('ws');
  await db
    .insertInto('workspaces')
    .values({ id, slug: id.toLowerCase(), name: `other ${id}`, created_at: new Date().toISOString() })
    .execute();
  return id;
}

export const MQTT_URL = process.env.WEIR_TEST_MQTT_URL ?? 'mqtt://127.0.0.1:1883';

/**
 * Whether an MQTT broker answers at MQTT_URL (Mosquitto on 127.0.0.1:1883). MQTT tests skip without it, unless
 * WEIR_TEST_REQUIRE_MQTT=1 (CI), where its absence is a failure: the embedded-default suite needs no services.
 */
export async function mqttAvailable(): Promise<boolean> {
  const { hostname, port } = new URL(MQTT_URL);
  const { connect } = await import('node:net');
  const up = await new Promise<boolean>((resolve) => {
    const socket = connect(Number(port || 1883), hostname);
    socket.setTimeout(1000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
  if (!up && process.env.WEIR_TEST_REQUIRE_MQTT === '1')
    throw new Error(`WEIR_TEST_REQUIRE_MQTT=1 but no MQTT broker answers at ${MQTT_URL}`);
  return up;
}
