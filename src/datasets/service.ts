import type { Log } from '../logger.js';
import type { Readable } from 'node:stream';
import type { Config } from '../config.js';
import type { BlobStore, LocalBlob } from '../blobs/types.js';
import { datasetPrefix, datasetVersionKey } from '../blobs/types.js';
import { fsyncPath, type Scratch } from '../blobs/scratch.js';
import { isUniqueViolation } from '../db/index.js';
import type { Engine } from '../engine/duckdb.js';
import { parquetSource, profileParquet, type DatasetProfile } from '../engine/profile.js';
import { jsonFriendly, literal, type ColumnSchema } from '../engine/sql.js';
import type { LiveHead } from '../live/writer.js';
import type { Transaction } from 'kysely';
import type { Database } from '../db/types.js';
import { AppError, errors } from '../errors.js';
import { newId } from '../ids.js';
import { convertToParquet } from './convert.js';
import type { DatasetEvents } from './events.js';
import { exportVersion, type ExportFormat } from './export.js';
import type { Dataset, DatasetQuery, DatasetSummary, DatasetVersion, StoredVersion } from './model.js';
import type { ReceivedFile } from './receive.js';
import {
  DatasetRepo,
  publicVersion,
  type DatasetInstanceStats,
  type NewVersion,
  type VersionRetention,
} from './repo.js';
import {
  appendForbidden,
  editForbidden,
  firstMissing,
  permissionsToAppend,
  permissionsToEdit,
  type Refused,
} from './version-access.js';
import type { Permission } from '../identity/permissions.js';

/**
 * Shares of an ingest's progress (percent): the conversion up to `converted` (its own 0–100 mapped in: most of an
 * ingest's time is DuckDB's COPY), profiling up to `profiled`, then storing.
 */
const INGEST_PROGRESS = { converted: 70, profiled: 90 } as const;

export interface IngestInput {
  workspaceId: string;
  /** Append a version to this dataset; otherwise a new dataset is created. */
  datasetId?: string;
  name?: string;
  description?: string;
  tags?: string[];
  file: ReceivedFile;
  log: Log;
  onProgress?: (percent: number, message: string) => void;
  /**
   * Ids reserved before the ingest ran (the ingest job answers 202 with the dataset id). They make a retried
   * attempt idempotent: the version it finds under its own id is its own, not a duplicate, and the Parquet blob
   * key is the same on every attempt.
   */
  presetDatasetId?: string;
  presetVersionId?: string;
  /** The received file belongs to the caller (the ingest job keeps its upload until it succeeds). */
  keepSource?: boolean;
  /**
   * Aborts the ingest (a cancelled or timed-out job): DuckDB work is interrupted and the call rejects with the
   * signal's reason. Checked again before the blob is stored and before the version row is written, so an
   * aborted ingest never creates a version.
   */
  signal?: AbortSignal;
}

export interface IngestResult {
  dataset: Dataset;
  version: DatasetVersion;
  /** Set when the same bytes were already stored in the workspace: nothing new was written. */
  duplicateOf: { datasetId: string; versionId: string } | null;
}

export interface Preview {
  columns: { name: string; type: string }[];
  rows: unknown[][];
  total: number;
  versionId: string;
}

/**
 * What the datasets domain asks of live datasets (src/live/): the segments flushed since a live dataset's latest
 * version was compacted, which queries of "the latest" read with it, and which connector feeds a dataset.
 */
export interface LiveDatasets {
  head(datasetId: string): Promise<LiveHead | null>;
  /** The connector that feeds the dataset, or null when it is not a live dataset. */
  feeder(datasetId: string): Promise<{ id: string; name: string } | null>;
  /** Folds every record stored so far into a new immutable version (pipelines and trainings read versions). */
  settle(workspaceId: string, datasetId: string): Promise<void>;
}

/** A version's data on local disk: `source` is the DuckDB relation over it (the file, or it and its live segments). */
export interface VersionFile {
  path: string;
  source: string;
  /** The version is one file (no live segments): what an export of Parquet can hand out as it is. */
  single: boolean;
  release(): Promise<void>;
}

export class DatasetService {
  private live: LiveDatasets | null = null;

  constructor(
    private readonly repo: DatasetRepo,
    private readonly blobs: BlobStore,
    private readonly engine: Engine,
    private readonly scratch: Scratch,
    private readonly config: Pick<Config, 'xlsx' | 'ingest' | 'previewMaxRows'>,
    private readonly events: DatasetEvents | null = null,
  ) {}

  /**
   * Validates and converts a received file into a new immutable version. The received file is always removed;
   * a rejected file leaves nothing behind (no blob, no row).
   */
  async ingest(input: IngestInput): Promise<IngestResult> {
    const { file, workspaceId, log, signal } = input;
    try {
      if (input.datasetId) await this.requireDataset(workspaceId, input.datasetId);
      const existing = await this.repo.findVersionBySha(workspaceId, file.sha256);
      if (existing) return await this.duplicate(existing, input.presetVersionId);

      const onProgress = input.onProgress;
      const converted = await convertToParquet(file, {
        engine: this.engine,
        scratch: this.scratch,
        xlsx: this.config.xlsx,
        limits: this.config.ingest,
        signal,
        onProgress:
          onProgress && ((percent, message) => onProgress((INGEST_PROGRESS.converted * percent) / 100, message)),
      });
      let blobKey: string | null = null;
      try {
        input.onProgress?.(INGEST_PROGRESS.converted, 'profiling');
        // The Parquet file is flushed to disk while DuckDB profiles it, so storing it below costs no wait.
        const [profile] = await Promise.all([
          profileParquet(this.engine, converted.parquetPath, converted.schema, signal),
          fsyncPath(converted.parquetPath),
        ]);
        const datasetId = input.datasetId ?? input.presetDatasetId ?? newId('ds');
        const versionId = input.presetVersionId ?? newId('dv');
        blobKey = datasetVersionKey(workspaceId, datasetId, versionId);
        input.onProgress?.(INGEST_PROGRESS.profiled, 'storing');
        signal?.throwIfAborted();
        const stored = await this.blobs.putFile(blobKey, converted.parquetPath);
        // The last check: once the row exists the version is public. An abort here leaves the blob just stored
        // to the catch below, which deletes it.
        signal?.throwIfAborted();
        await this.repo.insertVersion(
          input.datasetId
            ? null
            : {
                id: datasetId,
                workspaceId,
                name: input.name ?? file.filename,
                description: input.description ?? '',
                tags: input.tags ?? [],
              },
          {
            id: versionId,
            datasetId,
            workspaceId,
            sourceFilename: file.filename,
            sourceFormat: converted.detection.format,
            sourceEncoding: converted.detection.encoding,
            sourceBytes: file.bytes,
            sha256: file.sha256,
            parquetBytes: stored.bytes,
            rowCount: converted.rowCount,
            schema: converted.schema,
            profileJson: JSON.stringify(profile),
            blobKey,
          },
        );
        log.info(
          { datasetId, versionId, format: converted.detection.format, rows: converted.rowCount, bytes: file.bytes },
          'dataset version stored',
        );
        // The version by id: another upload may already have appended a newer one to the same dataset.
        const [dataset, version] = await Promise.all([
          this.get(workspaceId, datasetId),
          this.repo.getVersion(workspaceId, datasetId, versionId),
        ]);
        const created = publicVersion(version!);
        this.events?.versionStored(dataset, created);
        return { dataset, version: created, duplicateOf: null };
      } catch (e) {
        await this.scratch.remove(converted.parquetPath);
        // Two uploads of the same bytes raced: the loser answers like any duplicate. The winner may be an
        // earlier attempt of this very ingest (same reserved version id, same blob key): its blob stays.
        const winner = isUniqueViolation(e) ? await this.repo.findVersionBySha(workspaceId, file.sha256) : null;
        if (blobKey && winner?.blobKey !== blobKey) await this.blobs.delete(blobKey);
        if (winner) return await this.duplicate(winner, input.presetVersionId);
        throw e;
      }
    } finally {
      if (!input.keepSource) await this.scratch.remove(file.path);
    }
  }

  /** Identical bytes are stored already; under the reserved version id that is this ingest's own earlier attempt. */
  private async duplicate(existing: StoredVersion, ownVersionId?: string): Promise<IngestResult> {
    const dataset = await this.get(existing.workspaceId, existing.datasetId);
    const own = ownVersionId !== undefined && existing.id === ownVersionId;
    return {
      dataset,
      version: publicVersion(existing),
      duplicateOf: own ? null : { datasetId: existing.datasetId, versionId: existing.id },
    };
  }

  /** Identical bytes already stored in the workspace, as an ingest would answer them; null when the bytes are new. */
  async findDuplicate(workspaceId: string, sha256: string): Promise<IngestResult | null> {
    const existing = await this.repo.findVersionBySha(workspaceId, sha256);
    return existing ? this.duplicate(existing) : null;
  }

  /** 404 unless the dataset exists in the workspace (checked before a version upload is accepted). */
  async assertExists(workspaceId: string, id: string): Promise<void> {
    await this.requireDataset(workspaceId, id);
  }

  /**
   * 404 unless the dataset exists in the workspace; 403 unless `grants` allow adding a version to it (see
   * version-access.ts). `refused` says whose grants they are: the request's caller, or the creator of a job.
   */
  async assertMayAppend(
    workspaceId: string,
    id: string,
    grants: ReadonlySet<Permission>,
    refused: Refused,
  ): Promise<void> {
    const dataset = await this.requireDataset(workspaceId, id);
    await this.refuseLive(id);
    const missing = firstMissing(grants, permissionsToAppend(dataset));
    if (missing) throw appendForbidden(dataset, missing, refused);
  }

  /** Wired once live datasets exist (they are built after this service, which they store versions through). */
  useLive(live: LiveDatasets): void {
    this.live = live;
  }

  /** A live dataset is written by its connector only: uploads and pipelines cannot add versions to it. */
  private async refuseLive(id: string, pointer?: string): Promise<void> {
    const feeder = await this.live?.feeder(id);
    if (feeder)
      throw new AppError(
        'conflict',
        `Dataset '${id}' is the live dataset of connector '${feeder.name}': only the connector adds to it; store the result as a new dataset`,
        pointer ? [{ pointer, message: 'is a live dataset' }] : [],
        { connectorId: feeder.id },
      );
  }

  /** See LiveDatasets.settle; nothing to do for a dataset that is not live. */
  async settle(workspaceId: string, datasetId: string): Promise<void> {
    if (this.live && (await this.live.feeder(datasetId))) await this.live.settle(workspaceId, datasetId);
  }

  /** The dataset with its latest stored version (the live writer compacts onto it). */
  requireStored(workspaceId: string, id: string) {
    return this.requireDataset(workspaceId, id);
  }

  list(query: DatasetQuery): Promise<{ items: DatasetSummary[]; total: number }> {
    return this.repo.list(query);
  }

  async get(workspaceId: string, id: string): Promise<Dataset> {
    const found = await this.repo.get(workspaceId, id);
    if (!found) throw errors.notFound('Dataset', id);
    const { latest: _latest, ...dataset } = found;
    return dataset;
  }

  private async requireDataset(workspaceId: string, id: string) {
    const found = await this.repo.get(workspaceId, id);
    if (!found) throw errors.notFound('Dataset', id);
    return found;
  }

  async versions(workspaceId: string, id: string): Promise<DatasetVersion[]> {
    await this.requireDataset(workspaceId, id);
    return (await this.repo.listVersions(workspaceId, id)).map(publicVersion);
  }

  /** The requested version (or the latest one) with its dataset, read once. */
  private async version(
    workspaceId: string,
    id: string,
    versionId?: string,
  ): Promise<{ dataset: Dataset; version: StoredVersion }> {
    const dataset = await this.requireDataset(workspaceId, id);
    if (!versionId) {
      // The latest of a live dataset includes the records flushed since its last compaction.
      const head = this.live ? await this.live.head(id) : null;
      if (!head) return { dataset, version: dataset.latest };
      return { dataset, version: { ...dataset.latest, rowCount: dataset.latest.rowCount + head.rows, live: head } };
    }
    const version = await this.repo.getVersion(workspaceId, id, versionId);
    if (!version) throw errors.notFound('Version', versionId);
    return { dataset, version };
  }

  async preview(
    workspaceId: string,
    id: string,
    opts: { limit: number; offset: number; columns?: string[]; versionId?: string },
  ): Promise<Preview> {
    const { version: v } = await this.version(workspaceId, id, opts.versionId);
    if (opts.limit > this.config.previewMaxRows) {
      throw errors.validation(`limit must be at most ${this.config.previewMaxRows} (WEIR_PREVIEW_MAX_ROWS)`, [
        { pointer: '/query/limit', message: `must be at most ${this.config.previewMaxRows}` },
      ]);
    }
    const columns = selectColumns(v.schema, opts.columns);
    // Past the end is an empty page, answered without fetching the file or scanning it to skip every row.
    if (opts.offset >= v.rowCount)
      return {
        columns: columns.map(({ name, type }) => ({ name, type })),
        rows: [],
        total: v.rowCount,
        versionId: v.id,
      };
    const blob = await this.openFile(v);
    try {
      const { rows } = await this.engine.rows(
        `SELECT ${columns.map((c) => jsonFriendly(c)).join(', ')} FROM ${blob.source} LIMIT ${opts.limit} OFFSET ${opts.offset}`,
      );
      return { columns: columns.map(({ name, type }) => ({ name, type })), rows, total: v.rowCount, versionId: v.id };
    } finally {
      await blob.release();
    }
  }

  async profile(workspaceId: string, id: string, versionId?: string): Promise<DatasetProfile & { versionId: string }> {
    const { version: v } = await this.version(workspaceId, id, versionId);
    return { versionId: v.id, ...v.profile };
  }

  /** The version a pipeline reads (the latest when `versionId` is not given); see DatasetRepo.findSource. */
  findSource(workspaceId: string, datasetId: string, versionId?: string) {
    return this.repo.findSource(workspaceId, datasetId, versionId);
  }

  /** Dataset name and version number of each version that still exists. */
  versionLabels(workspaceId: string, versionIds: string[]) {
    return this.repo.versionLabels(workspaceId, versionIds);
  }

  /** The requested version (or the latest) of a dataset in the workspace: 404 when either does not exist. */
  resolveVersion(
    workspaceId: string,
    id: string,
    versionId?: string,
  ): Promise<{ dataset: Dataset; version: StoredVersion }> {
    return this.version(workspaceId, id, versionId);
  }

  /**
   * A version's Parquet file on local disk, for read-only queries (analytics). The caller must call `release()` when
   * done: with S3 the file is a downloaded copy.
   */
  async openFile(version: StoredVersion): Promise<VersionFile> {
    const keys = [version.blobKey, ...(version.live?.segments.map((s) => s.blobKey) ?? [])];
    const files: LocalBlob[] = [];
    const release = async () => void (await Promise.all(files.map((f) => f.release())));
    try {
      for (const key of keys) files.push(await this.blobs.localFile(key));
    } catch (e) {
      await release();
      throw e;
    }
    return {
      path: files[0]!.path,
      source:
        files.length === 1
          ? parquetSource(files[0]!.path)
          : `read_parquet([${files.map((f) => literal(f.path)).join(', ')}], union_by_name = true)`,
      single: files.length === 1,
      release,
    };
  }

  async download(
    workspaceId: string,
    id: string,
    format: ExportFormat,
    versionId?: string,
  ): Promise<{ stream: Readable; filename: string; version: DatasetVersion }> {
    const { dataset, version: v } = await this.version(workspaceId, id, versionId);
    const blob = await this.openFile(v);
    try {
      const stream = await exportVersion(this.engine, this.scratch, blob, v.schema, v.rowCount, format);
      stream.once('close', () => void blob.release());
      return { stream, filename: `${safeFilename(dataset.name)}-v${v.number}.${format}`, version: publicVersion(v) };
    } catch (e) {
      await blob.release();
      throw e;
    }
  }

  /** `grants`: the caller's; a number of versions to keep needs `datasets:delete` (it makes the sweep prune). */
  async update(
    workspaceId: string,
    id: string,
    patch: { name?: string; description?: string; tags?: string[]; keepVersions?: number | null },
    grants: ReadonlySet<Permission>,
  ): Promise<Dataset> {
    const missing = firstMissing(grants, permissionsToEdit(patch));
    if (missing) throw editForbidden(missing);
    const ok = await this.repo.update(workspaceId, id, {
      ...patch,
      tags: patch.tags ? normalizeTags(patch.tags) : undefined,
    });
    if (!ok) throw errors.notFound('Dataset', id);
    const dataset = await this.get(workspaceId, id);
    this.events?.updated(dataset);
    return dataset;
  }

  /** Removes metadata first (the dataset disappears at once), then the blobs. */
  async delete(workspaceId: string, id: string, log: Log): Promise<void> {
    const feeder = await this.live?.feeder(id);
    if (feeder)
      throw new AppError(
        'conflict',
        `Dataset '${id}' is the live dataset of connector '${feeder.name}': delete the connector, which deletes its dataset`,
        [],
        { connectorId: feeder.id },
      );
    await this.deleteStored(workspaceId, id, log);
  }

  /** Deletes a dataset, its versions and its blobs (a connector's delete calls it for its live dataset). */
  async deleteStored(workspaceId: string, id: string, log: Log): Promise<void> {
    const keys = await this.repo.delete(workspaceId, id);
    if (!keys) throw errors.notFound('Dataset', id);
    this.events?.deleted(id);
    const removed = await this.blobs.deletePrefix(datasetPrefix(workspaceId, id));
    log.info({ datasetId: id, versions: keys.length, blobsRemoved: removed }, 'dataset deleted');
  }

  /** The workspace a dataset belongs to, by its id alone (the caller then checks access to that workspace). */
  workspaceOf(id: string): Promise<string | null> {
    return this.repo.workspaceOf(id);
  }

  /** Bytes of the workspace's stored versions (Parquet), as its upload quota counts them. */
  storedBytes(workspaceId: string): Promise<number> {
    return this.repo.storedBytes(workspaceId);
  }

  /** The datasets' part of the instance-wide statistics (src/analytics/platform.ts). */
  get instanceStats(): DatasetInstanceStats {
    return this.repo;
  }

  /** The datasets' side of the storage sweep's keep-last-N (src/storage/sweep.ts). */
  get versionRetention(): VersionRetention {
    return this.repo;
  }

  totals() {
    return this.repo.totals();
  }

  /**
   * Stores a Parquet file a pipeline run made as a new version, with its lineage, in one transaction: appended to
   * `datasetId`, or as the first version of `newDataset`. The version id is reserved by the caller, so a retried
   * run that finds its own version already stored answers it instead of writing a second one. The file is taken
   * over (moved into the blob store, or removed); an aborted call leaves no blob and no row.
   */
  async storeDerived(input: {
    workspaceId: string;
    datasetId?: string;
    newDataset?: { id: string; name: string; description: string };
    versionId: string;
    parquetPath: string;
    sourceFilename: string;
    schema: ColumnSchema[];
    rowCount: number;
    profile: DatasetProfile;
    lineage: Parameters<DatasetRepo['insertDerivedVersion']>[2];
    log: Log;
    signal?: AbortSignal;
  }): Promise<{ dataset: Dataset; version: DatasetVersion }> {
    const { workspaceId, versionId, signal } = input;
    const datasetId = input.datasetId ?? input.newDataset?.id;
    if (!datasetId) throw new Error('storeDerived needs a datasetId or a newDataset');
    let blobKey: string | null = null;
    try {
      const earlier = await this.repo.getVersion(workspaceId, datasetId, versionId);
      if (earlier) return { dataset: await this.get(workspaceId, datasetId), version: publicVersion(earlier) };
      if (input.datasetId) await this.requireDataset(workspaceId, input.datasetId);
      blobKey = datasetVersionKey(workspaceId, datasetId, versionId);
      signal?.throwIfAborted();
      const stored = await this.blobs.putFile(blobKey, input.parquetPath);
      signal?.throwIfAborted();
      await this.repo.insertDerivedVersion(
        input.datasetId ? null : { ...input.newDataset!, workspaceId, tags: [] },
        writtenVersion({ ...input, id: versionId, datasetId, blobKey, bytes: stored.bytes }),
        input.lineage,
      );
      blobKey = null;
      input.log.info(
        { datasetId, versionId, rows: input.rowCount, runId: input.lineage.runId },
        'derived dataset version stored',
      );
      const [dataset, version] = await Promise.all([
        this.get(workspaceId, datasetId),
        this.repo.getVersion(workspaceId, datasetId, versionId),
      ]);
      const created = publicVersion(version!);
      this.events?.versionStored(dataset, created);
      return { dataset, version: created };
    } catch (e) {
      if (blobKey) await this.blobs.delete(blobKey);
      throw e;
    } finally {
      await this.scratch.remove(input.parquetPath);
    }
  }

  /**
   * Stores a live dataset's version (its empty first one with `newDataset`, or a compaction) together with what
   * `alsoInTransaction` writes. The file is taken over; an aborted call leaves no blob and no row.
   */
  async storeLive(input: {
    workspaceId: string;
    datasetId: string;
    newDataset?: { name: string; description: string; tags: string[] };
    versionId: string;
    parquetPath: string;
    sourceFilename: string;
    schema: ColumnSchema[];
    rowCount: number;
    profile: DatasetProfile;
    alsoInTransaction: (trx: Transaction<Database>) => Promise<void>;
  }): Promise<void> {
    const { workspaceId, datasetId, versionId } = input;
    let blobKey: string | null = datasetVersionKey(workspaceId, datasetId, versionId);
    try {
      const stored = await this.blobs.putFile(blobKey, input.parquetPath);
      await this.repo.insertVersionWith(
        input.newDataset ? { id: datasetId, workspaceId, ...input.newDataset } : null,
        writtenVersion({ ...input, id: versionId, datasetId, blobKey, bytes: stored.bytes }),
        input.alsoInTransaction,
      );
      blobKey = null;
      const [dataset, version] = await Promise.all([
        this.get(workspaceId, datasetId),
        this.repo.getVersion(workspaceId, datasetId, versionId),
      ]);
      this.events?.versionStored(dataset, publicVersion(version!));
    } finally {
      if (blobKey) await this.blobs.delete(blobKey);
      await this.scratch.remove(input.parquetPath);
    }
  }
}

/** The row of a version whose Parquet file Weir wrote itself: a pipeline's output, a live dataset's compaction. */
function writtenVersion(v: {
  id: string;
  datasetId: string;
  workspaceId: string;
  sourceFilename: string;
  rowCount: number;
  schema: ColumnSchema[];
  profile: DatasetProfile;
  blobKey: string;
  bytes: number;
}): NewVersion {
  return {
    id: v.id,
    datasetId: v.datasetId,
    workspaceId: v.workspaceId,
    sourceFilename: v.sourceFilename,
    sourceFormat: 'parquet',
    sourceEncoding: null,
    sourceBytes: v.bytes,
    sha256: null,
    parquetBytes: v.bytes,
    rowCount: v.rowCount,
    schema: v.schema,
    profileJson: JSON.stringify(v.profile),
    blobKey: v.blobKey,
  };
}

export function normalizeTags(tags: string[]): string[] {
  return [...new Set(tags.map((t) => t.trim()).filter(Boolean))].sort();
}

function selectColumns(schema: ColumnSchema[], wanted?: string[]): ColumnSchema[] {
  if (!wanted || wanted.length === 0) return schema;
  const byName = new Map(schema.map((c) => [c.name, c]));
  const unknown = wanted.filter((w) => !byName.has(w));
  if (unknown.length > 0) {
    throw errors.validation(
      `Unknown column${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')}`,
      unknown.map((u) => ({ pointer: '/query/columns', message: `no column named '${u}'` })),
    );
  }
  return wanted.map((w) => byName.get(w)!);
}

function safeFilename(name: string): string {
  return (
    name
      .replace(/\.[A-Za-z0-9]{1,8}$/, '')
      .replace(/[^A-Za-z0-9._-]+/g, '_')
      .slice(0, 100) || 'dataset'
  );
}
