import { Type, type Static } from 'typebox';
import { ident, typeFamily, type ColumnSchema, type TypeFamily } from '../../engine/sql.js';
import { NO_CONTROL_CHARACTERS } from '../../http/schema-types.js';
import { quoteForMessage } from '../expr/errors.js';
import { ColumnName, requireColumn, stepError } from './common.js';
import type { CompiledStep, StepInput, StepKind } from './types.js';

/**
 * Join another dataset (latest or pinned version) on equal keys. SQL semantics throughout: null keys never match,
 * and a key value present n times on the left and m times on the right gives n·m rows.
 *
 * Output: every left column, then every right column but the right keys; a right name already on the left takes the
 * suffix (default `_right`).
 */

const JoinSchema = Type.Object(
  {
    type: Type.Literal('join'),
    dataset: Type.Object(
      { datasetId: Type.String({ minLength: 1 }), versionId: Type.Optional(Type.String({ minLength: 1 })) },
      { additionalProperties: false },
    ),
    on: Type.Array(
      Type.Union([
        Type.String({ ...ColumnName, description: 'A key with the same name on both sides' }),
        Type.Object({ left: ColumnName, right: ColumnName }, { additionalProperties: false }),
      ]),
      { minItems: 1 },
    ),
    how: Type.Union([Type.Literal('inner'), Type.Literal('left')]),
    suffix: Type.Optional(
      Type.String({
        minLength: 1,
        pattern: NO_CONTROL_CHARACTERS,
        description: "Appended to a right column whose name the left already has (default '_right')",
      }),
    ),
  },
  { additionalProperties: false },
);

export type JoinStep = Static<typeof JoinSchema>;

const DEFAULT_SUFFIX = '_right';

/** Families that compare without a cast that could fail on some value: numbers with numbers, dates with timestamps. */
const comparable = (family: TypeFamily): string => {
  if (family === 'integer' || family === 'float' || family === 'decimal') return 'number';
  if (family === 'timestamp' || family === 'date') return 'temporal';
  return family;
};

interface Key {
  left: ColumnSchema;
  right: ColumnSchema;
}

function requireKeys(step: JoinStep, input: StepInput, right: readonly ColumnSchema[]): Key[] {
  return step.on.map((key, j) => {
    const at = `${input.pointer}/on/${j}`;
    const [leftName, rightName, leftAt, rightAt] =
      typeof key === 'string' ? [key, key, at, at] : [key.left, key.right, `${at}/left`, `${at}/right`];
    const left = requireColumn(input.schema, leftName, leftAt);
    const other = requireColumn(right, rightName, rightAt);
    const [lf, rf] = [typeFamily(left.type), typeFamily(other.type)];
    if (comparable(lf) !== comparable(rf) || ['nested', 'other'].includes(lf)) {
      throw stepError(
        at,
        `key ${quoteForMessage(left.name)} (${left.type}) cannot be compared with ${quoteForMessage(other.name)} (${other.type}) of the joined dataset`,
      );
    }
    return { left, right: other };
  });
}

/** `l = r`; text of different types (UUID, ENUM, VARCHAR) is compared as VARCHAR so no value fails a cast. */
function condition({ left, right }: Key): string {
  const [l, r] = [`weir_left.${ident(left.name)}`, `weir_right.${ident(right.name)}`];
  if (typeFamily(left.type) === 'text' && left.type !== right.type)
    return `CAST(${l} AS VARCHAR) = CAST(${r} AS VARCHAR)`;
  return `${l} = ${r}`;
}

async function compile(step: JoinStep, input: StepInput): Promise<CompiledStep> {
  const resolved = await input.resolveDataset(step.dataset, `${input.pointer}/dataset`);
  const keys = requireKeys(step, input, resolved.schema);
  const suffix = step.suffix ?? DEFAULT_SUFFIX;
  // Lower-cased: DuckDB takes names that differ only in case for the same column.
  const taken = new Set(input.schema.map((c) => c.name.toLowerCase()));
  const rightKeys = new Set(keys.map((k) => k.right.name));
  const rightColumns = resolved.schema
    .filter((c) => !rightKeys.has(c.name))
    .map((c) => {
      const name = taken.has(c.name.toLowerCase()) ? `${c.name}${suffix}` : c.name;
      if (taken.has(name.toLowerCase()))
        throw stepError(
          `${input.pointer}/suffix`,
          `the joined column ${quoteForMessage(c.name)} would be named ${quoteForMessage(name)}, which already exists; choose another suffix`,
        );
      taken.add(name.toLowerCase());
      return `weir_right.${ident(c.name)} AS ${ident(name)}`;
    });
  const columns = [...input.schema.map((c) => `weir_left.${ident(c.name)}`), ...rightColumns].join(', ');
  const how = step.how === 'inner' ? 'INNER JOIN' : 'LEFT JOIN';
  const on = keys.map(condition).join(' AND ');
  return {
    sql: `SELECT ${columns} FROM ${input.from} AS weir_left ${how} ${resolved.relation} AS weir_right ON ${on}`,
    params: [],
    inputs: [resolved],
  };
}

export const joinStep: StepKind<JoinStep> = {
  type: 'join',
  summary: 'Join another dataset on equal key columns (inner or left)',
  // A key that repeats on both sides makes every pair: n × m rows.
  multipliesRows: true,
  schema: JoinSchema,
  compile,
};
