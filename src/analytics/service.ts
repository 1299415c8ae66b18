import type { Config } from '../config.js';
import type { DatasetService } from '../datasets/service.js';
import type { StoredVersion } from '../datasets/model.js';
import type { LocalBlob } from '../blobs/types.js';
import { isOutOfMemory, type Engine } from '../engine/duckdb.js';
import { outputTooLarge } from '../engine/limits.js';
import { parquetSource, type DatasetProfile } from '../engine/profile.js';
import { AppError, errors } from '../errors.js';
import { resolveColumn } from './columns.js';
import { histogram, type Histogram } from './histogram.js';
import { platformStats, type PlatformSources, type PlatformStats } from './platform.js';
import { buildAggregateQuery, runAggregateQuery, type AggregateQuery } from './query.js';
import { correlationAndMissing, type Correlation, type MissingValues } from './stats.js';
import { AnswerCache } from './cache.js';
import { TimeseriesSummaries } from './summaries.js';
import { timeseries, type Aggregate, type DownsampleMode, type Timeseries } from './timeseries.js';
import { valueCounts, type ValueCounts } from './value-counts.js';

export const DEFAULT_QUERY_ROWS = 1000;

export interface AnalyticsDeps {
  config: Pick<Config, 'analytics' | 'work'>;
  engine: Engine;
  datasets: DatasetService;
  /** The process's jobs, for the instance-wide statistics. */
  jobs: PlatformSources['jobs'];
  workspaces: PlatformSources['workspaces'];
  summaries: TimeseriesSummaries;
}

/**
 * An answer about one version. `datasetName` titles its charts; it is read afresh on every call (a cached answer
 * keeps the name it was computed under out), and is not part of the JSON answers, whose schemas do not list it.
 */
type Versioned<T> = T & { versionId: string; datasetName: string };

export interface DatasetStats extends DatasetProfile {
  correlation: Correlation;
  missing: MissingValues;
}

export interface QueryAnswer {
  columns: { name: string; type: string }[];
  rows: unknown[][];
  truncated: boolean;
  elapsedMs: number;
}

/**
 * Read-only analytics over one version of a dataset: each call opens the version's Parquet file, runs DuckDB over the
 * columns it needs under the WEIR_QUERY_TIMEOUT limit, and releases the file. Column parameters are checked against
 * the version's schema before any SQL is built; what an answer holds (bins, points) against WEIR_MAX_OUTPUT_ROWS
 * before any SQL runs. `gone` aborts when the client hangs up: its queries are interrupted too.
 */
export class AnalyticsService {
  /** Chart answers by version (src/analytics/cache.ts): at most 256 of them and about 32 MB of JSON. */
  private readonly cache = new AnswerCache({ maxEntries: 256, maxBytes: 32 * 1024 * 1024 });

  constructor(private readonly deps: AnalyticsDeps) {}

  async stats(
    workspaceId: string,
    id: string,
    versionId?: string,
    gone?: AbortSignal,
  ): Promise<Versioned<DatasetStats>> {
    return this.read(
      workspaceId,
      id,
      versionId,
      { endpoint: 'stats' },
      async (version, source, signal) => ({
        ...version.profile,
        ...(await correlationAndMissing(this.deps.engine, source, version.schema, signal)),
      }),
      gone,
    );
  }

  async histogram(
    workspaceId: string,
    id: string,
    q: { version?: string; column: string; bins: number },
    gone?: AbortSignal,
  ): Promise<Versioned<Histogram>> {
    const limit = this.deps.config.work.maxOutputRows;
    if (q.bins > limit)
      throw outputTooLarge({
        subject: 'The histogram',
        count: q.bins,
        what: 'bins',
        limit,
        hint: 'ask for fewer bins',
        pointer: '/query/bins',
      });
    return this.read(
      workspaceId,
      id,
      q.version,
      { endpoint: 'histogram', column: q.column, bins: q.bins },
      (version, source, signal) =>
        histogram(
          this.deps.engine,
          source,
          resolveColumn(version.schema, q.column, '/query/column', ['numeric', 'temporal']),
          q.bins,
          signal,
        ),
      gone,
    );
  }

  async valueCounts(
    workspaceId: string,
    id: string,
    q: { version?: string; column: string; limit: number },
    gone?: AbortSignal,
  ): Promise<Versioned<ValueCounts>> {
    return this.read(
      workspaceId,
      id,
      q.version,
      { endpoint: 'value-counts', column: q.column, limit: q.limit },
      (version, source, signal) =>
        valueCounts(
          this.deps.engine,
          source,
          resolveColumn(version.schema, q.column, '/query/column', ['scalar']),
          q.limit,
          signal,
        ),
      gone,
    );
  }

  async timeseries(
    workspaceId: string,
    id: string,
    q: {
      version?: string;
      time: string;
      value: string;
      agg: Aggregate;
      bucket?: string;
      points: number;
      mode: DownsampleMode;
      from?: string;
      to?: string;
      series?: string;
      seriesLimit: number;
    },
    gone?: AbortSignal,
  ): Promise<Versioned<Timeseries>> {
    if (q.series !== undefined && q.points < 2 * q.seriesLimit) {
      const message = `must be at least 2 per series: ${2 * q.seriesLimit} for seriesLimit ${q.seriesLimit}`;
      throw errors.validation(`points ${message}; ask for more points or fewer series`, [
        { pointer: '/query/points', message },
      ]);
    }
    const split = q.series === undefined ? {} : { series: q.series, seriesLimit: q.seriesLimit };
    const within = timeBounds(q.from, q.to);
    const request = {
      endpoint: 'timeseries',
      time: q.time,
      value: q.value,
      agg: q.agg,
      bucket: q.bucket,
      points: q.points,
      mode: q.mode,
      ...split,
      ...within,
    };
    return this.read(
      workspaceId,
      id,
      q.version,
      request,
      async (version, source, signal, retain) => {
        const time = resolveColumn(version.schema, q.time, '/query/time', ['temporal']);
        const value = resolveColumn(version.schema, q.value, '/query/value', ['numeric']);
        const series =
          q.series === undefined
            ? undefined
            : { column: resolveColumn(version.schema, q.series, '/query/series', ['scalar']), limit: q.seriesLimit };
        const profiled = (name: string) => version.profile.columns.find((c) => c.name === name);
        // A live dataset's profile describes its compacted version only: records flushed since lie outside its range.
        const range = version.live ? undefined : profiled(time.name)?.range;
        const lo = range ? Date.parse(range.min) : NaN;
        const hi = range ? Date.parse(range.max) : NaN;
        const rowsAtMost = version.live
          ? version.rowCount
          : Math.min(profiled(time.name)?.count ?? version.rowCount, profiled(value.name)?.count ?? version.rowCount);
        const held: LocalBlob[] = [];
        // A summary this request could have used but found missing: built once the request has its answer, so the
        // build does not share DuckDB's threads with it.
        let missing = null as { key: string; fineUs: number; rows: string } | null;
        const summary =
          !version.live && rowsAtMost >= this.deps.config.analytics.timeseriesSummaryMinRows
            ? async (fineUs: number, rows: string, s?: AbortSignal) => {
                const key = TimeseriesSummaries.key(version.blobKey, time.name, value.name, fineUs);
                const file = await this.deps.summaries.open(key, s);
                if (!file) {
                  missing = { key, fineUs, rows };
                  return null;
                }
                held.push(file);
                return parquetSource(file.path);
              }
            : undefined;
        try {
          return await timeseries(
            this.deps.engine,
            source,
            {
              time,
              value,
              agg: q.agg,
              bucket: q.bucket,
              points: q.points,
              mode: q.mode,
              // The profile's range is ISO with milliseconds: the bounds are within a millisecond of the data's, and the
              // slicing clamps to them. A bounded request's range is its rows' own (queried).
              range:
                !within.within && Number.isFinite(lo) && Number.isFinite(hi)
                  ? { loUs: lo * 1000, hiUs: hi * 1000 }
                  : null,
              ...within,
              rowsAtMost,
              maxPoints: this.deps.config.work.maxOutputRows,
              series,
              summary,
            },
            signal,
          );
        } finally {
          await Promise.all(held.map((f) => f.release()));
          // Whether this request answered, timed out or lost its client: the summary is worth having all the same.
          if (missing) {
            const { key, fineUs, rows } = missing;
            const confirm = () => this.deps.datasets.resolveVersion(workspaceId, id, version.id);
            this.deps.summaries.start(key, { fineUs, rows, confirm, hold: retain });
          }
        }
      },
      gone,
    );
  }

  async query(
    workspaceId: string,
    id: string,
    q: Omit<AggregateQuery, 'limit'> & { version?: string; limit?: number },
    gone?: AbortSignal,
  ): Promise<Versioned<QueryAnswer>> {
    const max = this.deps.config.analytics.queryMaxRows;
    const limit = q.limit ?? Math.min(DEFAULT_QUERY_ROWS, max);
    if (limit > max)
      throw errors.validation(`limit must be at most ${max} (WEIR_QUERY_MAX_ROWS)`, [
        { pointer: '/body/limit', message: `must be at most ${max}` },
      ]);
    // Not cached: `elapsedMs` reports this request's work, and ad-hoc queries rarely repeat.
    return this.read(
      workspaceId,
      id,
      q.version,
      null,
      async (version, source, signal) => {
        const { sql, params } = buildAggregateQuery(source, version.schema, { ...q, limit });
        const started = performance.now();
        const { columns, rows } = await runAggregateQuery(this.deps.engine, sql, params, signal);
        return {
          columns,
          rows: rows.slice(0, limit),
          truncated: rows.length > limit,
          elapsedMs: Math.round(performance.now() - started),
        };
      },
      gone,
    );
  }

  platform(days: number): Promise<PlatformStats> {
    const { datasets, jobs, workspaces } = this.deps;
    return platformStats({ datasets: datasets.instanceStats, jobs, workspaces }, days);
  }

  /** Stops the background work (summary builds): before the engine closes. */
  close(): Promise<void> {
    return this.deps.summaries.close();
  }

  /** Resolves once the summary builds running now have ended (tests wait for them with this). */
  summariesSettled(): Promise<void> {
    return this.deps.summaries.settled();
  }

  /**
   * Runs `fn` over the version's Parquet file, or answers from the cache when `request` (the endpoint and its
   * parameters; null: never cached) was answered for this version before. The version is resolved first either
   * way, so a deleted dataset or version, or another workspace's, is a 404 even with an answer cached. The time
   * limit starts once the file is local (with S3 it is downloaded first), so it bounds DuckDB's work, which the
   * signal interrupts (as it does when `gone` aborts). `retain` keeps the file past the answer, for work that
   * outlives the request (a summary build, with S3 spared a second download), until the release it returns is called.
   */
  private async read<T>(
    workspaceId: string,
    id: string,
    versionId: string | undefined,
    request: ({ endpoint: string } & Record<string, unknown>) | null,
    fn: (version: StoredVersion, source: string, signal: AbortSignal, retain: () => () => Promise<void>) => Promise<T>,
    gone?: AbortSignal,
  ): Promise<Versioned<T>> {
    const { dataset, version } = await this.deps.datasets.resolveVersion(workspaceId, id, versionId);
    // A live dataset's latest changes with every flush: its answers are cached per flushed state.
    const cacheId = version.live ? `${version.id}@${version.live.lastSeq}` : version.id;
    const key = request ? AnswerCache.key(cacheId, request.endpoint, request) : null;
    const cached = key ? this.cache.get<T & { versionId: string }>(key) : undefined;
    if (cached) return { ...cached, datasetName: dataset.name };
    const file = await this.deps.datasets.openFile(version);
    let holders = 1;
    const release = () => (--holders === 0 ? file.release() : Promise.resolve());
    const retain = () => {
      holders++;
      let released = false;
      return () => {
        if (released) return Promise.resolve();
        released = true;
        return release();
      };
    };
    const timeoutMs = this.deps.config.analytics.queryTimeoutMs;
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = gone ? AbortSignal.any([timeout, gone]) : timeout;
    try {
      const answer = { versionId: version.id, ...(await fn(version, file.source, signal, retain)) };
      if (key) this.cache.set(key, answer);
      return { ...answer, datasetName: dataset.name };
    } catch (e) {
      if (timeout.aborted && !(e instanceof AppError)) {
        throw new AppError(
          'query_timeout',
          `The query ran longer than the limit of ${timeoutMs} ms (WEIR_QUERY_TIMEOUT) and was stopped`,
          [],
          { timeoutMs },
        );
      }
      if (isOutOfMemory(e)) {
        throw new AppError(
          'query_out_of_memory',
          'The query needed more memory and temporary disk than this server allows (WEIR_DUCKDB_MEMORY_LIMIT, WEIR_DUCKDB_TEMP_LIMIT) and was stopped; group by fewer values or filter first',
        );
      }
      throw e;
    } finally {
      await release();
    }
  }
}

/** `from`/`to` (ISO 8601 instants) as the series' bounds in epoch µs; a range that ends before it starts is a 400. */
function timeBounds(from?: string, to?: string): { within?: { fromUs?: number; toUs?: number } } {
  if (from === undefined && to === undefined) return {};
  const fromMs = from === undefined ? undefined : Date.parse(from);
  const toMs = to === undefined ? undefined : Date.parse(to);
  if (fromMs !== undefined && toMs !== undefined && fromMs > toMs) {
    const message = 'must not be before `from`';
    throw errors.validation(`to ${message}`, [{ pointer: '/query/to', message }]);
  }
  return {
    within: {
      ...(fromMs === undefined ? {} : { fromUs: fromMs * 1000 }),
      ...(toMs === undefined ? {} : { toUs: toMs * 1000 }),
    },
  };
}
