import type { paths } from '../../api/schema';

type ListOperation = paths['/api/v1/datasets']['get'];
export type DatasetListQuery = NonNullable<ListOperation['parameters']['query']>;
export type DatasetList = ListOperation['responses']['200']['content']['application/json'];
export type DatasetSummary = DatasetList['items'][number];
export type DatasetSort = NonNullable<DatasetListQuery['sort']>;
export type DatasetFormat = NonNullable<DatasetListQuery['format']>;

/**
 * The list's view as kept in the URL (useUrlState): every value a string, empty = not filtered. Dates are calendar
 * days (YYYY-MM-DD, the value of an <input type="date">), both ends included.
 */
export const LIST_DEFAULTS = {
  search: '',
  tag: '',
  format: '',
  createdAfter: '',
  createdBefore: '',
  sort: '-createdAt',
  page: '1',
  limit: '50',
};
export type ListView = typeof LIST_DEFAULTS;

/** The filters (not sort or paging): set ones mean an empty list is "no match", not "no datasets yet". */
export const FILTER_KEYS = ['search', 'tag', 'format', 'createdAfter', 'createdBefore'] as const;

export const SORTS: readonly { value: DatasetSort; label: string }[] = [
  { value: '-createdAt', label: 'Newest first' },
  { value: 'createdAt', label: 'Oldest first' },
  { value: '-updatedAt', label: 'Recently updated' },
  { value: 'updatedAt', label: 'Least recently updated' },
  { value: 'name', label: 'Name, A to Z' },
  { value: '-name', label: 'Name, Z to A' },
];

export const FORMATS: readonly DatasetFormat[] = ['csv', 'ndjson', 'json', 'parquet', 'xlsx'];
export const PAGE_SIZES = ['25', '50', '100'] as const;

const isSort = (v: string): v is DatasetSort => SORTS.some((s) => s.value === v);
const isFormat = (v: string): v is DatasetFormat => (FORMATS as readonly string[]).includes(v);

/** A positive integer from the URL, or the fallback for anything else (a hand-edited URL must not break the page). */
function positive(value: string, fallback: number, max = Number.MAX_SAFE_INTEGER): number {
  const n = Number(value);
  return Number.isInteger(n) && n >= 1 ? Math.min(n, max) : fallback;
}

/** Local midnight of a YYYY-MM-DD day, `plusDays` later, as the API's date-time; undefined for anything else. */
function dayStart(day: string, plusDays = 0): string | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
  if (!m) return undefined;
  const date = new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]) + plusDays);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

export function pageSize(view: ListView): number {
  return positive(view.limit, 50, 500);
}

export function pageNumber(view: ListView): number {
  return positive(view.page, 1);
}

/** The API query for a view. Values the API would refuse (a hand-edited URL) are left out rather than sent. */
export function toApiQuery(view: ListView): DatasetListQuery {
  const limit = pageSize(view);
  const query: DatasetListQuery = {
    limit,
    offset: (pageNumber(view) - 1) * limit,
    sort: isSort(view.sort) ? view.sort : '-createdAt',
  };
  const search = view.search.trim();
  if (search) query.search = search.slice(0, 200);
  const tag = view.tag.trim();
  if (tag) query.tag = tag.slice(0, 64);
  if (isFormat(view.format)) query.format = view.format;
  const after = dayStart(view.createdAfter);
  if (after) query.createdAfter = after;
  // The end day is included: created before the next day's midnight.
  const before = dayStart(view.createdBefore, 1);
  if (before) query.createdBefore = before;
  return query;
}
