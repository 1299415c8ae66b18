import { Type, type Static } from 'typebox';
import { ident } from '../../engine/sql.js';
import { stepError } from './common.js';
import type { CompiledStep, StepInput, StepKind } from './types.js';

/**
 * A random subset of the rows: exactly `rows` rows (all when there are fewer), or each row with probability `fraction`.
 *
 * Selection is hash-based rather than DuckDB's `USING SAMPLE`, whose REPEATABLE seed is only reproducible on one
 * thread: each row is ranked by `hash(<all its columns>, seed)`, so with a `seed` the same data gives the same sample
 * whatever the row order, thread count or run. Rows equal in every column share a hash, so they are kept or dropped
 * together by `fraction` (and are adjacent in rank for `rows`). Without a seed one is drawn at compile time, so a
 * preview and a run of the same pipeline may differ. Rows come out in no particular order.
 */
const SampleSchema = Type.Object(
  {
    type: Type.Literal('sample'),
    rows: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000_000, description: 'How many rows to keep' })),
    fraction: Type.Optional(
      Type.Number({ exclusiveMinimum: 0, maximum: 1, description: 'Share of rows to keep, in (0, 1]' }),
    ),
    seed: Type.Optional(Type.Integer({ minimum: 0, maximum: 2 ** 31 - 1, description: 'Makes the sample repeatable' })),
  },
  { additionalProperties: false },
);

export type SampleStep = Static<typeof SampleSchema>;

function compile(step: SampleStep, input: StepInput): CompiledStep {
  const { pointer } = input;
  if (step.rows !== undefined && step.fraction !== undefined)
    throw stepError(`${pointer}/fraction`, "give either 'rows' or 'fraction', not both");
  if (step.rows === undefined && step.fraction === undefined)
    throw stepError(`${pointer}/rows`, "missing required field 'rows' (or 'fraction')");
  const seed = step.seed ?? Math.floor(Math.random() * 2 ** 31);
  const n = input.paramOffset + 1;
  const rank = `hash(${input.schema.map((c) => ident(c.name)).join(', ')}, CAST($${n} AS BIGINT))`;
  if (step.rows !== undefined) {
    return {
      sql: `SELECT * FROM ${input.from} ORDER BY ${rank} LIMIT CAST($${n + 1} AS BIGINT)`,
      params: [seed, step.rows],
    };
  }
  // hash() is a UBIGINT spread evenly over [0, 2^64): its share of 2^64 is uniform in [0, 1).
  return {
    sql: `SELECT * FROM ${input.from} WHERE CAST(${rank} AS DOUBLE) / 18446744073709551616.0 < CAST($${n + 1} AS DOUBLE)`,
    params: [seed, step.fraction as number],
  };
}

export const sampleStep: StepKind<SampleStep> = {
  type: 'sample',
  summary: 'Keep a random (seeded: repeatable) subset of the rows',
  schema: SampleSchema,
  compile,
};
