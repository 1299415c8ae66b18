import { Type } from 'typebox';
import { versionSummaryPrefix, type BlobEntry, type BlobStore } from '../blobs/types.js';
import type { RetentionConfig } from '../config.js';
import { requireJobPermission, type JobGrants } from '../identity/job-grants.js';
import type { VersionRetention } from '../datasets/repo.js';
import type { JobRegistry } from '../jobs/registry.js';
import type { JobService } from '../jobs/service.js';
import type { JobDefinition } from '../jobs/types.js';
import type { Log } from '../logger.js';
import {
  AGED_AREAS,
  ArtifactRefs,
  SWEEP_AREAS,
  ageDecision,
  artifactWindow,
  isPastRetention,
  maxAgeMs,
  protectedUploadIds,
  uploadIdOf,
  versionsToPrune,
  type AgedArea,
  type SweepArea,
  type UploadRef,
} from './policy.js';
import { ORPHAN_GRACE_MS, type BlobOwners, type ReferencedKeys } from './owners.js';
import type { StorageRepo } from './repo.js';
import { sweepScratchRoot } from './scratch.js';
import type { UploadRetention } from '../uploads/repo.js';

export const STORAGE_SWEEP_KIND = 'storage.sweep';

export interface StorageSweepPayload {
  v: 1;
  dryRun: boolean;
  /** The cron fire time (ISO 8601 UTC) of a scheduled sweep; absent for one an administrator started. */
  scheduledFor?: string;
}

export interface Totals {
  objects: number;
  bytes: number;
}

/** What a sweep deleted (or, with dryRun, would have). `areas` counts everything; the rest break it down by rule. */
export interface SweepResult {
  dryRun: boolean;
  scheduledFor: string | null;
  startedAt: string;
  finishedAt: string;
  areas: Record<SweepArea, Totals>;
  total: Totals;
  /** Unfinished resumable uploads past their expiry: rows marked `expired`, their bytes deleted. */
  expiredUploads: Totals & { uploads: number };
  /** Versions beyond their dataset's keep-last-N. */
  prunedVersions: Totals & { versions: number; datasets: number };
  /** Artifacts of jobs that finished in [since, until). */
  jobArtifacts: Totals & { jobs: number; since: string | null; until: string | null };
  /** Objects of kept areas (models) that nothing refers to, older than a day (src/storage/owners.ts). */
  orphans: Totals;
}

/** Objects handled per batch: the signal is checked between batches. */
const BATCH = 500;
/** Deletions in flight at once (S3 round trips; local unlinks). */
const PARALLEL = 8;
/** Sweep records are kept this long. */
const RECORD_RETENTION_MS = 30 * 86_400_000;

export interface SweeperDeps {
  /** The sweep's own records. */
  repo: StorageRepo;
  /** Expired and live uploads (the uploads domain's rows). */
  uploads: UploadRetention;
  /** Keep-last-N over dataset versions (the datasets domain's rows). */
  versions: VersionRetention;
  /** The process's jobs: which jobs' artifacts are kept, which are due. */
  jobs: Pick<JobService, 'ofKinds' | 'finishedBetween'>;
  blobs: BlobStore;
  /** The process's job registry, read when a sweep runs (for each kind's artifacts), once every domain registered. */
  registry: JobRegistry;
  /** Who tells the orphans of each kept area, read when a sweep runs, once every domain claimed its own. */
  owners: BlobOwners;
  retention: RetentionConfig;
  /** Where every process of this node keeps its scratch directory (src/blobs/scratch.ts). */
  scratchRoot: string;
  log: Log;
  now?: () => Date;
}

export interface SweepRun {
  dryRun: boolean;
  scheduledFor?: string | null;
  signal: AbortSignal;
  progress?: (percent: number, message: string, data?: unknown) => void;
}

const zero = (): Totals => ({ objects: 0, bytes: 0 });

async function inParallel<T>(items: T[], fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL, items.length) }, worker));
}

/**
 * One storage sweep over the whole store: expired uploads, finished jobs' artifacts, dataset versions beyond
 * keep-last-N, then every aged area by age, then this process's scratch space. Each deletion is idempotent and
 * every write to a row is conditional, so two sweeps may run at once; counts are of objects that existed when
 * looked at. A dry run reads exactly as a real one and deletes nothing; what a real sweep would delete in one
 * step and see gone in a later one is counted once in both (`handled`).
 */
export class Sweeper {
  constructor(private readonly d: SweeperDeps) {}

  async run(o: SweepRun): Promise<SweepResult> {
    const now = this.d.now?.() ?? new Date();
    const r: SweepResult = {
      dryRun: o.dryRun,
      scheduledFor: o.scheduledFor ?? null,
      startedAt: now.toISOString(),
      finishedAt: now.toISOString(),
      areas: Object.fromEntries(SWEEP_AREAS.map((a) => [a, zero()])) as Record<SweepArea, Totals>,
      total: zero(),
      expiredUploads: { ...zero(), uploads: 0 },
      prunedVersions: { ...zero(), versions: 0, datasets: 0 },
      jobArtifacts: { ...zero(), jobs: 0, since: null, until: null },
      orphans: zero(),
    };
    const handledKeys = new Set<string>();
    const handledUploads = new Set<string>();
    const owned = this.d.owners.all();
    const steps = 3 + owned.length + AGED_AREAS.length + 1;
    let step = 0;
    const progress = (message: string) =>
      o.progress?.(Math.round((step++ / steps) * 100), message, { step, steps, areas: r.areas });
    /** One object of blob key `key` deleted (or that would be): into its rule's totals, its area's and the sum. */
    const count = (key: string, bytes: number, into: Totals) => {
      const area = key.split('/')[0] as SweepArea;
      into.objects++;
      into.bytes += bytes;
      const a = r.areas[area] ?? (r.areas[area] = zero());
      a.objects++;
      a.bytes += bytes;
      r.total.objects++;
      r.total.bytes += bytes;
    };

    progress('expired uploads');
    await this.expiredUploads(
      o,
      now,
      handledUploads,
      (key, bytes) => count(key, bytes, r.expiredUploads),
      () => r.expiredUploads.uploads++,
    );

    progress('job artifacts');
    const watermark = await this.d.repo.artifactWatermark();
    const window = artifactWindow(watermark?.until ?? null, now, this.d.retention.jobArtifactsMs);
    r.jobArtifacts.since = window?.since ?? null;
    r.jobArtifacts.until = window?.until ?? watermark?.until ?? null;
    if (window)
      await this.jobArtifacts(
        o,
        window,
        handledKeys,
        (key, bytes) => count(key, bytes, r.jobArtifacts),
        () => r.jobArtifacts.jobs++,
      );

    progress('dataset versions');
    await this.pruneVersions(
      o,
      (key, bytes) => count(key, bytes, r.prunedVersions),
      (versions) => {
        r.prunedVersions.versions += versions;
        r.prunedVersions.datasets++;
      },
    );

    for (const [area, referenced] of owned) {
      progress(`orphaned ${area}`);
      await this.orphans(o, area, referenced, now, (key, bytes) => count(key, bytes, r.orphans));
    }

    const refs = new LazyRefs(this.d, now);
    for (const area of AGED_AREAS) {
      progress(area);
      await this.byAge(o, area, now, refs, handledKeys, handledUploads, (key, bytes) => count(key, bytes, zero()));
    }

    progress('tmp');
    const tmp = await sweepScratchRoot(this.d.scratchRoot, this.d.retention.tmpMs, now, o.dryRun);
    r.areas.tmp = tmp;
    r.total.objects += tmp.objects;
    r.total.bytes += tmp.bytes;

    if (!o.dryRun)
      await this.d.repo.pruneRecords(
        new Date(now.getTime() - RECORD_RETENTION_MS).toISOString(),
        watermark?.sweepId ?? null,
      );
    r.finishedAt = new Date().toISOString();
    o.progress?.(100, 'done', { step: steps, steps, areas: r.areas });
    return r;
  }

  /** Every object under a prefix, for counting what deleting the prefix removes. */
  private async listAll(prefix: string): Promise<BlobEntry[]> {
    const out: BlobEntry[] = [];
    for await (const e of this.d.blobs.list(prefix)) out.push(e);
    return out;
  }

  private async expiredUploads(
    o: SweepRun,
    now: Date,
    handled: Set<string>,
    count: (key: string, bytes: number) => void,
    counted: () => void,
  ): Promise<void> {
    const nowIso = now.toISOString();
    let after = '';
    for (;;) {
      o.signal.throwIfAborted();
      const batch = await this.d.uploads.expiredUploads(nowIso, after, BATCH);
      for (const u of batch) {
        after = u.id;
        // Either way its bytes are this rule's: if the update lost to a PATCH that extended the upload, it is live.
        handled.add(u.id);
        const prefix = `uploads/${u.workspaceId}/${u.id}/`;
        let objects: BlobEntry[];
        try {
          objects = await this.listAll(prefix);
        } catch (err) {
          this.d.log.warn({ err, uploadId: u.id }, 'expired upload: its bytes could not be listed');
          continue;
        }
        if (!o.dryRun) {
          if (!(await this.d.uploads.markExpired(u.id, nowIso))) continue;
          await this.d.blobs.deletePrefix(prefix);
        }
        counted();
        for (const e of objects) count(e.key, e.bytes);
      }
      if (batch.length < BATCH) return;
    }
  }

  private async jobArtifacts(
    o: SweepRun,
    window: { since: string | null; until: string },
    handled: Set<string>,
    count: (key: string, bytes: number) => void,
    counted: () => void,
  ): Promise<void> {
    const registry = this.d.registry;
    const kinds = registry
      .all()
      .filter((k) => k.definition.artifacts)
      .map((k) => k.kind);
    let after = '';
    for (;;) {
      o.signal.throwIfAborted();
      const batch = await this.d.jobs.finishedBetween(kinds, window.since, window.until, after, BATCH);
      const work: { key: string; job: string }[] = [];
      for (const job of batch) {
        after = job.id;
        for (const key of artifactsOf(registry, job, this.d.log))
          if (!handled.has(key)) work.push({ key, job: job.id });
      }
      const jobsWithArtifacts = new Set<string>();
      await inParallel(work, async ({ key, job }) => {
        handled.add(key);
        try {
          const st = await this.d.blobs.stat(key);
          if (st === null) return;
          if (!o.dryRun) await this.d.blobs.delete(key);
          count(key, st.bytes);
          jobsWithArtifacts.add(job);
        } catch (err) {
          this.d.log.warn({ err, jobId: job, key }, 'job artifact could not be deleted');
        }
      });
      for (let i = 0; i < jobsWithArtifacts.size; i++) counted();
      if (batch.length < BATCH) return;
    }
  }

  private async pruneVersions(
    o: SweepRun,
    count: (key: string, bytes: number) => void,
    counted: (versions: number) => void,
  ): Promise<void> {
    let after = '';
    for (;;) {
      o.signal.throwIfAborted();
      const datasets = await this.d.versions.datasetsKeepingVersions(after, BATCH);
      for (const ds of datasets) {
        after = ds.id;
        const doomed = versionsToPrune(await this.d.versions.versionBlobs(ds.id), ds.keep, ds.latestVersionId);
        if (doomed.length === 0) continue;
        o.signal.throwIfAborted();
        const sizes = new Map<string, number | null>();
        await inParallel(doomed, async (v) => {
          sizes.set(v.id, (await this.d.blobs.stat(v.blobKey))?.bytes ?? null);
        });
        let versions = doomed.length;
        let gone = doomed;
        if (!o.dryRun) {
          // Rows first: a version disappears from the API before its file does. A version another sweep deleted
          // (its blob perhaps not yet) is gone too; one that became the latest meanwhile stays.
          versions = (
            await this.d.versions.deleteVersionsExceptLatest(
              ds.id,
              doomed.map((v) => v.id),
            )
          ).length;
          const still = await this.d.versions.existingVersionIds(doomed.map((v) => v.id));
          gone = doomed.filter((v) => !still.has(v.id));
          // The version's file, then what was derived from it (its time series summaries, src/analytics/summaries.ts).
          await inParallel(gone, async (v) => {
            await this.d.blobs.delete(v.blobKey);
            await this.d.blobs.deletePrefix(versionSummaryPrefix(v.blobKey));
          });
        }
        for (const v of gone) {
          const bytes = sizes.get(v.id);
          if (bytes !== null && bytes !== undefined) count(v.blobKey, bytes);
        }
        if (versions > 0) counted(versions);
        this.d.log.info(
          { datasetId: ds.id, workspaceId: ds.workspaceId, keep: ds.keep, versions, dryRun: o.dryRun },
          'dataset versions beyond keep-last-N pruned',
        );
      }
      if (datasets.length < BATCH) return;
    }
  }

  /** Objects of a kept area older than the grace period that its owner no longer refers to. */
  private async orphans(
    o: SweepRun,
    area: SweepArea,
    referenced: ReferencedKeys,
    now: Date,
    count: (key: string, bytes: number) => void,
  ): Promise<void> {
    await this.deleteOlderThan(
      o,
      area,
      now,
      ORPHAN_GRACE_MS,
      async (batch) => {
        const keep = await referenced(batch.map((e) => e.key));
        return batch.filter((e) => !keep.has(e.key));
      },
      (key, bytes) => {
        count(key, bytes);
        this.d.log.info({ key, bytes, dryRun: o.dryRun }, 'orphaned object deleted');
      },
      'orphaned object could not be deleted',
    );
  }

  private async byAge(
    o: SweepRun,
    area: AgedArea,
    now: Date,
    refs: LazyRefs,
    handledKeys: Set<string>,
    handledUploads: Set<string>,
    count: (key: string, bytes: number) => void,
  ): Promise<void> {
    await this.deleteOlderThan(
      o,
      area,
      now,
      maxAgeMs(area, this.d.retention),
      async (batch) => {
        const { artifacts, liveUploads } = await refs.get();
        return batch.filter((e) => {
          if (handledKeys.has(e.key)) return false;
          const upload = area === 'uploads' ? uploadIdOf(e.key) : null;
          if (upload !== null && handledUploads.has(upload)) return false;
          return ageDecision(e, { now, retention: this.d.retention, artifacts, liveUploads }) === 'delete';
        });
      },
      count,
      'object past retention could not be deleted',
    );
  }

  /**
   * Lists `area`, gathers its objects older than `maxAge` into batches and deletes (in a dry run, only counts)
   * those `doomed` picks from each batch. Only old objects reach `doomed`, so the reference sets it may load are
   * loaded by few sweeps of a tidy store. A delete that fails is logged; the next sweep tries again.
   */
  private async deleteOlderThan(
    o: SweepRun,
    area: SweepArea,
    now: Date,
    maxAge: number | null,
    doomed: (batch: BlobEntry[]) => Promise<BlobEntry[]>,
    count: (key: string, bytes: number) => void,
    failure: string,
  ): Promise<void> {
    let batch: BlobEntry[] = [];
    const flush = async () => {
      o.signal.throwIfAborted();
      if (batch.length === 0) return;
      const chosen = await doomed(batch);
      batch = [];
      await inParallel(chosen, async (e) => {
        try {
          if (!o.dryRun) await this.d.blobs.delete(e.key);
          count(e.key, e.bytes);
        } catch (err) {
          this.d.log.warn({ err, key: e.key }, failure);
        }
      });
    };
    for await (const e of this.d.blobs.list(`${area}/`)) {
      if (!isPastRetention(e.modifiedAt, now, maxAge)) continue;
      batch.push(e);
      if (batch.length >= BATCH) await flush();
    }
    await flush();
  }
}

function artifactsOf(registry: JobRegistry, job: { id: string; kind: string; payload: unknown }, log: Log): string[] {
  try {
    return registry.get(job.kind)?.definition.artifacts?.(job.payload) ?? [];
  } catch (err) {
    log.warn({ err, jobId: job.id, kind: job.kind }, 'artifacts of a job could not be read from its payload');
    return [];
  }
}

/** The reference sets of the age rule, loaded once per sweep and only when an object past retention needs them. */
class LazyRefs {
  private loaded: Promise<{ artifacts: ArtifactRefs; liveUploads: Set<string> }> | null = null;

  constructor(
    private readonly d: SweeperDeps,
    private readonly now: Date,
  ) {}

  get() {
    return (this.loaded ??= this.load());
  }

  private async load() {
    const registry = this.d.registry;
    const kinds = registry
      .all()
      .filter((k) => k.definition.artifacts)
      .map((k) => k.kind);
    const artifacts = new ArtifactRefs();
    for (let after = ''; ;) {
      const jobs = await this.d.jobs.ofKinds(kinds, after, 1000);
      for (const job of jobs) {
        after = job.id;
        for (const key of artifactsOf(registry, job, this.d.log)) artifacts.add(key);
      }
      if (jobs.length < 1000) break;
    }
    const rows: UploadRef[] = [];
    for (let after = ''; ;) {
      const page = await this.d.uploads.unfinishedUploads(after, 1000);
      rows.push(...page);
      if (page.length < 1000) break;
      after = page[page.length - 1]!.id;
    }
    return { artifacts, liveUploads: protectedUploadIds(rows, this.now) };
  }
}

/** The `storage.sweep` job: one Sweeper run, recorded in `storage_sweeps`. Runs in the system workspace. */
export function storageSweepJob(
  deps: SweeperDeps & { onFinished?: () => void; grants: JobGrants },
): JobDefinition<StorageSweepPayload, SweepResult> {
  const sweeper = new Sweeper(deps);
  return {
    kind: STORAGE_SWEEP_KIND,
    payload: Type.Object(
      {
        v: Type.Literal(1),
        dryRun: Type.Boolean(),
        scheduledFor: Type.Optional(Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}\\.\\d{3}Z$' })),
      },
      { additionalProperties: false },
    ),
    concurrency: 1,
    maxAttempts: 3,
    timeoutMs: 2 * 60 * 60_000,
    backoffMs: 30_000,
    async handler(p, ctx) {
      // It deletes for good: one an administrator started runs only while they still are one (scheduled ones act for nobody).
      if (!p.dryRun)
        requireJobPermission(await deps.grants.of(ctx.workspaceId, ctx.createdBy), 'system:admin', 'A storage sweep');
      const recordId = await deps.repo.startRun(ctx.jobId, p.scheduledFor ?? null, p.dryRun);
      try {
        const result = await sweeper.run({
          dryRun: p.dryRun,
          scheduledFor: p.scheduledFor ?? null,
          signal: ctx.signal,
          progress: (pc, m, d) => ctx.progress(pc, m, d),
        });
        await deps.repo.finishRun(recordId, 'succeeded', result);
        ctx.log.info(
          {
            dryRun: p.dryRun,
            objects: result.total.objects,
            bytes: result.total.bytes,
            expiredUploads: result.expiredUploads.uploads,
            prunedVersions: result.prunedVersions.versions,
            jobArtifacts: result.jobArtifacts.jobs,
            orphans: result.orphans.objects,
          },
          'storage sweep finished',
        );
        return result;
      } catch (e) {
        const status = ctx.signal.aborted ? 'cancelled' : 'failed';
        await deps.repo
          .finishRun(recordId, status, {
            error:
              status === 'cancelled'
                ? 'The sweep was stopped'
                : 'The sweep failed; the server log has the details under its job id',
          })
          .catch((err: unknown) => ctx.log.warn({ err }, 'storage sweep record not updated'));
        throw e;
      } finally {
        deps.onFinished?.();
      }
    },
  };
}
