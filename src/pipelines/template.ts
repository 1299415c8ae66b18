import type { CompileContext } from './compile.js';
import type { PipelineDefinition, TemplateParameter } from './definition.js';
import { errors, type FieldError } from '../errors.js';

/**
 * Templates: a definition that declares `parameters` takes values at run and preview time. A step value written
 * `{ "$param": "name" }` is replaced by the parameter's value (any JSON position: a threshold, a column name, a
 * list); `$name` inside an expression is bound by the expression compiler as a typed placeholder, never spliced
 * into SQL text. Column parameters exist for substitution only: a column name is an identifier, not a value.
 */

export type Variables = NonNullable<CompileContext['variables']>;

export interface AppliedTemplate {
  /** The definition with every `$param` replaced and no `parameters` left. */
  definition: PipelineDefinition;
  /** Every declared parameter's value: the one given, else its default. */
  params: Record<string, unknown>;
  variables: Variables;
}

export interface TemplateOptions {
  /** Pointer of the definition in the request (default `/definition`); `$param` errors point into it. */
  definitionPointer?: string;
  /** Pointer of the parameter values in the request (default `/params`). */
  paramsPointer?: string;
}

const PARAM_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/**
 * Checks `given` against the declared parameters and substitutes them. Throws 400 `validation_failed` for an
 * unknown name, a value of the wrong type, a missing value without a default, or a `$param` naming nothing.
 */
export function applyTemplate(
  definition: PipelineDefinition,
  given: Record<string, unknown> = {},
  options: TemplateOptions = {},
): AppliedTemplate {
  const params = resolveParams(definition, given, options);
  const missing = declared(definition).find((p) => !(p.name in params));
  if (missing)
    throw paramError(
      `${options.paramsPointer ?? '/params'}/${missing.name}`,
      `parameter '${missing.name}' is required (it has no default)`,
    );
  return substitute(definition, params, options);
}

/**
 * What a template can be checked with when it is saved: substituted and compiled with its defaults when every
 * parameter has one; null when some parameter must be given at run time (then only its structure is checked).
 */
export function applyDefaults(definition: PipelineDefinition, options: TemplateOptions = {}): AppliedTemplate | null {
  const params = resolveParams(definition, {}, options);
  const complete = declared(definition).every((p) => p.name in params);
  // The `$param` references are checked either way.
  const applied = substitute(definition, complete ? params : placeholders(definition), options);
  return complete ? applied : null;
}

function declared(definition: PipelineDefinition): TemplateParameter[] {
  return definition.parameters ?? [];
}

/** Given values checked by type, defaults filled in; parameters with neither are absent from the result. */
function resolveParams(
  definition: PipelineDefinition,
  given: Record<string, unknown>,
  options: TemplateOptions,
): Record<string, unknown> {
  const definitionPointer = options.definitionPointer ?? '/definition';
  const paramsPointer = options.paramsPointer ?? '/params';
  const parameters = declared(definition);
  const seen = new Set<string>();
  parameters.forEach((p, i) => {
    const at = `${definitionPointer}/parameters/${i}`;
    if (!PARAM_NAME.test(p.name))
      throw paramError(
        `${at}/name`,
        'a parameter name is a letter or _ followed by letters, digits or _ (at most 64 characters)',
      );
    if (seen.has(p.name)) throw paramError(`${at}/name`, `parameter '${p.name}' is declared twice`);
    seen.add(p.name);
    if (p.default !== undefined) checkValue(p, p.default, `${at}/default`);
  });
  const byName = new Map(parameters.map((p) => [p.name, p]));
  for (const name of Object.keys(given)) {
    if (!byName.has(name)) {
      const known = parameters.map((p) => `'${p.name}'`).join(', ');
      throw paramError(
        `${paramsPointer}/${escapePointer(name)}`,
        `no parameter named '${name}'${known ? ` (declared: ${known})` : ' (the definition declares none)'}`,
      );
    }
  }
  const out: Record<string, unknown> = {};
  for (const p of parameters) {
    if (Object.hasOwn(given, p.name)) out[p.name] = checkValue(p, given[p.name], `${paramsPointer}/${p.name}`);
    else if (p.default !== undefined) out[p.name] = p.default;
  }
  return out;
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?)?(Z|[+-]\d{2}:?\d{2})?$/;

/** The value when it fits the parameter's type; a 400 at `pointer` otherwise. Null stands for SQL NULL (not for columns). */
function checkValue(p: TemplateParameter, value: unknown, pointer: string): unknown {
  const fail = (expected: string) =>
    paramError(pointer, `parameter '${p.name}' must be ${expected}, got ${describe(value)}`);
  if (value === null) {
    if (p.type === 'column') throw fail('a column name');
    return null;
  }
  switch (p.type) {
    case 'number':
      if (typeof value !== 'number' || !Number.isFinite(value)) throw fail('a number');
      return value;
    case 'integer':
      if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw fail('an integer');
      return value;
    case 'boolean':
      if (typeof value !== 'boolean') throw fail('true or false');
      return value;
    case 'text':
      if (typeof value !== 'string') throw fail('text');
      return value;
    case 'column':
      if (typeof value !== 'string' || value === '') throw fail('a column name');
      return value;
    case 'date':
      if (typeof value !== 'string' || !isDate(value)) throw fail('a date (YYYY-MM-DD)');
      return value;
    case 'timestamp':
      if (typeof value !== 'string' || !TIMESTAMP.test(value) || Number.isNaN(Date.parse(value.replace(' ', 'T'))))
        throw fail('an ISO 8601 timestamp');
      return value;
  }
}

function isDate(value: string): boolean {
  const m = DATE.exec(value);
  if (!m) return false;
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return d.toISOString().startsWith(value);
}

/** Stand-ins for parameters without a value when only the structure is checked. */
function placeholders(definition: PipelineDefinition): Record<string, unknown> {
  return Object.fromEntries(declared(definition).map((p) => [p.name, p.default ?? null]));
}

function substitute(
  definition: PipelineDefinition,
  params: Record<string, unknown>,
  options: TemplateOptions,
): AppliedTemplate {
  const parameters = declared(definition);
  const known = new Set(parameters.map((p) => p.name));
  const stepsPointer = `${options.definitionPointer ?? '/definition'}/steps`;
  const steps = definition.steps.map(
    (step, i) => replaceParams(step, `${stepsPointer}/${i}`, params, known) as typeof step,
  );
  const { parameters: _declared, ...rest } = definition;
  const variables: Variables = {};
  for (const p of parameters) {
    if (p.type === 'column' || !(p.name in params)) continue;
    variables[p.name] = {
      type: p.type === 'integer' ? 'number' : p.type,
      value: params[p.name] as string | number | boolean | null,
    };
  }
  return { definition: { ...rest, steps }, params, variables };
}

function replaceParams(value: unknown, pointer: string, params: Record<string, unknown>, known: Set<string>): unknown {
  if (Array.isArray(value)) return value.map((v, i) => replaceParams(v, `${pointer}/${i}`, params, known));
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value);
  if (entries.some(([k]) => k === '$param')) {
    const name = (value as { $param: unknown }).$param;
    if (entries.length !== 1 || typeof name !== 'string')
      throw paramError(pointer, 'a parameter reference is exactly { "$param": "<name>" }');
    if (!known.has(name))
      throw paramError(`${pointer}/$param`, `no parameter named '${name}' is declared in parameters`);
    return params[name];
  }
  return Object.fromEntries(
    entries.map(([k, v]) => [k, replaceParams(v, `${pointer}/${escapePointer(k)}`, params, known)]),
  );
}

function paramError(pointer: string, message: string) {
  const fieldErrors: FieldError[] = [{ pointer, message }];
  return errors.validation(`Invalid pipeline parameters: ${message} (at ${pointer})`, fieldErrors);
}

const escapePointer = (segment: string): string => segment.replaceAll('~', '~0').replaceAll('/', '~1');

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'string') return `text ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  return `${typeof value === 'object' ? 'an object' : `${typeof value} ${String(value)}`}`;
}
