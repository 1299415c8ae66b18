import type { SourceResponse } from './sources/types.js';

interface CachedResponse {
  response: SourceResponse;
  storedAtMs: number;
}

/** Successful responses by connector and URL, bounded; one per process is shared by every guard. */
export class SourceResponseCache {
  private readonly entries = new Map<string, CachedResponse>();

  constructor(readonly maxEntries = 1000) {}

  get size(): number {
    return this.entries.size;
  }

  get(key: string, maxAgeMs: number, nowMs: number): SourceResponse | null {
    const entry = this.entries.get(key);
    if (!entry) return null;
    this.entries.delete(key);
    if (nowMs - entry.storedAtMs >= maxAgeMs) return null;
    // Re-inserted so Map order is least recently used first.
    this.entries.set(key, entry);
    return entry.response;
  }

  set(key: string, response: SourceResponse, nowMs: number): void {
    this.entries.delete(key);
    this.entries.set(key, { response, storedAtMs: nowMs });
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
    }
  }

  /** Drops a connector's entries (its configuration changed, or it was deleted). */
  forget(connectorId: string): void {
    for (const key of this.entries.keys()) if (key.startsWith(`${connectorId}\n`)) this.entries.delete(key);
  }
}
