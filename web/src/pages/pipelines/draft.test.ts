import { describe, expect, it } from 'vitest';
import { definitionOf, draftOf, errorsUnder, formParameters, paramsSchema, stepIndexOf } from './draft';

describe('pipeline drafts', () => {
  it('round-trips a definition, keeping output fields the builder does not edit', () => {
    const definition = {
      input: { datasetId: 'ds_1' },
      steps: [{ type: 'filter', expression: 'x > 1' }],
      output: { name: 'out', datasetId: 'ds_2' },
    };
    const draft = draftOf({ name: 'p', description: '', definition });
    expect(definitionOf(draft, definition)).toEqual(definition);
    expect(definitionOf({ ...draft, outputName: '' }, definition).output).toEqual({ datasetId: 'ds_2' });
    expect(definitionOf({ ...draft, outputName: '' })).not.toHaveProperty('output');
  });

  it('maps API pointers (with or without /body) to the part of the builder they name', () => {
    const errors = [
      { pointer: '/definition/steps/1/expression', message: 'unknown column' },
      { pointer: '/body/definition/steps/10/by/0/column', message: 'no column' },
      { pointer: '/definition/steps/1', message: 'whole step' },
    ];
    expect(errorsUnder(errors, '/definition/steps/1')).toEqual([
      { pointer: '/expression', message: 'unknown column' },
      { pointer: '', message: 'whole step' },
    ]);
    expect(errorsUnder(errors, '/definition/steps/10')).toEqual([{ pointer: '/by/0/column', message: 'no column' }]);
    expect(stepIndexOf('/body/definition/steps/10/by')).toBe(10);
    expect(stepIndexOf('/params/t')).toBeNull();
  });

  it("makes a template's value form from its parameters: required unless they have a default", () => {
    const schema = paramsSchema([
      { name: 'threshold', type: 'number', default: 30 },
      { name: 'city', type: 'column' },
    ]);
    expect(schema.required).toEqual(['city']);
    expect(schema.properties?.threshold).toMatchObject({ type: 'number', default: 30, title: '$threshold' });
  });

  it('offers each named parameter to step fields by the JSON type of its values', () => {
    expect(
      formParameters([
        { name: 'limit', type: 'integer' },
        { name: 'key', type: 'column' },
        { name: '', type: 'number' },
      ]),
    ).toEqual([
      { name: 'limit', type: 'integer' },
      { name: 'key', type: 'string' },
    ]);
  });
});
