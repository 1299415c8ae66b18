import { createHash } from 'node:crypto';
import type { Scratch } from '../blobs/scratch.js';
import { BlobNotFoundError, versionSummaryPrefix, type BlobStore, type LocalBlob } from '../blobs/types.js';
import type { Engine } from '../engine/duckdb.js';
import { literal } from '../engine/sql.js';
import type { Log } from '../logger.js';
import { summarySql } from './summary.js';

/**
 * Summaries built at once by one process. A build is one grouped pass over every row of a version (seconds for ten
 * million rows, all of DuckDB's threads): one at a time leaves the threads to the requests, which answer from the
 * rows meanwhile.
 */
export const MAX_CONCURRENT_BUILDS = 1;

/** What a build reads: the version's rows with a time and a value (as `t` and `v`), over a file held for it. */
export interface SummaryBuild {
  fineUs: number;
  rows: string;
  /** Rejects when the version is gone. */
  confirm: () => Promise<unknown>;
  /** Called once, when the build starts: keeps the file `rows` reads until the returned release is called. */
  hold: () => () => Promise<void>;
}

/**
 * The stored min/max summaries of versions (src/analytics/summary.ts): small Parquet files beside the version's own,
 * under `<version key>.summaries/`, so they go with the dataset's prefix when it is deleted and with the version when
 * the sweep prunes it. A version never changes, so neither does its summary. The key names the version, a hash of the
 * two column names and the fine width: a summary is never read for another version, pair or level.
 *
 * A request that finds no summary answers from the rows (the aligned slicing makes that the same answer) and asks for
 * one to be built in the background; later requests read it. Builds belong to this object, not to the request that
 * asked: a client hanging up does not stop one, `close()` does.
 */
export class TimeseriesSummaries {
  /** Builds in progress, by key: at most MAX_CONCURRENT_BUILDS, one per key. */
  private readonly building = new Map<string, Promise<void>>();
  private readonly stopping = new AbortController();

  constructor(private readonly deps: { blobs: BlobStore; engine: Engine; scratch: Scratch; log: Log }) {}

  static key(versionBlobKey: string, time: string, value: string, fineUs: number): string {
    const pair = createHash('sha256')
      .update(JSON.stringify([time, value]))
      .digest('hex')
      .slice(0, 32);
    return `${versionSummaryPrefix(versionBlobKey)}${pair}-${fineUs}us.parquet`;
  }

  /**
   * The stored summary as a local file (release it when done), or null: none is stored, or it could not be opened
   * (the blob store failing, a full disk), which is logged and answered from the rows. When that failure comes with
   * `signal` aborted, the signal's reason is thrown instead: the request is over.
   */
  async open(key: string, signal?: AbortSignal): Promise<LocalBlob | null> {
    try {
      return await this.deps.blobs.localFile(key);
    } catch (e) {
      if (e instanceof BlobNotFoundError) return null;
      if (signal?.aborted) throw signal.reason;
      this.deps.log.warn({ err: e, key }, 'time series summary could not be opened; answering from the rows');
      return null;
    }
  }

  /**
   * Starts building the summary `key` in the background, unless it is being built already, MAX_CONCURRENT_BUILDS
   * are running or the process is shutting down: then nothing is queued, and a later request that still finds no
   * summary asks again. Answers whether it started. A build never rejects: its failure is logged at warn.
   */
  start(key: string, b: SummaryBuild): boolean {
    if (this.stopping.signal.aborted || this.building.has(key) || this.building.size >= MAX_CONCURRENT_BUILDS)
      return false;
    const release = b.hold();
    const build = this.build(key, b)
      .catch((e: unknown) => {
        // Interrupted by close(): not a fault, and the log may be closing too.
        if (!this.stopping.signal.aborted)
          this.deps.log.warn({ err: e, key }, 'time series summary could not be built; requests read the rows');
      })
      .finally(async () => {
        this.building.delete(key);
        await release().catch((e: unknown) => this.deps.log.warn({ err: e, key }, 'version file release failed'));
      });
    this.building.set(key, build);
    return true;
  }

  /** Resolves once the builds running now have ended (tests wait for them with this). */
  async settled(): Promise<void> {
    await Promise.all(this.building.values());
  }

  /** Stops the builds (their DuckDB work is interrupted) and waits for them: call before the engine closes. */
  async close(): Promise<void> {
    this.stopping.abort(new Error('time series summaries closed'));
    await this.settled();
  }

  /**
   * `confirm` rejects when the version is gone: a summary stored while its version was being deleted is deleted
   * again (the version's deletion removes its rows before its files, so a summary stored before the rows went is
   * removed with the files).
   */
  private async build(key: string, b: SummaryBuild): Promise<void> {
    const signal = this.stopping.signal;
    const file = this.deps.scratch.file('.parquet');
    try {
      await this.deps.engine.run(
        `COPY (${summarySql(b.rows, b.fineUs)}) TO ${literal(file)} (FORMAT parquet, COMPRESSION zstd)`,
        undefined,
        signal,
      );
      signal.throwIfAborted();
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
