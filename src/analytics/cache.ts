/**
 * Answers of the chart endpoints, kept by dataset version. A version never changes once written, so an answer
 * computed for it stays right for as long as the version exists; whether it still exists (and the caller may read
 * it) is checked on every request before the cache is asked. A dashboard re-drawing the same charts then costs a
 * metadata lookup instead of a DuckDB pass over millions of rows.
 *
 * Bounded by entries and by the answers' JSON size; least recently used answers go first.
 */
export class AnswerCache {
  private readonly entries = new Map<string, { value: unknown; bytes: number }>();
  private bytes = 0;

  constructor(private readonly limits: { maxEntries: number; maxBytes: number }) {}

  /** `versionId` first: the rest (endpoint and its parameters) is whatever identifies the answer within a version. */
  static key(versionId: string, endpoint: string, request: Record<string, unknown>): string {
    const canonical = Object.keys(request)
      .sort()
      .filter((k) => request[k] !== undefined)
      .map((k) => [k, request[k]]);
    return `${versionId}\u0000${endpoint}\u0000${JSON.stringify(canonical)}`;
  }

  get<T>(key: string): T | undefined {
    const hit = this.entries.get(key);
    if (!hit) return undefined;
    // Re-inserted: a Map iterates in insertion order, so the first key is always the least recently used.
    this.entries.delete(key);
    this.entries.set(key, hit);
    return hit.value as T;
  }

  set(key: string, value: unknown): void {
    const bytes = JSON.stringify(value).length;
    // One answer larger than an eighth of the budget would push out many others: it is not kept.
    if (bytes > this.limits.maxBytes / 8) return;
    const old = this.entries.get(key);
    if (old) {
      this.entries.delete(key);
      this.bytes -= old.bytes;
    }
    this.entries.set(key, { value, bytes });
    this.bytes += bytes;
    for (const [oldest, entry] of this.entries) {
      if (this.entries.size <= this.limits.maxEntries && this.bytes <= this.limits.maxBytes) break;
      this.entries.delete(oldest);
      this.bytes -= entry.bytes;
    }
  }

  get size(): { entries: number; bytes: number } {
    return { entries: this.entries.size, bytes: this.bytes };
  }
}
