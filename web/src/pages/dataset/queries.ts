import { useQuery } from '@tanstack/react-query';
import { api, call } from '../../api/client';
import type { paths } from '../../api/schema';

/**
 * The dataset page's server state. Every key starts with ['dataset', id], so deleting the dataset (or a realtime
 * event about it) can drop or refresh all of it at once; the datasets list lives under ['datasets'].
 */
export const datasetKeys = {
  all: (id: string) => ['dataset', id] as const,
  detail: (id: string) => ['dataset', id, 'detail'] as const,
  versions: (id: string) => ['dataset', id, 'versions'] as const,
  lineage: (id: string, versionId: string) => ['dataset', id, 'lineage', versionId] as const,
  // A version never changes once stored, so its pages are cached for good (until gc).
  previewPage: (id: string, versionId: string, page: number) => ['dataset', id, 'preview', versionId, page] as const,
};

export type Lineage = paths['/api/v1/datasets/{id}/lineage']['get']['responses']['200']['content']['application/json'];
export type PreviewPage =
  paths['/api/v1/datasets/{id}/preview']['get']['responses']['200']['content']['application/json'];

export function useDataset(id: string) {
  return useQuery({
    queryKey: datasetKeys.detail(id),
    queryFn: ({ signal }) => call(api.GET('/api/v1/datasets/{id}', { params: { path: { id } }, signal })),
  });
}

export function useVersions(id: string) {
  return useQuery({
    queryKey: datasetKeys.versions(id),
    queryFn: ({ signal }) =>
      call(api.GET('/api/v1/datasets/{id}/versions', { params: { path: { id } }, signal })).then((r) => r.items),
  });
}

export function useLineage(id: string, versionId: string) {
  return useQuery({
    queryKey: datasetKeys.lineage(id, versionId),
    queryFn: ({ signal }) =>
      call(
        api.GET('/api/v1/datasets/{id}/lineage', { params: { path: { id }, query: { version: versionId } }, signal }),
      ),
  });
}
