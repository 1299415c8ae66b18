import fs from 'node:fs/promises';
import { BLOB_AREAS, type BlobArea, type BlobStore } from '../blobs/types.js';
import { parseKey } from './policy.js';

export interface UsageTotals {
  objects: number;
  bytes: number;
  /** Modification time of the oldest object (ISO 8601); null when there is none. */
  oldest: string | null;
}

export interface AreaUsage extends UsageTotals {
  area: BlobArea;
  /** Per workspace (the key's second segment), largest first. */
  workspaces: (UsageTotals & { workspaceId: string })[];
}

export interface StoreUsage {
  /** When the walk ran (answers are cached for a short while). */
  walkedAt: string;
  walkMs: number;
  areas: AreaUsage[];
  totals: UsageTotals;
}

const empty = (): UsageTotals => ({ objects: 0, bytes: 0, oldest: null });

function add(t: UsageTotals, bytes: number, modifiedAt: Date): void {
  t.objects++;
  t.bytes += bytes;
  const at = modifiedAt.toISOString();
  if (t.oldest === null || at < t.oldest) t.oldest = at;
}

/** Walks every area of the store once, listing page by page (nothing but the totals is held). */
export async function walkStore(blobs: BlobStore): Promise<StoreUsage> {
  const started = performance.now();
  const totals = empty();
  const areas: AreaUsage[] = [];
  for (const area of BLOB_AREAS) {
    const a: UsageTotals = empty();
    const byWorkspace = new Map<string, UsageTotals>();
    for await (const e of blobs.list(`${area}/`)) {
      const workspaceId = parseKey(e.key)?.workspaceId ?? '(none)';
      let w = byWorkspace.get(workspaceId);
      if (!w) byWorkspace.set(workspaceId, (w = empty()));
      add(w, e.bytes, e.modifiedAt);
      add(a, e.bytes, e.modifiedAt);
      add(totals, e.bytes, e.modifiedAt);
    }
    const workspaces = [...byWorkspace]
      .map(([workspaceId, t]) => ({ workspaceId, ...t }))
      .sort((x, y) => y.bytes - x.bytes || x.workspaceId.localeCompare(y.workspaceId));
    areas.push({ area, ...a, workspaces });
  }
  return { walkedAt: new Date().toISOString(), walkMs: Math.round(performance.now() - started), areas, totals };
}

/** Free and total bytes of the file system holding `dir`. */
export async function diskOf(dir: string): Promise<{ freeBytes: number; totalBytes: number }> {
  const s = await fs.statfs(dir);
  return { freeBytes: s.bavail * s.bsize, totalBytes: s.blocks * s.bsize };
}

/**
 * A walk cached for `ttlMs`: statistics of a large store are expensive, and an admin page polls. Concurrent
 * callers share one walk in progress; a failed walk is not cached.
 */
export class CachedWalk {
  private cached: { at: number; value: Promise<StoreUsage> } | null = null;

  constructor(
    private readonly walk: () => Promise<StoreUsage>,
    private readonly ttlMs: number,
  ) {}

  get(fresh = false): Promise<StoreUsage> {
    const now = Date.now();
    if (!fresh && this.cached && now - this.cached.at < this.ttlMs) return this.cached.value;
    const value = this.walk();
    const entry = { at: now, value };
    this.cached = entry;
    value.catch(() => {
      if (this.cached === entry) this.cached = null;
    });
    return value;
  }

  invalidate(): void {
    this.cached = null;
  }
}
