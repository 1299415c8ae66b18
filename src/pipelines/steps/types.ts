import type { TSchema } from 'typebox';
import type { DuckDBValue } from '@duckdb/node-api';
import type { ColumnSchema } from '../../engine/sql.js';
import type { ExprVariable } from '../expr/index.js';

/**
 * The contract every pipeline step follows. A step is one `{ "type": "...", ...fields }` object of a pipeline
 * definition; its module exports a StepKind: the TypeBox schema of its fields and a compiler that turns the
 * step into one SELECT over the previous step's relation.
 *
 * The SQL a step returns is made of its own constants, `ident()`-quoted column names and `$n` placeholders:
 * user text (column names, values, expressions) never enters it any other way.
 */
export interface StepInput {
  /** Quoted name of the relation holding the previous step's rows (a CTE such as `"s2"`): `SELECT … FROM ${from}`. */
  from: string;
  /** The columns of `from`, with their DuckDB types (read from DuckDB, not guessed). */
  schema: ColumnSchema[];
  /** JSON pointer of this step in the request, e.g. `/steps/3`; errors name `${pointer}/<field>`. */
  pointer: string;
  /** Placeholders already used by earlier steps: this step's first parameter is `$(paramOffset + 1)`. */
  paramOffset: number;
  /** A template's values for `$name` in expressions (filter, derive); absent when the pipeline declares no parameters. */
  variables?: Record<string, ExprVariable>;
  /** The relation of another dataset (join): resolved and access-checked by the caller. */
  resolveDataset(ref: DatasetRef, pointer: string): Promise<ResolvedDataset>;
}

export interface DatasetRef {
  datasetId: string;
  /** A pinned version; default the latest. */
  versionId?: string;
}

export interface ResolvedDataset {
  datasetId: string;
  versionId: string;
  /** A relation expression to put after FROM/JOIN, e.g. `read_parquet('…')`. */
  relation: string;
  schema: ColumnSchema[];
}

export interface CompiledStep {
  /** One SELECT statement (no trailing semicolon) over `input.from` and, for a join, the resolved relation. */
  sql: string;
  /** Values of this step's placeholders, in order: `params[i]` is `$(paramOffset + i + 1)`. */
  params: DuckDBValue[];
  /** Datasets this step read besides its input (join): recorded in lineage. */
  inputs?: ResolvedDataset[];
  /**
   * The rows the step will make, when that is known before it runs and may far exceed its input (a resample's
   * filled grid of buckets): counted first, the work is refused (422) if the count passes WEIR_MAX_OUTPUT_ROWS.
   */
  knownRows?: KnownRows;
}

export interface KnownRows {
  /** One SELECT over `input.from` answering one row whose `rows` column is the count (a DOUBLE: it may pass BIGINT). */
  sql: string;
  /** Values of its placeholders, numbered like the step's own: `params[i]` is `$(paramOffset + i + 1)`. */
  params: DuckDBValue[];
  /** What the rows are, for the message: `buckets from each group's first to its last`. */
  what: string;
  /** How to ask for fewer, for the message: `use a wider 'every' or filter the time range first`. */
  hint: string;
  /** The field that decides the count (`${pointer}/every`): the error points there. */
  pointer: string;
}

export interface StepKind<T extends { type: string } = { type: string }> {
  type: T['type'];
  /** One line for docs and error messages. */
  summary: string;
  /**
   * The step may make more rows than it receives, by how much nobody knows before it runs (a join): a run of a
   * pipeline with such a step is bounded while it writes. Every other step makes at most its input's rows, or says
   * how many it makes in `knownRows`.
   */
  multipliesRows?: boolean;
  /** The step's JSON schema (TypeBox), `type` included as a literal; additionalProperties false. */
  schema: TSchema;
  /**
   * Checks the step against its input schema (unknown column → 400 with a pointer at the field and a
   * did-you-mean; wrong type → 400) and compiles it. Throws AppError 400 `validation_failed`.
   */
  compile(step: T, input: StepInput): Promise<CompiledStep> | CompiledStep;
}
