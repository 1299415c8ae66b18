import { createHash } from 'node:crypto';
import type { Scratch } from '../blobs/scratch.js';
import { BlobNotFoundError, versionSummaryPrefix, type BlobStore, type LocalBlob } from '../blobs/types.js';
import type { Engine } from '../engine/duckdb.js';
import { literal } from '../engine/sql.js';
import { summarySql } from './summary.js';

/**
 * The stored min/max summaries of versions (src/analytics/summary.ts): small Parquet files beside the version's own,
 * under `<version key>.summaries/`, so they go with the dataset's prefix when it is deleted and with the version when
 * the sweep prunes it. A summary is built from the version's rows on the first request that can use it and kept: a
 * version never changes, so neither does its summary. The key names the version, a hash of the two column names and
 * the fine width: a summary is never read for another version, pair or level.
 */
export class TimeseriesSummaries {
  /** Summaries being built by this process: concurrent first requests wait for one build. */
  private readonly building = new Map<string, Promise<void>>();

  constructor(private readonly deps: { blobs: BlobStore; engine: Engine; scratch: Scratch }) {}

  static key(versionBlobKey: string, time: string, value: string, fineUs: number): string {
    const pair = createHash('sha256')
      .update(JSON.stringify([time, value]))
      .digest('hex')
      .slice(0, 32);
    return `${versionSummaryPrefix(versionBlobKey)}${pair}-${fineUs}us.parquet`;
  }

  /**
   * The summary as a local file, built from `rows` (the version's rows with a time and a value, as `t` and `v`) when
   * it is not stored yet. Release it when done. `confirm` rejects when the version is gone: a summary stored while
   * its version was being deleted is deleted again (the version's deletion removes its rows before its files, so a
   * summary stored before the rows went is removed with the files).
   */
  async open(
    key: string,
    b: { fineUs: number; rows: string; confirm: () => Promise<unknown> },
    signal?: AbortSignal,
  ): Promise<LocalBlob> {
    try {
      return await this.deps.blobs.localFile(key);
    } catch (e) {
      if (!(e instanceof BlobNotFoundError)) throw e;
    }
    const pending = this.building.get(key);
    if (pending) {
      // Another request's build: when it fails (that request timed out or hung up), this one builds its own.
      await pending.catch(() => undefined);
      try {
        return await this.deps.blobs.localFile(key);
      } catch (e) {
        if (!(e instanceof BlobNotFoundError)) throw e;
      }
    }
    const build: Promise<void> = this.build(key, b, signal).finally(() => {
      if (this.building.get(key) === build) this.building.delete(key);
    });
    this.building.set(key, build);
    await build;
    return this.deps.blobs.localFile(key);
  }

  private async build(
    key: string,
    b: { fineUs: number; rows: string; confirm: () => Promise<unknown> },
    signal?: AbortSignal,
  ): Promise<void> {
    const file = this.deps.scratch.file('.parquet');
    try {
      await this.deps.engine.run(
        `COPY (${summarySql(b.rows, b.fineUs)}) TO ${literal(file)} (FORMAT parquet, COMPRESSION zstd)`,
        undefined,
        signal,
      );
      await this.deps.blobs.putFile(key, file);
    } finally {
      await this.deps.scratch.remove(file);
    }
    try {
      await b.confirm();
    } catch (e) {
      await this.deps.blobs.delete(key);
      throw e;
    }
  }
}
