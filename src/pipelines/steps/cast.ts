import { Type, type Static } from 'typebox';
import { ident, typeFamily, type TypeFamily } from '../../engine/sql.js';
import { StringEnum } from '../../http/schema-types.js';
import { quoteForMessage } from '../expr/errors.js';
import { pointerToken, requireColumn, stepError } from './common.js';
import type { CompiledStep, StepInput, StepKind } from './types.js';

/**
 * Converts columns to another type, in place. `onError: 'null'` turns a value that does not convert into null
 * (TRY_CAST); `fail`, the default, leaves DuckDB's CAST to stop the run at the first such value, which the service
 * reports as a failed job. A cast DuckDB has no conversion for at all (true/false to a date, a list to a number) is
 * refused when the pipeline is compiled: DuckDB itself would only notice while running. Doubles cast to integers are
 * rounded (half to even); timestamps cast to dates use UTC.
 */
export const CAST_TYPES = {
  integer: 'BIGINT',
  number: 'DOUBLE',
  text: 'VARCHAR',
  boolean: 'BOOLEAN',
  timestamp: 'TIMESTAMPTZ',
  date: 'DATE',
} as const;
export type CastType = keyof typeof CAST_TYPES;

/** The type families DuckDB converts to each target (text converts to and from everything, checked per value). */
const CONVERTS_FROM: Readonly<Record<CastType, readonly TypeFamily[]>> = {
  integer: ['integer', 'float', 'decimal', 'boolean', 'text'],
  number: ['integer', 'float', 'decimal', 'boolean', 'text'],
  boolean: ['integer', 'float', 'decimal', 'boolean', 'text'],
  timestamp: ['timestamp', 'date', 'text'],
  date: ['timestamp', 'date', 'text'],
  text: ['integer', 'float', 'decimal', 'boolean', 'text', 'timestamp', 'date', 'time', 'binary', 'nested', 'other'],
};

const CastSchema = Type.Object(
  {
    type: Type.Literal('cast'),
    columns: Type.Record(Type.String(), StringEnum(Object.keys(CAST_TYPES) as CastType[]), {
      minProperties: 1,
      maxProperties: 1000,
      description: 'Column → new type',
    }),
    onError: Type.Optional(
      StringEnum(['fail', 'null'] as const, {
        description: "What a value that does not convert becomes: 'fail' (default) stops the run, 'null' gives null",
      }),
    ),
  },
  { additionalProperties: false },
);

export type CastStep = Static<typeof CastSchema>;

function compile(step: CastStep, input: StepInput): CompiledStep {
  const fn = step.onError === 'null' ? 'TRY_CAST' : 'CAST';
  const targets = new Map<string, string>();
  for (const [name, type] of Object.entries(step.columns)) {
    const at = `${input.pointer}/columns/${pointerToken(name)}`;
    const column = requireColumn(input.schema, name, at);
    if (!CONVERTS_FROM[type].includes(typeFamily(column.type)))
      throw stepError(at, `column ${quoteForMessage(name)} is ${column.type}, which cannot be converted to ${type}`);
    targets.set(column.name, CAST_TYPES[type]);
  }
  const select = input.schema.map((c) => {
    const target = targets.get(c.name);
    return target === undefined ? ident(c.name) : `${fn}(${ident(c.name)} AS ${target}) AS ${ident(c.name)}`;
  });
  return { sql: `SELECT ${select.join(', ')} FROM ${input.from}`, params: [] };
}

export const castStep: StepKind<CastStep> = {
  type: 'cast',
  summary: 'Convert columns to another type',
  schema: CastSchema,
  compile,
};
