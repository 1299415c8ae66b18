import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { api, call } from '../../api/client';
import { toApiQuery, type DatasetListQuery, type ListView } from './list-view';

export const datasetListKey = (query?: DatasetListQuery) =>
  query ? (['datasets', 'list', query] as const) : (['datasets', 'list'] as const);

/** The page of datasets a view shows; the previous page stays on screen while the next one loads. */
export function useDatasetList(view: ListView) {
  const query = toApiQuery(view);
  return useQuery({
    queryKey: datasetListKey(query),
    queryFn: ({ signal }) => call(api.GET('/api/v1/datasets', { params: { query }, signal })),
    placeholderData: keepPreviousData,
  });
}
