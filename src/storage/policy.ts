import type { RetentionConfig } from '../config.js';
import { BLOB_AREAS, type BlobArea } from '../blobs/types.js';

/**
 * What the storage sweep may delete, as pure functions of a listing, the rows that refer to it and the clock.
 * Ages are in milliseconds; an object is eligible only when it is strictly older than its area's limit, so one
 * modified exactly at the cutoff is kept until the next sweep.
 */

/** What the sweep reports per area: blob areas, and `tmp` (this process's scratch space, per node). */
export type SweepArea = BlobArea | 'tmp';
export const SWEEP_AREAS: readonly SweepArea[] = [...BLOB_AREAS, 'tmp'];

/** Areas whose objects age out, and those (`datasets`, `models`) that are kept until deleted explicitly. */
export const AGED_AREAS = ['uploads', 'exports', 'cache', 'logs'] as const satisfies readonly BlobArea[];
export type AgedArea = (typeof AGED_AREAS)[number];

/** The retention of an area in ms; null = never deleted by age. */
export function maxAgeMs(
  area: SweepArea,
  r: Pick<RetentionConfig, 'tmpMs' | 'uploadsMs' | 'exportsMs' | 'cacheMs' | 'logsMs'>,
): number | null {
  switch (area) {
    case 'tmp':
      return r.tmpMs;
    case 'uploads':
      return r.uploadsMs;
    case 'exports':
      return r.exportsMs;
    case 'cache':
      return r.cacheMs;
    case 'logs':
      return r.logsMs;
    case 'datasets':
    case 'models':
      return null;
  }
}

/** True when something last modified at `modifiedAt` is past a retention of `maxAge` ms at `now` (strictly older). */
export function isPastRetention(modifiedAt: Date, now: Date, maxAge: number | null): boolean {
  return maxAge !== null && now.getTime() - modifiedAt.getTime() > maxAge;
}

/** `<area>/<workspaceId>/…` → its parts; null for a key outside the known layout. */
export function parseKey(key: string): { area: BlobArea; workspaceId: string; rest: string[] } | null {
  const [area, workspaceId, ...rest] = key.split('/');
  if (
    area === undefined ||
    workspaceId === undefined ||
    workspaceId === '' ||
    !(BLOB_AREAS as readonly string[]).includes(area)
  )
    return null;
  return { area: area as BlobArea, workspaceId, rest };
}

/**
 * The upload an `uploads/` key belongs to: `uploads/<ws>/up_…` (an accepted multipart upload waiting for its
 * ingest) and `uploads/<ws>/<id>/…` (the bytes of a resumable upload) both name it in their third segment.
 */
export function uploadIdOf(key: string): string | null {
  const parsed = parseKey(key);
  return parsed?.area === 'uploads' ? (parsed.rest[0] ?? null) : null;
}

/** What an `uploads` row tells the sweep (a subset of the row, normalized). */
export interface UploadRef {
  id: string;
  status: string;
  expiresAt: string | null;
  /** Partial uploads a final (tus concatenation) upload names. */
  parts: string[];
}

/**
 * Does this upload row keep its bytes (and those of the parts it names) from the age rule? `ingesting`: its job
 * reads them. `uploading`: always; the ones past their expiry are the expiry rule's, whose conditional update must
 * never race a deletion by age. `complete` (a finished partial waiting for its final upload): until it expires.
 * Any other status (done, rejected, failed, expired) keeps nothing.
 */
export function uploadKeepsBytes(u: UploadRef, now: Date): boolean {
  if (u.status === 'ingesting' || u.status === 'uploading') return true;
  if (u.status === 'complete') return u.expiresAt === null || Date.parse(u.expiresAt) >= now.getTime();
  return false;
}

/** Upload ids whose bytes stay, from the rows of live uploads. */
export function protectedUploadIds(rows: Iterable<UploadRef>, now: Date): Set<string> {
  const ids = new Set<string>();
  for (const u of rows) {
    if (!uploadKeepsBytes(u, now)) continue;
    ids.add(u.id);
    for (const p of u.parts) ids.add(p);
  }
  return ids;
}

/**
 * Blob keys that existing job rows name as artifacts (JobDefinition.artifacts). Such objects are the job-artifact
 * rule's: they go when their job has been finished for WEIR_RETENTION_JOB_ARTIFACTS, never by age while the job is
 * queued, running, or recently finished (a failed ingest keeps its upload for a retry).
 */
export class ArtifactRefs {
  private readonly keys = new Set<string>();
  private readonly prefixes: string[] = [];
  private readonly uploadIds = new Set<string>();

  add(key: string): void {
    if (key.endsWith('/')) this.prefixes.push(key);
    else this.keys.add(key);
    const upload = uploadIdOf(key);
    if (upload !== null) this.uploadIds.add(upload);
  }

  /** The key itself, a prefix naming it, or (under `uploads/`) any object of the same upload. */
  covers(key: string): boolean {
    if (this.keys.has(key) || this.prefixes.some((p) => key.startsWith(p))) return true;
    const upload = uploadIdOf(key);
    return upload !== null && this.uploadIds.has(upload);
  }
}

/** What decides whether one listed object of an aged area goes. */
export interface AgeContext {
  now: Date;
  retention: Pick<RetentionConfig, 'tmpMs' | 'uploadsMs' | 'exportsMs' | 'cacheMs' | 'logsMs'>;
  artifacts: ArtifactRefs;
  /** For `uploads/`: ids of uploads whose rows keep their bytes (protectedUploadIds). */
  liveUploads: ReadonlySet<string>;
}

export type AgeDecision = 'delete' | 'young' | 'kept-area' | 'job-artifact' | 'live-upload';

/** The age rule for one object (`uploads/`, `exports/`, `cache/`, `logs/`; `datasets/` and `models/` are kept). */
export function ageDecision(entry: { key: string; modifiedAt: Date }, c: AgeContext): AgeDecision {
  const parsed = parseKey(entry.key);
  const limit = parsed ? maxAgeMs(parsed.area, c.retention) : null;
  if (limit === null) return 'kept-area';
  if (!isPastRetention(entry.modifiedAt, c.now, limit)) return 'young';
  if (c.artifacts.covers(entry.key)) return 'job-artifact';
  if (parsed!.area === 'uploads') {
    const upload = uploadIdOf(entry.key);
    if (upload !== null && c.liveUploads.has(upload)) return 'live-upload';
  }
  return 'delete';
}

/** The versions keep-last-N removes: all but the `keep` newest (by number), never the dataset's latest. */
export function versionsToPrune<V extends { id: string; number: number }>(
  versions: readonly V[],
  keep: number,
  latestVersionId: string | null,
): V[] {
  if (!Number.isInteger(keep) || keep < 1) return [];
  return [...versions]
    .sort((a, b) => b.number - a.number)
    .slice(keep)
    .filter((v) => v.id !== latestVersionId);
}

/**
 * The job-artifact window of a sweep: jobs finished in [since, until) have their artifacts deleted, where `until`
 * is now minus the retention and `since` the previous successful sweep's `until` (null: from the beginning).
 * Null when there is nothing new to handle (a clock that stepped back, or two sweeps within one instant).
 */
export function artifactWindow(
  previousUntil: string | null,
  now: Date,
  jobArtifactsMs: number,
): { since: string | null; until: string } | null {
  const until = new Date(now.getTime() - jobArtifactsMs).toISOString();
  if (previousUntil !== null && Date.parse(previousUntil) >= Date.parse(until)) return null;
  return { since: previousUntil, until };
}
