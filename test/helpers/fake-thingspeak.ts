import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * A fake ThingSpeak on 127.0.0.1 for connector tests: `GET /channels/:id/feeds.json` with the documented
 * parameters (`results` ≤ 8000, the newest entries of [`start`, `end`]; `api_key` for private channels, `-1`
 * otherwise) and response shapes, scripted misbehaviour for the next requests, a request log, and free routes for
 * generic HTTP JSON sources.
 */

export interface FakeEntry {
  entry_id: number;
  /** ISO 8601 in UTC, seconds precision ("2026-12-06T18:00:00Z"), as ThingSpeak writes it. */
  created_at: string;
  [field: string]: string | number | null;
}

export interface FakeChannelSpec {
  id: number;
  name?: string;
  /** Labels by field number: { 1: 'Temperature', 2: 'Humidity (%)' }. */
  fields: Record<number, string>;
  /** The read API key of a private channel; absent: public. */
  readApiKey?: string;
}

interface FakeChannel extends FakeChannelSpec {
  entries: FakeEntry[];
  createdAt: string;
}

/** One scripted answer, used instead of (or before) the normal one. */
export type FakeStep =
  | { kind: 'respond'; status: number; headers?: Record<string, string>; body?: string }
  /** Answers normally after `ms`. */
  | { kind: 'delay'; ms: number }
  /** Never answers; the socket is closed by the client's timeout or by close(). */
  | { kind: 'hang' };

export interface FakeRequest {
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  /** Date.now() when the request arrived. */
  atMs: number;
}

export interface RouteAnswer {
  status?: number;
  headers?: Record<string, string>;
  /** A string is sent as is; anything else as JSON. */
  body: unknown;
}

export type RouteHandler = (url: URL, request: IncomingMessage) => RouteAnswer;

/** A scripted answer in ThingSpeak's error shape: `{status, error: {error_code, message, details}}`. */
export function thingSpeakError(status: number, code: string, message: string): FakeStep {
  return { kind: 'respond', status, body: errorBody(status, code, message) };
}

function errorBody(status: number, code: string, message: string): string {
  return JSON.stringify({ status: String(status), error: { error_code: code, message, details: message } });
}

const RESULTS_DEFAULT = 100;
const RESULTS_MAX = 8000;

function isoSeconds(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

/** ThingSpeak's "YYYY-MM-DD HH:NN:SS" (UTC here); also accepts ISO. */
function parseTime(text: string | null): number | null {
  if (!text) return null;
  const normal = text.trim().replace(' ', 'T');
  const ms = Date.parse(/(Z|[+-]\d\d:?\d\d)$/.test(normal) ? normal : `${normal}Z`);
  return Number.isFinite(ms) ? ms : null;
}

export class FakeThingSpeak {
  readonly requests: FakeRequest[] = [];
  private readonly channels = new Map<number, FakeChannel>();
  private readonly routes = new Map<string, RouteHandler>();
  private readonly steps: FakeStep[] = [];
  private readonly sockets = new Set<Socket>();
  private nextEntryMs = Date.parse('2026-01-01T00:00:00Z');

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(): Promise<FakeThingSpeak> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const fake = new FakeThingSpeak(server, `http://127.0.0.1:${port}`);
    server.on('request', (req, res) => fake.handle(req, res));
    server.on('connection', (socket) => {
      fake.sockets.add(socket);
      socket.on('close', () => fake.sockets.delete(socket));
    });
    return fake;
  }

  addChannel(spec: FakeChannelSpec): void {
    this.channels.set(spec.id, { ...spec, entries: [], createdAt: isoSeconds(this.nextEntryMs) });
  }

  /**
   * Appends entries with consecutive entry_ids. Without `at`, each entry is one second after the previous one
   * (from 2026-01-01T00:00:00Z); values are stored as strings, the way ThingSpeak stores them.
   */
  addEntries(
    channelId: number,
    entries: { at?: Date | string; fields?: Record<number, string | number | null>; extra?: Record<string, string> }[],
  ): FakeEntry[] {
    const channel = this.channel(channelId);
    const added: FakeEntry[] = [];
    for (const spec of entries) {
      const atMs = spec.at === undefined ? this.nextEntryMs : new Date(spec.at).getTime();
      this.nextEntryMs = Math.max(this.nextEntryMs, atMs + 1000);
      const entry: FakeEntry = { created_at: isoSeconds(atMs), entry_id: (channel.entries.at(-1)?.entry_id ?? 0) + 1 };
      for (const n of Object.keys(channel.fields)) {
        const value = spec.fields?.[Number(n)];
        entry[`field${n}`] = value === undefined || value === null ? null : String(value);
      }
      Object.assign(entry, spec.extra);
      channel.entries.push(entry);
      added.push(entry);
    }
    return added;
  }

  /** The next `times` requests (any path) get `step`; steps queue in order. */
  script(step: FakeStep, times = 1): void {
    for (let i = 0; i < times; i += 1) this.steps.push(step);
  }

  /** Clears scripted steps that were not used. */
  clearScript(): void {
    this.steps.length = 0;
  }

  /** Serves `path` (exact, without query) with `handler`, for generic HTTP JSON sources. */
  route(path: string, handler: RouteHandler): void {
    this.routes.set(path, handler);
  }

  /** Requests received for `path` (all when absent). */
  count(path?: string): number {
    return path === undefined ? this.requests.length : this.requests.filter((r) => r.path === path).length;
  }

  async close(): Promise<void> {
    this.steps.length = 0;
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private channel(id: number): FakeChannel {
    const channel = this.channels.get(id);
    if (!channel) throw new Error(`fake ThingSpeak: no channel ${id}`);
    return channel;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', this.url);
    this.requests.push({ path: url.pathname, query: url.searchParams, headers: req.headers, atMs: Date.now() });
    const step = this.steps.shift();
    if (step?.kind === 'hang') return;
    if (step?.kind === 'respond') {
      res.writeHead(step.status, { 'content-type': 'application/json', ...step.headers });
      res.end(step.body ?? '');
      return;
    }
    const answer = (): void => {
      const { status, headers, body } = this.answer(url, req);
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
      res.end(body);
    };
    if (step?.kind === 'delay') {
      const timer = setTimeout(answer, step.ms);
      res.on('close', () => clearTimeout(timer));
    } else {
      answer();
    }
  }

  private answer(url: URL, req: IncomingMessage): { status: number; headers?: Record<string, string>; body: string } {
    const route = this.routes.get(url.pathname);
    if (route) {
      const { status = 200, headers, body } = route(url, req);
      return { status, headers, body: typeof body === 'string' ? body : JSON.stringify(body) };
    }
    const match = /^\/channels\/(\d+)\/feeds\.json$/.exec(url.pathname);
    const channel = match ? this.channels.get(Number(match[1])) : undefined;
    if (!channel) return this.error(404, 'error_resource_not_found', 'Resource not found');
    if (channel.readApiKey !== undefined && url.searchParams.get('api_key') !== channel.readApiKey) {
      return { status: 200, body: '-1' };
    }
    const results = Math.min(
      Number(url.searchParams.get('results') ?? RESULTS_DEFAULT) || RESULTS_DEFAULT,
      RESULTS_MAX,
    );
    const start = parseTime(url.searchParams.get('start'));
    const end = parseTime(url.searchParams.get('end'));
    const inRange = channel.entries.filter((entry) => {
      const at = Date.parse(entry.created_at);
      return (start === null || at >= start) && (end === null || at <= end);
    });
    const last = channel.entries.at(-1);
    const fieldLabels = Object.fromEntries(Object.entries(channel.fields).map(([n, label]) => [`field${n}`, label]));
    return {
      status: 200,
      body: JSON.stringify({
        channel: {
          id: channel.id,
          name: channel.name ?? `Channel ${channel.id}`,
          latitude: '0.0',
          longitude: '0.0',
          ...fieldLabels,
          created_at: channel.createdAt,
          updated_at: last?.created_at ?? channel.createdAt,
          last_entry_id: last?.entry_id ?? null,
        },
        // The newest `results` entries of the range, oldest first, as ThingSpeak answers.
        feeds: inRange.slice(Math.max(0, inRange.length - results)),
      }),
    };
  }

  private error(status: number, code: string, message: string): { status: number; body: string } {
    return { status, body: errorBody(status, code, message) };
  }
}
