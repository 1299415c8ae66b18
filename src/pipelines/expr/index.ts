/**
 * The expression language of pipeline steps (filter, derive) and analytics queries: parsed to a tree, type
 * checked against the dataset's columns and compiled to DuckDB SQL with quoted columns and `$n` parameters.
 *
 * The SQL assumes the engine's session time zone is UTC (Engine.open sets it): text compared with naive
 * TIMESTAMP columns and timestamps rendered as text are UTC.
 */
import type { ColumnSchema } from '../../engine/sql.js';
import { Compiler, type ExprParam, type ExprVariable } from './compile.js';
import { DEFAULT_POINTER, ExprError } from './errors.js';
import { parseExpression } from './parser.js';
import { columnType, describeType, type ValueType } from './types.js';

export type { Expr } from './ast.js';
export type { ExprParam, ExprVariable } from './compile.js';
export type { ValueType } from './types.js';
export { caret, EXPR_LIMITS, ExprError } from './errors.js';
export { FUNCTIONS, TIME_UNITS } from './functions.js';
export { parseExpression } from './parser.js';

export type ExprColumn = Pick<ColumnSchema, 'name' | 'type'>;

export interface CompileOptions {
  /** `boolean` for filters: the expression must be a condition. Default `any`. */
  expect?: 'boolean' | 'any';
  /** JSON pointer of the expression in the request, e.g. `/steps/2/expression`; default `/expression`. */
  pointer?: string;
  /** Parameters already used by the surrounding statement: the first one here is `$(paramOffset + 1)`. Default 0. */
  paramOffset?: number;
  /** Values of the template parameters the expression may use as `$name`; an unknown `$name` is an error. */
  variables?: Readonly<Record<string, ExprVariable>>;
}

export interface CompiledExpression {
  /** A parenthesized DuckDB SQL expression over the columns, with `$n` placeholders. */
  sql: string;
  /** Values for the placeholders: `params[i]` is `$(paramOffset + i + 1)`. */
  params: ExprParam[];
  type: ValueType;
  /** The columns referenced, by their schema names, in order of first use. */
  columns: string[];
}

/** Parses, checks and compiles `source`; throws ExprError (400 validation_failed) when it is not a valid expression. */
export function compileExpression(
  source: string,
  columns: readonly ExprColumn[],
  options: CompileOptions = {},
): CompiledExpression {
  const pointer = options.pointer ?? DEFAULT_POINTER;
  const tree = parseExpression(source, { pointer });
  const scope = {
    columns: new Map(columns.map((c) => [c.name, columnType(c.type)])),
    variables: new Map(Object.entries(options.variables ?? {})),
  };
  const compiler = new Compiler(scope, pointer, options.paramOffset ?? 0);
  const result = compiler.compile(tree);
  if (options.expect === 'boolean' && result.type !== 'boolean' && result.type !== 'any') {
    throw new ExprError(
      `expected a condition (true/false), but the expression is ${describeType(result.type)}`,
      tree.offset,
      pointer,
    );
  }
  return { sql: result.sql, params: compiler.params, type: result.type, columns: [...compiler.referenced] };
}
