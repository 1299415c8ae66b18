/**
 * Compiles a pipeline definition into ONE DuckDB statement: a chain of CTEs, `"s0"` reading the input and `"s<i+1>"`
 * holding the rows after step i, so DuckDB plans the whole pipeline at once (filters pushed into the Parquet scan,
 * no intermediate files). Each step is checked against the schema DuckDB itself derives for the step before it
 * (`engine.describe`, which binds and plans without reading rows), so type errors surface here as 400s with the
 * pointer of the step, not as a failed job later.
 */
import type { DuckDBValue } from '@duckdb/node-api';
import { inputError, type Engine, type InputErrorKind } from '../engine/duckdb.js';
import type { ColumnSchema } from '../engine/sql.js';
import { errors, isAppError, type FieldError } from '../errors.js';
import { quoteForMessage } from './expr/errors.js';
import type { ExprVariable } from './expr/index.js';
import { didYouMean, nearMatches } from './expr/suggest.js';
import { PipelineDefinitionSchema, type PipelineDefinition, type PipelineStep } from './definition.js';
import { schemaErrors, stepError } from './steps/common.js';
import { STEP_KINDS, stepKind } from './steps/index.js';
import type { DatasetRef, ResolvedDataset, StepInput, StepKind } from './steps/types.js';

export interface CompileContext {
  engine: Engine;
  /** Resolves (and access-checks) the input and any join dataset: relation text (e.g. read_parquet('…')) and schema. */
  resolveDataset(ref: DatasetRef, pointer: string): Promise<ResolvedDataset>;
  /** Template values for `$name` in expressions (already checked against `parameters` by the service). */
  variables?: Record<string, ExprVariable>;
  signal?: AbortSignal;
  /** Prefix of every error pointer, e.g. '/definition' when the definition is nested in the body; default ''. */
  pointerPrefix?: string;
}

/** Rows a step will make, known before it runs (see CompiledStep.knownRows), and the statement that counts them. */
export interface KnownWork {
  index: number;
  type: string;
  /** `WITH <the CTEs up to the step's input> SELECT rows FROM (<its count>)`, one row with a DOUBLE `rows`. */
  sql: string;
  params: DuckDBValue[];
  what: string;
  hint: string;
  pointer: string;
}

export interface CompiledPipeline {
  input: ResolvedDataset;
  /** Datasets read by join steps, in step order, with the index of the step that read each. */
  joins: (ResolvedDataset & { stepIndex: number })[];
  /** The columns after each step; `multipliesRows`: the step may make more rows than it receives, how many unknown. */
  steps: { index: number; type: string; schema: ColumnSchema[]; multipliesRows: boolean }[];
  /** The steps whose rows are counted before the pipeline runs, in step order. */
  knownWork: KnownWork[];
  /** Output columns (the input's when there are no steps). */
  schema: ColumnSchema[];
  /** `WITH "s0" AS (SELECT * FROM <input>), "s1" AS (<step 0>) … SELECT * FROM "sN"`. */
  sql: string;
  params: DuckDBValue[];
  /** The rows after step `index` (-1: the input), for previews: the CTEs up to it and exactly their parameters. */
  upTo(index: number): { sql: string; params: DuckDBValue[] };
}

/** The CTE holding the rows after step `index - 1` (`"s0"` is the input). */
const cte = (index: number): string => `"s${index}"`;

/** DuckDB errors that mean "this step does not fit its input", with what a client may be told about each. */
const ENGINE_PROBLEMS: Readonly<Record<InputErrorKind, string>> = {
  Binder: 'does not fit the columns it receives (DuckDB cannot apply it to their types)',
  Conversion: 'has a value that cannot be converted to the type it needs',
  'Out of Range': 'has a value out of range for its type',
  'Invalid Input': 'has an input DuckDB cannot use',
};

export async function compilePipeline(definition: PipelineDefinition, ctx: CompileContext): Promise<CompiledPipeline> {
  const prefix = ctx.pointerPrefix ?? '';
  const envelope = schemaErrors(PipelineDefinitionSchema, definition, prefix);
  if (envelope.length > 0) throw invalid(envelope);

  const input = await ctx.resolveDataset(definition.input, `${prefix}/input`);
  const ctes = [`${cte(0)} AS (SELECT * FROM ${input.relation})`];
  const params: DuckDBValue[] = [];
  /** Number of parameters used up to and including step i. */
  const paramsAfter: number[] = [];
  const joins: CompiledPipeline['joins'] = [];
  const steps: CompiledPipeline['steps'] = [];
  const knownWork: KnownWork[] = [];
  let schema = input.schema;

  const upTo = (index: number) => {
    if (!Number.isInteger(index) || index < -1 || index >= paramsAfter.length)
      throw new RangeError(`no step ${index} in a pipeline of ${paramsAfter.length}`);
    return {
      sql: `WITH ${ctes.slice(0, index + 2).join(', ')} SELECT * FROM ${cte(index + 1)}`,
      params: params.slice(0, index === -1 ? 0 : paramsAfter[index]),
    };
  };

  for (const [index, step] of definition.steps.entries()) {
    ctx.signal?.throwIfAborted();
    const pointer = `${prefix}/steps/${index}`;
    const kind = kindOf(step, pointer);
    const problems = schemaErrors(kind.schema, step, pointer);
    if (problems.length > 0) throw invalid(problems);
    const stepInput: StepInput = {
      from: cte(index),
      schema,
      pointer,
      paramOffset: params.length,
      resolveDataset: (ref, at) => ctx.resolveDataset(ref, at),
      variables: ctx.variables,
    };
    const compiled = await kind.compile(step, stepInput);
    if (compiled.knownRows) {
      const { sql, params: own, ...about } = compiled.knownRows;
      knownWork.push({
        index,
        type: kind.type,
        sql: `WITH ${ctes.join(', ')} SELECT rows FROM (${sql}) AS counted`,
        params: [...params, ...own],
        ...about,
      });
    }
    ctes.push(`${cte(index + 1)} AS (${compiled.sql})`);
    params.push(...compiled.params);
    paramsAfter.push(params.length);
    joins.push(...(compiled.inputs ?? []).map((dataset) => ({ ...dataset, stepIndex: index })));
    const statement = upTo(index);
    schema = await describeStep(ctx, statement.sql, statement.params, pointer, kind.type);
    steps.push({ index, type: kind.type, schema, multipliesRows: kind.multipliesRows === true });
  }

  const whole = upTo(steps.length - 1);
  return { input, joins, steps, knownWork, schema, sql: whole.sql, params: whole.params, upTo };
}

function kindOf(step: PipelineStep, pointer: string): StepKind {
  const kind = stepKind(step.type);
  if (kind) return kind;
  const types = STEP_KINDS.map((k) => k.type);
  const hint = didYouMean(nearMatches(step.type, types), quoteForMessage);
  throw stepError(
    `${pointer}/type`,
    `unknown step type ${quoteForMessage(step.type)}; ${hint ? `${hint} ` : ''}the step types are ${types.join(', ')}`,
  );
}

/**
 * The step's output columns as DuckDB binds them. A binding error is the step's fault (a cast with no conversion, a
 * type DuckDB cannot combine): a 400 at the step. DuckDB's own message is not passed on, as it quotes the SQL and
 * the input's file path; errors of any other kind are the engine's, so they stay 500s.
 */
async function describeStep(
  ctx: CompileContext,
  sql: string,
  params: DuckDBValue[],
  pointer: string,
  type: string,
): Promise<ColumnSchema[]> {
  try {
    return await ctx.engine.describe(sql, params, ctx.signal);
  } catch (e) {
    if (isAppError(e) || ctx.signal?.aborted === true) throw e;
    const problem = inputError(e);
    if (problem === null) throw e;
    throw stepError(pointer, `this ${type} step ${ENGINE_PROBLEMS[problem.kind]}`);
  }
}

function invalid(problems: FieldError[]) {
  const [first] = problems as [FieldError, ...FieldError[]];
  return errors.validation(`Invalid pipeline: ${first.message} (at ${first.pointer})`, problems);
}
