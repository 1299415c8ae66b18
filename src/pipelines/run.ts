import { stat } from 'node:fs/promises';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { Scratch } from '../blobs/scratch.js';
import type { BlobStore, LocalBlob } from '../blobs/types.js';
import type { Engine } from '../engine/duckdb.js';
import { formatCount, outputTooLarge } from '../engine/limits.js';
import { profileParquet, type DatasetProfile } from '../engine/profile.js';
import { jsonFriendly, literal, type ColumnSchema } from '../engine/sql.js';
import { AppError } from '../errors.js';
import { compilePipeline, type CompiledPipeline, type KnownWork } from './compile.js';
import type { PipelineDefinition } from './definition.js';
import type { LineageInput } from './model.js';
import type { DatasetService } from '../datasets/service.js';
import type { DatasetRef, ResolvedDataset } from './steps/types.js';
import type { Variables } from './template.js';

/**
 * Compiling and executing pipelines over DuckDB: the datasets a definition names are resolved in the caller's
 * workspace only and materialized as local files for as long as the work lasts; previews read the first rows
 * after each step, runs write the whole result to a Parquet file in scratch space.
 *
 * Bounds (WEIR_MAX_OUTPUT_ROWS, WEIR_MAX_OUTPUT_BYTES): rows a step makes that are known before it runs (a
 * resample's filled grid) are counted first, and a preview or run over the limit is refused before its work starts;
 * a run's output, which a join can make any size, is bounded while it is written.
 */

export interface ExecutorDeps {
  engine: Engine;
  blobs: BlobStore;
  scratch: Scratch;
  datasets: Pick<DatasetService, 'findSource' | 'settle'>;
  limits: OutputLimits;
}

export interface OutputLimits {
  /** Rows a run may write, and rows known work may make (WEIR_MAX_OUTPUT_ROWS). */
  maxRows: number;
  /** Bytes of a run's output file (WEIR_MAX_OUTPUT_BYTES). */
  maxBytes: number;
}

/** How often a run's output file is measured while it is written (ms): at 500 MB/s it passes its cap by 100 MB at most. */
const SIZE_POLL_MS = 200;

export interface CompileRequest {
  workspaceId: string;
  definition: PipelineDefinition;
  variables?: Variables;
  signal?: AbortSignal;
  /** Where the definition sits in the request body (default `/definition`). */
  pointerPrefix?: string;
}

export interface Compiled {
  pipeline: CompiledPipeline;
  /** Every dataset version read, for lineage: the input first, then joins in step order. */
  inputs: LineageInput[];
}

export interface StepPreview {
  index: number;
  type: string;
  columns: { name: string; type: string }[];
  rows: unknown[][];
}

export interface PreviewResult {
  input: { datasetId: string; versionId: string; columns: { name: string; type: string }[]; rows: unknown[][] };
  steps: StepPreview[];
}

export interface Materialized {
  parquetPath: string;
  schema: ColumnSchema[];
  profile: DatasetProfile;
}

export class PipelineExecutor {
  constructor(private readonly deps: ExecutorDeps) {}

  /**
   * Compiles the definition and runs `fn` while the datasets it reads are available as local files; they are
   * released afterwards, whatever happens.
   */
  async withCompiled<T>(request: CompileRequest, fn: (compiled: Compiled) => Promise<T>): Promise<T> {
    const held: LocalBlob[] = [];
    const resolveDataset = async (ref: DatasetRef, pointer: string): Promise<ResolvedDataset> => {
      // A live dataset is read as an immutable version holding every record stored so far (lineage names it).
      if (!ref.versionId) await this.deps.datasets.settle(request.workspaceId, ref.datasetId);
      const found = await this.deps.datasets.findSource(request.workspaceId, ref.datasetId, ref.versionId);
      // Another workspace's dataset looks exactly like one that does not exist.
      if (!found.exists) throw notFoundAt(`${pointer}/datasetId`, `Dataset '${ref.datasetId}' does not exist`);
      if (!found.version)
        throw notFoundAt(
          `${pointer}/versionId`,
          `Version '${ref.versionId}' of dataset '${ref.datasetId}' does not exist`,
        );
      const blob = await this.deps.blobs.localFile(found.version.blobKey);
      held.push(blob);
      return {
        datasetId: ref.datasetId,
        versionId: found.version.id,
        relation: `read_parquet(${literal(blob.path)})`,
        schema: found.version.schema,
      };
    };
    try {
      const pipeline = await compilePipeline(request.definition, {
        engine: this.deps.engine,
        resolveDataset,
        variables: request.variables,
        signal: request.signal,
        pointerPrefix: request.pointerPrefix ?? '/definition',
      });
      const inputs: LineageInput[] = [
        { datasetId: pipeline.input.datasetId, versionId: pipeline.input.versionId, role: 'input' },
        ...pipeline.joins.map((j): LineageInput => ({
          datasetId: j.datasetId,
          versionId: j.versionId,
          role: 'join',
          stepIndex: j.stepIndex,
        })),
      ];
      return await fn({ pipeline, inputs });
    } finally {
      await Promise.all(held.map((b) => b.release()));
    }
  }

  /**
   * Counts the rows of every step that knows its size before it runs (in step order; `signal` interrupts) and
   * refuses the pipeline (422 output_too_large, pointing at the step) when one passes WEIR_MAX_OUTPUT_ROWS.
   * Answers the counts by step index.
   */
  async countKnownWork(compiled: CompiledPipeline, signal?: AbortSignal): Promise<Map<number, number>> {
    const counts = new Map<number, number>();
    for (const work of compiled.knownWork) {
      const [row] = await this.deps.engine.all(work.sql, work.params, signal);
      const rows = Number(row?.rows ?? 0);
      if (rows > this.deps.limits.maxRows) throw knownWorkTooLarge(work, rows, this.deps.limits.maxRows);
      counts.set(work.index, rows);
    }
    return counts;
  }

  /**
   * The first `limit` rows of the input and after each step, values JSON-friendly (timestamps ISO 8601 UTC). A
   * step's rows are the whole of its input's worked through (a fill, a sort): known work over the limit is refused.
   */
  async preview(compiled: CompiledPipeline, limit: number, signal: AbortSignal): Promise<PreviewResult> {
    await this.countKnownWork(compiled, signal);
    const first = (index: number, schema: ColumnSchema[]) => {
      const { sql, params } = compiled.upTo(index);
      return this.deps.engine
        .rows(
          `SELECT ${schema.map((c) => jsonFriendly(c)).join(', ')} FROM (${sql}) AS step LIMIT ${limit}`,
          params,
          signal,
        )
        .then((r) => r.rows);
    };
    const columnsOf = (schema: ColumnSchema[]) => schema.map(({ name, type }) => ({ name, type }));
    const input = {
      datasetId: compiled.input.datasetId,
      versionId: compiled.input.versionId,
      columns: columnsOf(compiled.input.schema),
      rows: await first(-1, compiled.input.schema),
    };
    const steps: StepPreview[] = [];
    for (const step of compiled.steps) {
      steps.push({
        index: step.index,
        type: step.type,
        columns: columnsOf(step.schema),
        rows: await first(step.index, step.schema),
      });
    }
    return { input, steps };
  }

  /**
   * Writes the pipeline's result to a Parquet file in scratch space and profiles it. `onProgress` hears DuckDB's
   * own estimate (0–100) while the statement runs: the steps are fused into one statement, so there is no
   * per-step progress to report. The file is removed again on any failure (an abort included).
   *
   * The output is bounded (422 output_too_large): known work is counted first; more rows than the limit stop the
   * run once written (the COPY takes at most one row more), a file growing past the byte limit stops it at once.
   */
  async materialize(
    compiled: CompiledPipeline,
    signal: AbortSignal,
    onProgress: (phase: 'running' | 'profiling', percent: number) => void,
  ): Promise<Materialized> {
    const { maxRows, maxBytes } = this.deps.limits;
    const parquetPath = this.deps.scratch.file('.parquet');
    const outgrown = new AbortController();
    const watch = watchSize(parquetPath, maxBytes, () =>
      outgrown.abort(outputPassed(`${formatCount(maxBytes)} bytes`, 'WEIR_MAX_OUTPUT_BYTES')),
    );
    try {
      const counts = await this.countKnownWork(compiled, signal);
      // A LIMIT makes DuckDB write with one thread (twice as slow): only where the rows cannot be known to fit.
      const fits = (await this.rowsAtMost(compiled, counts, signal)) <= maxRows;
      const statement = fits ? compiled.sql : `SELECT * FROM (${compiled.sql}) AS output LIMIT ${maxRows + 1}`;
      const written = await this.deps.engine.withConnection(
        async (c) => {
          await c.run('SET enable_progress_bar = true');
          await c.run('SET enable_progress_bar_print = false');
          const poll = setInterval(() => {
            const percent = queryPercent(c);
            if (percent !== null) onProgress('running', percent);
          }, 500);
          try {
            return (
              await c.run(
                `COPY (${statement}) TO ${literal(parquetPath)} (FORMAT parquet, COMPRESSION zstd)`,
                compiled.params,
              )
            ).rowsChanged;
          } finally {
            clearInterval(poll);
          }
        },
        AbortSignal.any([signal, outgrown.signal]),
      );
      if (written > maxRows) throw outputPassed(`${formatCount(maxRows)} rows`, 'WEIR_MAX_OUTPUT_ROWS');
      // The last bytes may have landed after the last measurement.
      if ((await stat(parquetPath)).size > maxBytes)
        throw outputPassed(`${formatCount(maxBytes)} bytes`, 'WEIR_MAX_OUTPUT_BYTES');
      onProgress('profiling', 100);
      const schema = await this.deps.engine.describe(`SELECT * FROM read_parquet(${literal(parquetPath)})`, [], signal);
      const profile = await profileParquet(this.deps.engine, parquetPath, schema, signal);
      return { parquetPath, schema, profile };
    } catch (e) {
      await this.deps.scratch.remove(parquetPath);
      throw e;
    } finally {
      clearInterval(watch);
    }
  }

  /**
   * The most rows the pipeline can make: its input's, unless a step multiplies rows (Infinity) or makes a counted
   * number (`counts`); every other step makes at most the rows it receives.
   */
  private async rowsAtMost(
    compiled: CompiledPipeline,
    counts: Map<number, number>,
    signal: AbortSignal,
  ): Promise<number> {
    if (compiled.steps.some((s) => s.multipliesRows)) return Infinity;
    let rows: number | null = null;
    for (const step of compiled.steps) {
      const counted = counts.get(step.index);
      if (counted !== undefined) rows = counted;
    }
    if (rows !== null) return rows;
    // Answered from the Parquet footer, without reading rows.
    const [row] = await this.deps.engine.all(`SELECT count(*) AS n FROM ${compiled.input.relation}`, [], signal);
    return Number(row?.n ?? Infinity);
  }
}

/**
 * Calls `onPast` once the file at `path` holds more than `maxBytes` (DuckDB writes a Parquet file row group by row
 * group, so its size on disk follows the rows written). Answers the interval to clear.
 */
function watchSize(path: string, maxBytes: number, onPast: () => void): NodeJS.Timeout {
  let measuring = false;
  const timer = setInterval(() => {
    if (measuring) return;
    measuring = true;
    stat(path)
      .then(
        (s) => {
          if (s.size > maxBytes) {
            clearInterval(timer);
            onPast();
          }
        },
        () => undefined, // Not created yet, or removed already.
      )
      .finally(() => (measuring = false));
  }, SIZE_POLL_MS);
  return timer;
}

function knownWorkTooLarge(work: KnownWork, rows: number, limit: number) {
  return outputTooLarge({
    subject: `The ${work.type} step`,
    count: rows,
    what: `rows (${work.what})`,
    limit,
    hint: work.hint,
    pointer: work.pointer,
  });
}

/** A run's output that passed a limit while it was written; nothing of it is kept. */
function outputPassed(limit: string, setting: string): AppError {
  return new AppError(
    'output_too_large',
    `The pipeline's output passed the limit of ${limit} (${setting}) and was not stored; filter or aggregate the rows further, or check that join keys do not repeat on both sides`,
  );
}

/** DuckDB's progress of the running query, or null when it has none yet (-1). */
function queryPercent(c: DuckDBConnection): number | null {
  const p = c.progress.percentage;
  return Number.isFinite(p) && p >= 0 ? Math.min(100, p) : null;
}

function notFoundAt(pointer: string, message: string): AppError {
  return new AppError('not_found', message, [{ pointer, message }]);
}
