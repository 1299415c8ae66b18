/**
 * What a token resolved to (its session or API key row, the caller's role and the workspace's rules), kept for a
 * moment so that every request does not pay a database round trip for it. On a dataset listing that round trip
 * (query building plus SQLite) was about a sixth of the request; see bench/results/README.md, "auth".
 *
 * Correctness rests on invalidation, not on the TTL: every write that can change what a token resolves to
 * (session revocation, membership and role changes, workspace network rules, key revocation) goes through the
 * identity repositories (src/identity/repo.ts), which clear this cache after the write and again after its
 * transaction commits. That is exact only within one process, so the cache is on only when this process is the only
 * API server (no Redis: the embedded default). The TTL bounds what another writer (the CLI, an operator's SQL) could leave stale.
 * Expiry of sessions and keys is checked on every use, cached or not.
 */
export class PrincipalCache<V> {
  private readonly entries = new Map<string, { value: V; until: number }>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 10_000,
  ) {}

  get(key: string, now = Date.now()): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.until > now) return entry.value;
    this.entries.delete(key);
    return undefined;
  }

  set(key: string, value: V, now = Date.now()): void {
    // Oldest first (Map keeps insertion order): bounded memory however many sessions and keys are in use.
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(key, { value, until: now + this.ttlMs });
  }

  clear(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}
