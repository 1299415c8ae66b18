import { WebSocket } from 'ws';
import type { WeirClient } from './client.js';
import { CliFailure } from './command.js';
import { clean } from './format.js';

/** One event of a topic, as the hub sends it (src/realtime/protocol.ts). */
export interface TopicEventWire {
  event: string;
  data: unknown;
  ts: string;
}

/** The reconnect delay grows from this to RECONNECT_MAX_MS while the server stays away. */
const RECONNECT_MIN_MS = 500;
const RECONNECT_MAX_MS = 15_000;
/** Connection attempts in a row that never opened before the follow gives up (about a minute of backoff). */
const MAX_FAILED_OPENS = 8;
/** Close codes of the protocol: the server going away, a slow consumer, expired credentials. */
const CLOSE_CREDENTIALS = 4401;
/** How long a stopped follow waits for the server's close frame before dropping the connection. */
const CLOSE_GRACE_MS = 300;

/** How one connection ended. */
type Ended =
  | { kind: 'stopped' }
  | { kind: 'closed'; opened: boolean; code: number }
  | { kind: 'refused'; status: number }
  | { kind: 'failed'; error: Error };

export interface FollowOptions {
  /** Ends the follow (Ctrl-C): the socket is closed and the promise resolves. */
  signal: AbortSignal;
  /** A note for the person watching (reconnecting, …): stderr. */
  onNotice?: (text: string) => void;
}

/**
 * Follows `topic` over the WebSocket hub (GET /api/v1/ws) until `signal` aborts: subscribes, hands each event to
 * `onEvent`, and reconnects (subscribing again) when the connection drops or the server restarts; events sent
 * while it was away are missed, as a live tail may. Expired credentials (4401, or a 401 on the upgrade) are
 * renewed once through the client's token source. A subscription the server refuses (no such object, no
 * permission) ends the follow with that error.
 */
export async function followTopic(
  client: WeirClient,
  topic: string,
  onEvent: (event: TopicEventWire) => void,
  opts: FollowOptions,
): Promise<void> {
  const url = client.url('/api/v1/ws');
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  let delay = RECONNECT_MIN_MS;
  let failedOpens = 0;
  let renewed = false;
  while (!opts.signal.aborted) {
    const authorization = await client.tokens?.authorization();
    const ended = await connectOnce(url, topic, authorization, onEvent, opts.signal);
    if (ended.kind === 'stopped') return;
    if (ended.kind === 'failed') throw ended.error;
    const credentialsExpired =
      (ended.kind === 'closed' && ended.code === CLOSE_CREDENTIALS) ||
      (ended.kind === 'refused' && ended.status === 401);
    if (credentialsExpired) {
      if (renewed || !authorization || !client.tokens || !(await client.tokens.renew(authorization)))
        throw new CliFailure(client.tokens?.rejected('the credentials expired') ?? 'the server asks for credentials');
      renewed = true;
      continue;
    }
    if (ended.kind === 'refused') throw new CliFailure(`the server refused the WebSocket (${ended.status})`);
    if (ended.opened) {
      delay = RECONNECT_MIN_MS;
      failedOpens = 0;
      renewed = false;
    } else if (++failedOpens >= MAX_FAILED_OPENS) {
      throw new CliFailure(`cannot reach Weir's WebSocket at ${url.origin} (gave up after ${failedOpens} attempts)`);
    }
    opts.onNotice?.(`connection lost (${ended.code}); reconnecting in ${Math.round(delay / 100) / 10} s`);
    await pause(delay, opts.signal);
    delay = Math.min(RECONNECT_MAX_MS, delay * 2);
  }
}

function connectOnce(
  url: URL,
  topic: string,
  authorization: string | undefined,
  onEvent: (event: TopicEventWire) => void,
  signal: AbortSignal,
): Promise<Ended> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { headers: authorization ? { authorization } : {}, perMessageDeflate: false });
    let opened = false;
    let settled: Ended | null = null;
    const settle = (ended: Ended) => {
      if (settled) return;
      settled = ended;
      signal.removeEventListener('abort', stop);
      resolve(ended);
    };
    const stop = () => {
      settle({ kind: 'stopped' });
      ws.close(1000);
      // Ctrl-C should end the command at once, not when a slow server answers the closing handshake.
      setTimeout(() => ws.terminate(), CLOSE_GRACE_MS).unref();
    };
    signal.addEventListener('abort', stop, { once: true });
    ws.on('open', () => {
      opened = true;
      ws.send(JSON.stringify({ type: 'subscribe', topic, id: 'tail' }));
    });
    ws.on('message', (raw) => {
      let message: { type?: string; topic?: string; event?: string; data?: unknown; ts?: string; code?: string };
      try {
        message = JSON.parse(raw.toString()) as typeof message;
      } catch {
        return;
      }
      if (message.type === 'event' && message.topic === topic && typeof message.event === 'string')
        onEvent({ event: message.event, data: message.data, ts: message.ts ?? '' });
      else if (message.type === 'error' && (message.topic === topic || message.topic === undefined)) {
        settle({ kind: 'failed', error: refusal(topic, message.code, (message as { message?: string }).message) });
        ws.close(1000);
      } else if (message.type === 'unsubscribed' && message.topic === topic && 'reason' in message) {
        settle({
          kind: 'failed',
          error: new CliFailure(`the server ended the subscription to ${topic}: access revoked`),
        });
        ws.close(1000);
      }
    });
    ws.on('unexpected-response', (req, res) => {
      // Listening to this event makes aborting the refused handshake our job.
      req.destroy();
      res.resume();
      settle({ kind: 'refused', status: res.statusCode ?? 0 });
    });
    ws.on('error', () => {
      // 'close' follows with the code; the error itself (ECONNREFUSED, reset) says nothing more to the user.
    });
    ws.on('close', (code) => settle({ kind: 'closed', opened, code }));
  });
}

function refusal(topic: string, code: string | undefined, message: string | undefined): CliFailure {
  if (code === 'not_found') return new CliFailure(`${topic} does not exist in your workspaces`);
  if (code === 'forbidden') return new CliFailure(`your role may not watch ${topic}`);
  return new CliFailure(`the server refused to follow ${topic}: ${clean(message ?? code ?? 'unknown error')}`);
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
