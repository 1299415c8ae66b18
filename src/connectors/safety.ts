import {
  BrokenCircuitError,
  CircuitBreakerPolicy,
  CircuitState,
  ConsecutiveBreaker,
  ExponentialBackoff,
  circuitBreaker,
  handleWhen,
  retry,
  type RetryPolicy,
} from 'cockatiel';
import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { systemClock, type Clock } from '../clock.js';
import type { Log } from '../logger.js';
import { Outbound, RefusedDestination, type NetworkPolicy, type OutboundResponse } from './outbound.js';
import { SourceResponseCache } from './response-cache.js';
import { redactText, redactUrl, requestSecrets, SourceError } from './source-error.js';
import type { GuardedFetch, SourceRequest, SourceResponse } from './sources/types.js';

/**
 * The safety layer between every polling source and the outside: one SourceGuard per connector rate-limits,
 * caches, times out, retries and breaks the source's HTTP requests, so a misbehaving source costs a bounded number
 * of requests and a connector that is misconfigured fails with a message that says so and never leaks its key.
 *
 * Order inside one `fetch`: cache → (per attempt: Retry-After block → breaker fast-fail → rate-limit token →
 * breaker-guarded request) with retries around the attempt. The breaker therefore counts requests that reached
 * the source (each retry is one), and a request refused locally (breaker open, out of tokens) costs no token.
 */

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface SourceLimiterOptions {
  /** Cluster mode: every node draws from the same budget in Redis. Null: this process only. */
  redis: Redis | null;
  /** Unique per connector kind and cluster, e.g. `weir:connectors:rl`; the guard's key is its connector id. */
  keyPrefix: string;
  requestsPerMinute: number;
}

/**
 * A per-connector request budget of `requestsPerMinute`. rate-limiter-flexible counts fixed one-minute windows
 * (it has no token bucket): a burst of the whole budget is allowed at the start of each window, never more per
 * window, across every node sharing the Redis key.
 */
export function createSourceLimiter(options: SourceLimiterOptions): RateLimiterAbstract {
  const base = { keyPrefix: options.keyPrefix, points: options.requestsPerMinute, duration: 60 };
  if (options.redis === null) return new RateLimiterMemory(base);
  return new RateLimiterRedis({
    ...base,
    storeClient: options.redis,
    // While Redis is away each node limits on its own rather than stopping every connector.
    rejectIfRedisNotReady: true,
    insuranceLimiter: new RateLimiterMemory(base),
  });
}

export interface SourceGuardOptions {
  connectorId: string;
  /** Where the source may be: private networks are refused at every connection unless allowed (outbound.ts). */
  network: NetworkPolicy;
  /** From createSourceLimiter; null: no rate limit. */
  limiter: RateLimiterAbstract | null;
  /** Out of tokens, wait for the next one when it comes within this long, else fail 'rate_limited'. Default 5 s. */
  maxRateLimitWaitMs?: number;
  /** Per request attempt, headers and body together. Default 10 s. */
  timeoutMs?: number;
  /** Default 8 MiB. */
  maxBodyBytes?: number;
  /** Retries after a network error, a timeout or a 5xx. Default 2. */
  retries?: number;
  /** First retry delay (ms); later ones grow exponentially with decorrelated jitter up to retryMaxDelayMs. */
  retryInitialDelayMs?: number;
  retryMaxDelayMs?: number;
  /** Consecutive failed requests that open the breaker. Default 5. */
  breakerThreshold?: number;
  /** How long the breaker stays open before one trial request (half-open). Default 30 s. */
  halfOpenAfterMs?: number;
  /** Response cache lifetime for `cacheable` requests; 0 turns the cache off. Default 5 min. */
  cacheTtlMs?: number;
  /** The process's shared cache; a private one of 1000 entries when absent. */
  cache?: SourceResponseCache;
  /** Values never to appear in messages or logs (the connector's decrypted credentials). */
  secrets?: readonly string[];
  /** For Retry-After and cache ages. The breaker's own timing is cockatiel's (wall clock). */
  clock?: Clock;
  log?: Log;
  onStateChange?: (state: BreakerState, previous: BreakerState) => void;
}

const DEFAULTS = {
  maxRateLimitWaitMs: 5_000,
  timeoutMs: 10_000,
  maxBodyBytes: 8 * 1024 * 1024,
  retries: 2,
  retryInitialDelayMs: 500,
  retryMaxDelayMs: 10_000,
  breakerThreshold: 5,
  halfOpenAfterMs: 30_000,
  cacheTtlMs: 5 * 60_000,
};

/** A 429 without Retry-After: back off for one rate-limit window. */
const DEFAULT_RETRY_AFTER_MS = 60_000;
/** A mistaken or hostile Retry-After must not silence a connector for longer than a day. */
const MAX_RETRY_AFTER_MS = 24 * 60 * 60_000;
const ERROR_BODY_CHARS = 2048;

function isRetryable(error: unknown): boolean {
  if (!(error instanceof SourceError)) return false;
  return error.kind === 'network' || error.kind === 'timeout' || (error.kind === 'http' && (error.status ?? 0) >= 500);
}

function breakerStateOf(state: CircuitState): BreakerState {
  if (state === CircuitState.Closed) return 'closed';
  if (state === CircuitState.HalfOpen) return 'half-open';
  return 'open';
}

/** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export class SourceGuard {
  readonly fetch: GuardedFetch;
  private readonly options: Required<
    Omit<SourceGuardOptions, 'cache' | 'log' | 'onStateChange' | 'secrets' | 'clock' | 'limiter' | 'network'>
  >;
  private readonly limiter: RateLimiterAbstract | null;
  private readonly outbound: Outbound;
  private readonly clock: Clock;
  private readonly cache: SourceResponseCache;
  private readonly log: Log | undefined;
  private readonly secrets: readonly string[];
  private readonly breaker: CircuitBreakerPolicy;
  private readonly retry: RetryPolicy;
  private readonly listeners = new Set<(state: BreakerState, previous: BreakerState) => void>();
  private readonly subscriptions: { dispose(): void }[] = [];
  private state: BreakerState = 'closed';
  /** Wall-clock ms (cockatiel's clock) until which the open breaker refuses without a trial request. */
  private openUntilMs = 0;
  /** Clock ms before which the source asked not to be called (Retry-After). */
  private blockedUntilMs = 0;
  private hits = 0;
  private misses = 0;

  constructor(options: SourceGuardOptions) {
    const { cache, log, onStateChange, secrets, clock, limiter, network, ...rest } = options;
    this.options = { ...DEFAULTS, ...rest };
    this.limiter = limiter;
    this.outbound = new Outbound(network);
    this.clock = clock ?? systemClock;
    this.cache = cache ?? new SourceResponseCache();
    this.log = log;
    this.secrets = (secrets ?? []).filter((secret) => secret.length > 0);
    if (onStateChange) this.listeners.add(onStateChange);

    this.breaker = circuitBreaker(handleWhen(isRetryable), {
      halfOpenAfter: this.options.halfOpenAfterMs,
      breaker: new ConsecutiveBreaker(this.options.breakerThreshold),
    });
    this.retry = retry(handleWhen(isRetryable), {
      maxAttempts: this.options.retries,
      backoff: new ExponentialBackoff({
        initialDelay: this.options.retryInitialDelayMs,
        maxDelay: this.options.retryMaxDelayMs,
      }),
    });
    this.subscriptions.push(
      this.breaker.onStateChange((circuit) => this.changeState(breakerStateOf(circuit))),
      this.retry.onRetry((event) =>
        this.log?.warn(
          { connectorId: this.options.connectorId, attempt: event.attempt, delayMs: Math.round(event.delay) },
          'error' in event ? `${this.redact(event.error.message)}; retrying` : 'retrying',
        ),
      ),
    );
    this.fetch = (request, signal) => this.guardedFetch(request, signal);
  }

  breakerState(): BreakerState {
    return this.state;
  }

  /** Calls `listener` on every breaker transition; returns the unsubscribe function. */
  onStateChange(listener: (state: BreakerState, previous: BreakerState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async rateLimitUse(): Promise<{ used: number; limit: number }> {
    if (!this.limiter) return { used: 0, limit: 0 };
    const res = await this.limiter.get(this.options.connectorId);
    return { used: Math.min(res?.consumedPoints ?? 0, this.limiter.points), limit: this.limiter.points };
  }

  cacheStats(): { hits: number; misses: number; hitRate: number } {
    const total = this.hits + this.misses;
    return { hits: this.hits, misses: this.misses, hitRate: total === 0 ? 0 : this.hits / total };
  }

  /** Stops listening to the policies; the guard must not be used afterwards. */
  dispose(): void {
    for (const subscription of this.subscriptions) subscription.dispose();
    this.listeners.clear();
    this.outbound.dispose();
  }

  /** `text` without the connector's secrets, `extra` ones, or secret query parameter values. */
  redact(text: string, extra: readonly string[] = []): string {
    return redactText(text, [...this.secrets, ...extra]);
  }

  private changeState(next: BreakerState): void {
    const previous = this.state;
    if (next === previous) return;
    this.state = next;
    // cockatiel times the open period with Date.now(); mirror it so refusals cost no token.
    if (next === 'open') this.openUntilMs = Date.now() + this.options.halfOpenAfterMs;
    const log = next === 'open' ? this.log?.warn : this.log?.info;
    log?.call(this.log, { connectorId: this.options.connectorId, breaker: next, previous }, `circuit breaker ${next}`);
    for (const listener of this.listeners) listener(next, previous);
  }

  private cacheKey(request: SourceRequest): string {
    const headers = Object.entries(request.headers ?? {}).sort(([a], [b]) => a.localeCompare(b));
    return `${this.options.connectorId}\n${request.url}\n${JSON.stringify(headers)}`;
  }

  private async guardedFetch(request: SourceRequest, signal?: AbortSignal): Promise<SourceResponse> {
    const useCache = request.cacheable === true && this.options.cacheTtlMs > 0;
    const key = useCache ? this.cacheKey(request) : '';
    if (useCache) {
      const cached = this.cache.get(key, this.options.cacheTtlMs, this.clock.nowMs());
      if (cached) {
        this.hits += 1;
        return { ...cached, fromCache: true };
      }
      this.misses += 1;
    }
    try {
      const response = await this.retry.execute(() => this.attempt(request, signal), signal);
      if (useCache) this.cache.set(key, response, this.clock.nowMs());
      return response;
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      if (error instanceof SourceError && !isRetryable(error) && error.kind !== 'http') {
        this.log?.warn({ connectorId: this.options.connectorId, kind: error.kind }, error.message);
      }
      throw error;
    }
  }

  private async attempt(request: SourceRequest, signal?: AbortSignal): Promise<SourceResponse> {
    const id = this.options.connectorId;
    const blockedMs = this.blockedUntilMs - this.clock.nowMs();
    if (blockedMs > 0) {
      throw new SourceError(
        'rate_limited',
        `connector ${id}: the source asked to wait ${Math.ceil(blockedMs / 1000)} s more`,
        {
          retryAfterMs: blockedMs,
        },
      );
    }
    if (this.breaker.state === CircuitState.Open && Date.now() < this.openUntilMs) {
      throw this.breakerOpen();
    }
    await this.takeToken(signal);
    try {
      return await this.breaker.execute(() => this.send(request, signal));
    } catch (error) {
      if (error instanceof BrokenCircuitError) throw this.breakerOpen();
      throw error;
    }
  }

  private breakerOpen(): SourceError {
    const retryAfterMs = Math.max(0, this.openUntilMs - Date.now());
    return new SourceError(
      'breaker_open',
      `connector ${this.options.connectorId}: circuit breaker open after repeated failures; next trial in ${Math.ceil(retryAfterMs / 1000)} s`,
      { retryAfterMs },
    );
  }

  private async takeToken(signal?: AbortSignal): Promise<void> {
    if (!this.limiter) return;
    // Waits are real timers, so they are bounded by real elapsed time, not by the injected clock.
    const deadline = performance.now() + this.options.maxRateLimitWaitMs;
    for (;;) {
      let waitMs: number;
      try {
        await this.limiter.consume(this.options.connectorId);
        return;
      } catch (rejection) {
        if (!(rejection instanceof RateLimiterRes)) {
          // Only a limiter without an insurance limiter gets here (createSourceLimiter always sets one).
          throw new SourceError('network', `connector ${this.options.connectorId}: rate-limit store unavailable`, {
            cause: rejection,
          });
        }
        waitMs = Math.max(1, rejection.msBeforeNext);
      }
      if (performance.now() + waitMs > deadline) {
        throw new SourceError(
          'rate_limited',
          `connector ${this.options.connectorId}: rate limit of ${this.limiter.points} requests per ${this.limiter.duration} s reached`,
          { retryAfterMs: waitMs },
        );
      }
      await delay(waitMs, signal);
    }
  }

  private async send(request: SourceRequest, signal?: AbortSignal): Promise<SourceResponse> {
    const id = this.options.connectorId;
    const secrets = requestSecrets(request);
    const what = this.redact(`connector ${id}: GET ${redactUrl(request.url)}`, secrets);
    const timeout = AbortSignal.timeout(this.options.timeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    const fail = (error: unknown): never => {
      if (signal?.aborted) throw signal.reason;
      if (timeout.aborted) {
        throw new SourceError('timeout', `${what} timed out after ${this.options.timeoutMs} ms`, { cause: error });
      }
      if (error instanceof SourceError) throw error;
      // Asking again cannot help: not retried, and not counted by the breaker.
      if (error instanceof RefusedDestination)
        throw new SourceError('refused_destination', this.redact(`${what} refused: ${error.message}`, secrets));
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      const reason = cause?.code ?? cause?.message ?? (error as Error).message;
      throw new SourceError('network', this.redact(`${what} failed: ${reason}`, secrets), { cause: error });
    };

    let response: OutboundResponse;
    try {
      response = await this.outbound.get(request.url, { headers: request.headers, signal: combined });
    } catch (error) {
      return fail(error);
    }
    const status = response.status;
    const retryAfter = response.headers.get('retry-after');
    if (status === 429 || (status === 503 && retryAfter !== null)) {
      response.body.destroy();
      const retryAfterMs = this.parseRetryAfter(retryAfter);
      this.blockedUntilMs = Math.max(this.blockedUntilMs, this.clock.nowMs() + retryAfterMs);
      throw new SourceError(
        'rate_limited',
        `${what} answered ${status}; retry after ${Math.ceil(retryAfterMs / 1000)} s`,
        {
          status,
          retryAfterMs,
        },
      );
    }
    let body: string;
    try {
      body = await this.readBody(response, what);
    } catch (error) {
      return fail(error);
    }
    if (status < 200 || status > 299) {
      throw new SourceError('http', `${what} answered ${status}`, {
        status,
        body: this.redact(body.slice(0, ERROR_BODY_CHARS), secrets),
      });
    }
    const headers: Record<string, string> = {};
    response.headers.forEach((value, name) => (headers[name] = value));
    return { status, headers, body, fromCache: false };
  }

  /** Seconds or an HTTP date; anything unreadable is treated as absent. */
  private parseRetryAfter(value: string | null): number {
    if (value !== null) {
      const text = value.trim();
      if (/^\d+$/.test(text)) return Math.min(Number(text) * 1000, MAX_RETRY_AFTER_MS);
      const at = Date.parse(text);
      if (Number.isFinite(at)) return Math.min(Math.max(0, at - this.clock.nowMs()), MAX_RETRY_AFTER_MS);
    }
    return DEFAULT_RETRY_AFTER_MS;
  }

  /** The body as UTF-8 text, refused past maxBodyBytes without reading the rest. */
  private async readBody(response: OutboundResponse, what: string): Promise<string> {
    const max = this.options.maxBodyBytes;
    const tooLarge = (): SourceError => new SourceError('too_large', `${what}: response body larger than ${max} bytes`);
    const declared = Number(response.headers.get('content-length'));
    if (Number.isFinite(declared) && declared > max) {
      response.body.destroy();
      throw tooLarge();
    }
    const chunks: Buffer[] = [];
    let total = 0;
    for await (const chunk of response.body as AsyncIterable<Buffer>) {
      total += chunk.byteLength;
      if (total > max) {
        response.body.destroy();
        throw tooLarge();
      }
      chunks.push(chunk);
    }
    return new TextDecoder().decode(Buffer.concat(chunks));
  }
}
