import { Type, type Static } from 'typebox';
import { ident } from '../../engine/sql.js';
import { quoteForMessage } from '../expr/errors.js';
import { ColumnName, pointerToken, requireColumn, stepError } from './common.js';
import type { CompiledStep, StepInput, StepKind } from './types.js';

/**
 * Renames columns in place (`{ "old": "new" }`); the column order is kept. Names may be swapped (`a→b, b→a`): only the
 * resulting names must be unique, ignoring case as DuckDB does.
 */
const RenameSchema = Type.Object(
  {
    type: Type.Literal('rename'),
    columns: Type.Record(Type.String(), ColumnName, {
      minProperties: 1,
      maxProperties: 1000,
      description: 'Old name → new name',
    }),
  },
  { additionalProperties: false },
);

export type RenameStep = Static<typeof RenameSchema>;

function compile(step: RenameStep, input: StepInput): CompiledStep {
  const renames = new Map<string, string>();
  for (const [from, to] of Object.entries(step.columns))
    renames.set(requireColumn(input.schema, from, `${input.pointer}/columns/${pointerToken(from)}`).name, to);
  const owners = new Map<string, string>();
  const select = input.schema.map((c) => {
    const name = renames.get(c.name) ?? c.name;
    const earlier = owners.get(name.toLowerCase());
    if (earlier !== undefined) {
      // Point at whichever of the two was renamed (the other may be an untouched column).
      const renamed = renames.has(c.name) ? c.name : earlier;
      throw stepError(
        `${input.pointer}/columns/${pointerToken(renamed)}`,
        `renaming gives two columns named ${quoteForMessage(name)} (names are compared ignoring case)`,
      );
    }
    owners.set(name.toLowerCase(), c.name);
    return name === c.name ? ident(c.name) : `${ident(c.name)} AS ${ident(name)}`;
  });
  return { sql: `SELECT ${select.join(', ')} FROM ${input.from}`, params: [] };
}

export const renameStep: StepKind<RenameStep> = {
  type: 'rename',
  summary: 'Rename columns, keeping their order',
  schema: RenameSchema,
  compile,
};
