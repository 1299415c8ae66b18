import { Type } from 'typebox';
import { describe, expect, it } from 'vitest';
import { Id } from './schema-types.js';
import { datasetIdFields } from './dataset-fields.js';

describe('datasetIdFields', () => {
  const Ref = Type.Object(
    { datasetId: Id('ds', 'the dataset'), versionId: Type.Optional(Id('dv', 'a version')) },
    { $id: 'Ref' },
  );
  const registered = new Map<string, unknown>([['Ref', Ref]]);
  const resolve = (id: string) => registered.get(id);

  it('finds dataset ids in params, query, body and headers, through references, arrays, maps and unions', () => {
    const fields = datasetIdFields(
      {
        params: Type.Object({ id: Id('ds', 'Dataset id') }),
        querystring: Type.Object({
          version: Type.Optional(Id('dv', 'not a dataset')),
          from: Type.Optional(Id('ds', 'a dataset')),
        }),
        body: Type.Object({
          input: Type.Ref('Ref'),
          joins: Type.Array(Type.Ref('Ref')),
          byName: Type.Record(Type.String(), Id('ds', 'x')),
          either: Type.Union([Type.Object({ target: Id('ds', 'y') }), Type.Null()]),
          name: Type.String(),
        }),
        headers: Type.Object({ 'x-dataset': Id('ds', 'z') }),
      },
      resolve,
    );
    expect(fields.sort()).toEqual(
      [
        '/body/byName/*',
        '/body/either/target',
        '/body/input/datasetId',
        '/body/joins/*/datasetId',
        '/headers/x-dataset',
        '/params/id',
        '/query/from',
      ].sort(),
    );
  });

  it('answers nothing for routes without dataset ids, and reads a schema that contains itself once', () => {
    expect(datasetIdFields(undefined, resolve)).toEqual([]);
    expect(datasetIdFields({ params: Type.Object({ id: Id('pl', 'Pipeline id') }) }, resolve)).toEqual([]);
    const loop = {
      $id: 'Loop',
      type: 'object',
      properties: { next: { $ref: 'Loop' }, datasetId: { type: 'string', pattern: '^ds_x$' } },
    };
    expect(datasetIdFields({ body: { $ref: 'Loop' } }, (id) => (id === 'Loop' ? loop : undefined))).toEqual([
      '/body/datasetId',
    ]);
  });
});
