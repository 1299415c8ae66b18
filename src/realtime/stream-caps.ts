import type { Principal } from '../http/access.js';

export interface StreamCapLimits {
  /** Streams one user may hold through their sessions (JWTs). */
  perUser: number;
  /** Streams one API key may hold; a key's streams do not count against its creator. */
  perKey: number;
}

/** Whose slots a principal uses and how many there are. */
export interface CapHolder {
  key: string;
  limit: number;
  kind: 'user' | 'apiKey';
}

/**
 * Open long-lived streams (WebSocket connections, SSE streams) per user and per API key, counted in this process:
 * with several API nodes one holder may open up to the limit on each. A slot is taken before the stream opens and
 * given back exactly once when it ends, so the count never drifts.
 */
export class StreamCaps {
  private readonly open = new Map<string, number>();

  constructor(private readonly limits: StreamCapLimits) {}

  holder(principal: Pick<Principal, 'kind' | 'userId' | 'apiKeyId'>): CapHolder {
    return principal.kind === 'apiKey' && principal.apiKeyId !== null
      ? { key: `k\n${principal.apiKeyId}`, limit: this.limits.perKey, kind: 'apiKey' }
      : { key: `u\n${principal.userId}`, limit: this.limits.perUser, kind: 'user' };
  }

  /** Takes a slot: answers the function that gives it back (safe to call more than once), or null at the limit. */
  take(principal: Pick<Principal, 'kind' | 'userId' | 'apiKeyId'>): (() => void) | null {
    const { key, limit } = this.holder(principal);
    const count = this.open.get(key) ?? 0;
    if (count >= limit) return null;
    this.open.set(key, count + 1);
    let given = false;
    return () => {
      if (given) return;
      given = true;
      const left = (this.open.get(key) ?? 1) - 1;
      if (left > 0) this.open.set(key, left);
      else this.open.delete(key);
    };
  }

  /** Open streams of the principal's holder. */
  count(principal: Pick<Principal, 'kind' | 'userId' | 'apiKeyId'>): number {
    return this.open.get(this.holder(principal).key) ?? 0;
  }
}
