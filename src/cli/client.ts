import type { Problem } from './api-types.js';

/** The server answered with an error status; `problem` is its RFC 9457 document (or one made up for a non-problem body). */
export class ApiError extends Error {
  constructor(readonly problem: Problem) {
    super(problem.detail);
    this.name = 'ApiError';
  }
}

/** A 401 on an authenticated client: `hint` tells the user what to do (log in, fix WEIR_TOKEN). */
export class AuthRequiredError extends ApiError {
  constructor(
    problem: Problem,
    readonly hint: string,
  ) {
    super(problem);
    this.name = 'AuthRequiredError';
  }
}

/** Where the client's credentials come from (src/cli/credentials.ts: WEIR_TOKEN or the stored session). */
export interface TokenSource {
  /** The Authorization header for the next request; undefined = send none. */
  authorization(): Promise<string | undefined>;
  /** After a 401 to `rejected` (the header that was sent): true when a retry may succeed (fresh token obtained). */
  renew(rejected: string): Promise<boolean>;
  /** The line to show when the server still refuses; `detail` is the server's reason. */
  rejected(detail: string): string;
}

export interface ClientOptions {
  /** Sent as `x-weir-workspace`: the workspace requests act in (default: the caller's default workspace). */
  workspace?: string;
}

/** Bodies fetch can send twice: everything except streams and async iterables. */
function isReplayable(body: RequestInit['body']): boolean {
  return (
    body === undefined ||
    body === null ||
    typeof body === 'string' ||
    body instanceof Uint8Array ||
    body instanceof ArrayBuffer ||
    body instanceof URLSearchParams ||
    body instanceof Blob ||
    body instanceof FormData
  );
}

/** No HTTP exchange happened: connection refused, unknown host, reset, TLS failure… */
export class UnreachableError extends Error {
  constructor(
    readonly baseUrl: string,
    readonly reason: string,
    readonly refused: boolean,
  ) {
    super(
      refused
        ? `cannot reach Weir at ${baseUrl} (is the server running? set --url or WEIR_URL)`
        : `request to ${baseUrl} failed: ${reason}`,
    );
    this.name = 'UnreachableError';
  }
}

export type Query = Record<string, string | number | undefined>;

/** Network error codes that mean "nothing is listening there" rather than "the exchange broke". */
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/** fetch() wraps the socket error as `TypeError('fetch failed', { cause })`; dig out the code and message. */
function networkCause(e: unknown): { code: string | undefined; message: string } {
  let cur: unknown = e;
  for (let depth = 0; depth < 5 && cur instanceof Error; depth++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === 'string') return { code, message: cur.message };
    const inner = cur instanceof AggregateError ? cur.errors[0] : undefined;
    cur = cur.cause ?? inner;
  }
  return { code: undefined, message: cur instanceof Error ? cur.message : e instanceof Error ? e.message : String(e) };
}

function isProblem(v: unknown): v is Problem {
  if (typeof v !== 'object' || v === null) return false;
  const p = v as Record<string, unknown>;
  return typeof p.detail === 'string' && typeof p.status === 'number';
}

/**
 * A tiny typed client over fetch: JSON in and out, problem documents become ApiError, network failures
 * UnreachableError. With a TokenSource every request carries its Authorization header, and a 401 is retried once
 * with a renewed token when the body can be sent again.
 */
export class WeirClient {
  constructor(
    readonly baseUrl: string,
    readonly tokens?: TokenSource,
    private readonly options: ClientOptions = {},
  ) {}

  url(path: string, query: Query = {}): URL {
    const u = new URL(`${this.baseUrl}${path}`);
    for (const [k, v] of Object.entries(query)) if (v !== undefined) u.searchParams.set(k, String(v));
    return u;
  }

  /** Any request; resolves only for 2xx answers. */
  async request(
    method: string,
    path: string,
    init: { query?: Query; headers?: Record<string, string>; body?: RequestInit['body'] } = {},
  ): Promise<Response> {
    const authorization = await this.tokens?.authorization();
    const response = await this.send(method, path, init, authorization);
    if (response.status !== 401 || !this.tokens) {
      if (!response.ok) throw new ApiError(await problemOf(response));
      return response;
    }
    const problem = await problemOf(response);
    if (authorization === undefined || !(await this.tokens.renew(authorization)))
      throw new AuthRequiredError(problem, this.tokens.rejected(problem.detail));
    // A streamed body (an upload) is spent: renewing the token is all that can be done for it.
    if (!isReplayable(init.body))
      throw new AuthRequiredError(
        problem,
        'the server refused the access token; it has been renewed, so run the command again',
      );
    const retried = await this.send(method, path, init, await this.tokens.authorization());
    if (retried.ok) return retried;
    const again = await problemOf(retried);
    throw retried.status === 401
      ? new AuthRequiredError(again, this.tokens.rejected(again.detail))
      : new ApiError(again);
  }

  private async send(
    method: string,
    path: string,
    init: { query?: Query; headers?: Record<string, string>; body?: RequestInit['body'] },
    authorization: string | undefined,
  ): Promise<Response> {
    const headers: Record<string, string> = { accept: 'application/json, application/problem+json;q=0.9, */*;q=0.1' };
    if (authorization) headers.authorization = authorization;
    if (this.options.workspace) headers['x-weir-workspace'] = this.options.workspace;
    try {
      return await fetch(this.url(path, init.query), {
        method,
        headers: { ...headers, ...init.headers },
        body: init.body,
        // Required by fetch for streamed request bodies: send the whole body, then read the answer.
        ...(init.body ? { duplex: 'half' as const } : {}),
      });
    } catch (e) {
      const { code, message } = networkCause(e);
      throw new UnreachableError(
        this.baseUrl,
        code ? `${message} (${code})` : message,
        code !== undefined && UNREACHABLE_CODES.has(code),
      );
    }
  }

  async getJson<T>(path: string, query?: Query): Promise<T> {
    return readJson<T>(await this.request('GET', path, { query }));
  }

  async postJson<T>(
    path: string,
    init: { query?: Query; headers?: Record<string, string>; body: RequestInit['body'] },
  ): Promise<T> {
    return readJson<T>(await this.request('POST', path, init));
  }

  async putJson<T>(path: string, init: { headers?: Record<string, string>; body: RequestInit['body'] }): Promise<T> {
    return readJson<T>(await this.request('PUT', path, init));
  }

  async deleteJson<T>(path: string): Promise<T> {
    return readJson<T>(await this.request('DELETE', path));
  }

  async delete(path: string): Promise<void> {
    const response = await this.request('DELETE', path);
    await response.body?.cancel();
  }
}

async function readJson<T>(response: Response): Promise<T> {
  const text = await response.text();
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new Error(`the server answered ${response.status} with a body that is not JSON`);
  }
}

/** The problem document of an error response; a proxy's HTML page or an empty body still yields a usable Problem. */
async function problemOf(response: Response): Promise<Problem> {
  const text = await response.text().catch(() => '');
  try {
    const parsed: unknown = JSON.parse(text);
    if (isProblem(parsed)) return { ...parsed, errors: Array.isArray(parsed.errors) ? parsed.errors : [] };
  } catch {
    // Not JSON: fall through to a synthetic problem.
  }
  return {
    type: 'about:blank',
    title: response.statusText || `HTTP ${response.status}`,
    status: response.status,
    detail: `the server answered ${response.status} ${response.statusText}`.trim(),
    code: 'http_error',
    errors: [],
    requestId: response.headers.get('x-request-id') ?? '',
  };
}
