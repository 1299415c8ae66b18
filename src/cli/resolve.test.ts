import { describe, expect, it } from 'vitest';
import { ambiguous, DATASETS, looksLikeId, notFound, PIPELINES } from './resolve.js';

describe('names or ids on the command line', () => {
  it('takes only the exact form of an id of the kind as an id', () => {
    expect(looksLikeId(DATASETS, 'ds_01J00000000000000000000000')).toBe(true);
    expect(looksLikeId(PIPELINES, 'ds_01J00000000000000000000000')).toBe(false);
    expect(looksLikeId(DATASETS, 'ds_01j00000000000000000000000')).toBe(false);
    expect(looksLikeId(DATASETS, 'ds_01J0000000000000000000000')).toBe(false);
    expect(looksLikeId(DATASETS, 'readings')).toBe(false);
    // I, L, O and U are not in the id alphabet: a name may look almost like an id.
    expect(looksLikeId(DATASETS, 'ds_01JOOOOOOOOOOOOOOOOOOOOOOO')).toBe(false);
  });

  it('lists the candidates of an ambiguous name as a table, made safe for the terminal, counting those not listed', () => {
    const candidates = [
      { id: 'ds_01J00000000000000000000001', name: 'device summary', createdAt: 'not a date' },
      { id: 'ds_01J00000000000000000000002', name: 'device summary\u001b[2J', createdAt: 'not a date' },
    ];
    const failure = ambiguous(DATASETS, 'device summary', candidates, 3);
    expect(failure.message).toBe('3 datasets are named "device summary"; give the id of the one you mean:');
    expect(failure.lines).toEqual([
      'ID                             NAME                     CREATED',
      'ds_01J00000000000000000000001  device summary           not a date',
      'ds_01J00000000000000000000002  device summary\\u001b[2J  not a date',
      '… and 1 more (npx weir datasets ls --search)',
    ]);
    expect(failure.body).toEqual({
      code: 'ambiguous_name',
      detail: '3 datasets are named "device summary"',
      candidates,
    });
  });

  it('suggests the nearest names for one that matches nothing, and none when nothing is near', () => {
    const names = ['readings', 'Readings 2024', 'devices', 'sales'];
    const typo = notFound(DATASETS, 'readngs', names);
    expect(typo.message).toBe(
      'no dataset is named "readngs" in this workspace; did you mean "readings"? (see npx weir datasets ls)',
    );
    expect(typo.body).toEqual({
      code: 'name_not_found',
      detail: 'no dataset is named "readngs"',
      suggestions: ['readings'],
    });
    expect(notFound(PIPELINES, 'device', names).message).toBe(
      'no pipeline is named "device" in this workspace; did you mean "devices"? (see npx weir pipelines ls)',
    );
    expect(notFound(DATASETS, 'zzz', names).message).toBe(
      'no dataset is named "zzz" in this workspace (see npx weir datasets ls)',
    );
  });
});
