import { describe, expect, it } from 'vitest';
import { LIST_DEFAULTS, toApiQuery, type ListView } from './list-view';

const view = (changes: Partial<ListView>): ListView => ({ ...LIST_DEFAULTS, ...changes });

describe('the datasets list view → API query', () => {
  it('pages by limit and offset, newest first by default, sending no empty filter', () => {
    expect(toApiQuery(LIST_DEFAULTS)).toEqual({ limit: 50, offset: 0, sort: '-createdAt' });
    expect(toApiQuery(view({ page: '3', limit: '25' }))).toMatchObject({ limit: 25, offset: 50 });
  });

  it('sends the filters that are set, trimmed', () => {
    expect(toApiQuery(view({ search: '  sales ', tag: 'q4', format: 'parquet', sort: 'name' }))).toEqual({
      limit: 50,
      offset: 0,
      sort: 'name',
      search: 'sales',
      tag: 'q4',
      format: 'parquet',
    });
  });

  it('turns calendar days into a range that includes the last day', () => {
    const q = toApiQuery(view({ createdAfter: '2026-03-01', createdBefore: '2026-03-31' }));
    expect(q.createdAfter).toBe(new Date(2026, 2, 1).toISOString());
    expect(q.createdBefore).toBe(new Date(2026, 3, 1).toISOString());
  });

  it('leaves out what a hand-edited URL got wrong instead of sending what the API refuses', () => {
    expect(
      toApiQuery(view({ page: '-2', limit: '9999', sort: 'size', format: 'exe', createdAfter: 'yesterday' })),
    ).toEqual({ limit: 500, offset: 0, sort: '-createdAt' });
    expect(toApiQuery(view({ page: '1.5', limit: 'x' }))).toMatchObject({ limit: 50, offset: 0 });
  });
});
