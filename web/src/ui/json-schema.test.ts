import { describe, expect, it } from 'vitest';
import {
  fieldPointers,
  humanize,
  initialValue,
  kindOf,
  placeErrors,
  variantIndex,
  type JsonSchema,
} from './json-schema';

// Shapes as GET /api/v1/pipelines/steps answers them (TypeBox output).
const column: JsonSchema = { type: 'string', minLength: 1, pattern: '^[^\\u0000-\\u001f]*$' };
const sort: JsonSchema = {
  type: 'object',
  required: ['type', 'by'],
  properties: {
    type: { type: 'string', const: 'sort' },
    by: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        required: ['column'],
        properties: {
          column,
          descending: { type: 'boolean' },
          nulls: { type: 'string', enum: ['first', 'last'] },
        },
      },
    },
  },
};
const rename: JsonSchema = { type: 'object', patternProperties: { '^.*$': column }, minProperties: 1 } as JsonSchema;
const joinKey: JsonSchema = {
  anyOf: [column, { type: 'object', required: ['left', 'right'], properties: { left: column, right: column } }],
};

describe('JSON schema forms', () => {
  it('chooses a control per schema: unions of constants are choices, pattern-keyed objects are maps', () => {
    expect(kindOf({ type: 'string', const: 'sort' }).kind).toBe('hidden');
    expect(kindOf({ anyOf: [{ const: 'iqr' }, { const: 'zscore' }] })).toEqual({
      kind: 'choice',
      options: ['iqr', 'zscore'],
    });
    expect(kindOf(rename).kind).toBe('map');
    expect(kindOf(joinKey).kind).toBe('union');
    expect(kindOf(sort.properties!.by!).kind).toBe('array');
    expect(kindOf({}).kind).toBe('json');
  });

  it('starts a step with its type and its required lists holding one item', () => {
    expect(initialValue(sort)).toEqual({ type: 'sort', by: [{}] });
    expect(initialValue({ type: 'integer', default: 3 })).toBe(3);
  });

  it('labels properties from their names', () => {
    expect(humanize('orderBy')).toBe('Order by');
    expect(humanize('drop_nulls')).toBe('Drop nulls');
  });

  it('picks the union variant a value has the shape of', () => {
    const variants = joinKey.anyOf!;
    expect(variantIndex(variants, 'id')).toBe(0);
    expect(variantIndex(variants, { left: 'a', right: 'b' })).toBe(1);
  });

  it('places an error at the field its pointer names, or the nearest field shown above it', () => {
    const value = { type: 'sort', by: [{ column: 'x' }] };
    const pointers = fieldPointers(sort, value);
    expect(pointers).toContain('/by/0/column');
    expect(pointers).not.toContain('/type');
    const placed = placeErrors(
      [
        { pointer: '/by/0/column', message: "no column named 'x'" },
        { pointer: '/by/3', message: 'no such item' },
        { pointer: '/type', message: 'unknown step type' },
      ],
      pointers,
    );
    expect(placed.get('/by/0/column')).toBe("no column named 'x'");
    expect(placed.get('/by')).toBe('no such item');
    expect(placed.get('')).toBe('unknown step type');
  });

  it('names map entries by their escaped key', () => {
    expect(fieldPointers(rename, { 'a/b': 'c' })).toEqual(['', '/a~1b']);
  });
});
