import type { DuckDBConnection } from '@duckdb/node-api';
import type { Scratch } from '../blobs/scratch.js';
import type { BlobStore, LocalBlob } from '../blobs/types.js';
import type { Engine } from '../engine/duckdb.js';
import { profileParquet, type DatasetProfile } from '../engine/profile.js';
import { jsonFriendly, literal, type ColumnSchema } from '../engine/sql.js';
import { AppError } from '../errors.js';
import { compilePipeline, type CompiledPipeline } from './compile.js';
import type { PipelineDefinition } from './definition.js';
import type { LineageInput } from './model.js';
import type { DatasetService } from '../datasets/service.js';
import type { DatasetRef, ResolvedDataset } from './steps/types.js';
import type { Variables } from './template.js';

/**
 * Compiling and executing pipelines over DuckDB: the datasets a definition names are resolved in the caller's
 * workspace only and materialized as local files for as long as the work lasts; previews read the first rows
 * after each step, runs write the whole result to a Parquet file in scratch space.
 */

export interface ExecutorDeps {
  engine: Engine;
  blobs: BlobStore;
  scratch: Scratch;
  datasets: Pick<DatasetService, 'findSource'>;
}

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
      const found = await this.deps.datasets.findSource(request.workspaceId, ref.datasetId, ref.versionId);
      // Another workspace's dataset looks exactly like one that does not exist.
      if (!found.exists) throw notFoundAt(`${pointer}/datasetId`, `Dataset '${ref.datasetId}' does not exist`);
      if (!found.version) throw notFoundAt(`${pointer}/versionId`, `Version '${ref.versionId}' of dataset '${ref.datasetId}' does not exist`);
      const blob = await this.deps.blobs.localFile(found.version.blobKey);
      held.push(blob);
      return { datasetId: ref.datasetId, versionId: found.version.id, relation: `read_parquet(${literal(blob.path)})`, schema: found.version.schema };
    };
    try {
      const pipeline = await compilePipeline(request.definition, {
        engine: this.deps.engine, resolveDataset, variables: request.variables, signal: request.signal, pointerPrefix: request.pointerPrefix ?? '/definition',
      });
      const inputs: LineageInput[] = [
        { datasetId: pipeline.input.datasetId, versionId: pipeline.input.versionId, role: 'input' },
        ...pipeline.joins.map((j): LineageInput => ({ datasetId: j.datasetId, versionId: j.versionId, role: 'join', stepIndex: j.stepIndex })),
      ];
      return await fn({ pipeline, inputs });
    } finally {
      await Promise.all(held.map((b) => b.release()));
    }
  }

  /** The first `limit` rows of the input and after each step, values JSON-friendly (timestamps ISO 8601 UTC). */
  async preview(compiled: CompiledPipeline, limit: number, signal: AbortSignal): Promise<PreviewResult> {
    const first = (index: number, schema: ColumnSchema[]) => {
      const { sql, params } = compiled.upTo(index);
      return this.deps.engine.rows(`SELECT ${schema.map((c) => jsonFriendly(c)).join(', ')} FROM (${sql}) AS step LIMIT ${limit}`, params, signal).then((r) => r.rows);
    };
    const columnsOf = (schema: ColumnSchema[]) => schema.map(({ name, type }) => ({ name, type }));
    const input = { datasetId: compiled.input.datasetId, versionId: compiled.input.versionId, columns: columnsOf(compiled.input.schema), rows: await first(-1, compiled.input.schema) };
    const steps: StepPreview[] = [];
    for (const step of compiled.steps) {
      steps.push({ index: step.index, type: step.type, columns: columnsOf(step.schema), rows: await first(step.index, step.schema) });
    }
    return { input, steps };
  }

  /**
   * Writes the pipeline's result to a Parquet file in scratch space and profiles it. `onProgress` hears DuckDB's
   * own estimate (0–100) while the statement runs: the steps are fused into one statement, so there is no
   * per-step progress to report. The file is removed again on any failure (an abort included).
   */
  async materialize(compiled: CompiledPipeline, signal: AbortSignal, onProgress: (phase: 'running' | 'profiling', percent: number) => void): Promise<Materialized> {
    const parquetPath = this.deps.scratch.file('.parquet');
    try {
      await this.deps.engine.withConnection(async (c) => {
        await c.run('SET enable_progress_bar = true');
        await c.run('SET enable_progress_bar_print = false');
        const poll = setInterval(() => {
          const percent = queryPercent(c);
          if (percent !== null) onProgress('running', percent);
        }, 500);
        try {
          await c.run(`COPY (${compiled.sql}) TO ${literal(parquetPath)} (FORMAT parquet, COMPRESSION zstd)`, compiled.params);
        } finally {
          clearInterval(poll);
        }
      }, signal);
      onProgress('profiling', 100);
      const schema = await this.deps.engine.describe(`SELECT * FROM read_parquet(${literal(parquetPath)})`, [], signal);
      const profile = await profileParquet(this.deps.engine, parquetPath, schema, signal);
      return { parquetPath, schema, profile };
    } catch (e) {
      await this.deps.scratch.remove(parquetPath);
      throw e;
    }
  }

}

/** DuckDB's progress of the running query, or null when it has none yet (-1). */
function queryPercent(c: DuckDBConnection): number | null {
  const p = c.progress.percentage;
  return Number.isFinite(p) && p >= 0 ? Math.min(100, p) : null;
}

function notFoundAt(pointer: string, message: string): AppError {
  return new AppError(404, 'not_found', message, [{ pointer, message }]);
}
