import { useQuery } from '@tanstack/react-query';
import { api, call } from '../../api/client';
import type { paths } from '../../api/schema';

type Json<T> = T extends { content: { 'application/json': infer B } } ? B : never;

// The connector schemas are inline in the OpenAPI document: their types are read off the operations.
export type Connector = Json<paths['/api/v1/connectors/{id}']['get']['responses'][200]>;
export type ConnectorType = Connector['type'];
export type FieldSpec = Connector['fields'][number];
export type FieldType = FieldSpec['type'];
export type Sync = Json<paths['/api/v1/connectors/{id}/sync']['post']['responses'][200]>;
export type Latest = Json<paths['/api/v1/connectors/{id}/latest']['get']['responses'][200]>;
export type TestResult = Json<paths['/api/v1/connectors/test']['post']['responses'][200]>;
export type CreateBody = NonNullable<paths['/api/v1/connectors']['post']['requestBody']>['content']['application/json'];
export type TestBody = NonNullable<
  paths['/api/v1/connectors/test']['post']['requestBody']
>['content']['application/json'];
export type Created = Json<paths['/api/v1/connectors']['post']['responses'][201]>;

export const CONNECTOR_TYPES: readonly { value: ConnectorType; label: string }[] = [
  { value: 'thingspeak', label: 'ThingSpeak channel' },
  { value: 'mqtt', label: 'MQTT topics' },
  { value: 'http', label: 'HTTP JSON API' },
  { value: 'push', label: 'Device push' },
];
export const FIELD_TYPES: readonly FieldType[] = ['double', 'bigint', 'boolean', 'varchar', 'timestamp'];

/** What `connector:<id>` carries (src/connectors/events.ts): each event's `data`. */
export type ConnectorEvent =
  | { event: 'connector.state'; data: { connector: Connector } }
  | { event: 'connector.sync'; data: { sync: Sync } }
  | { event: 'connector.records'; data: { count: number; records: Record<string, unknown>[] } }
  | { event: 'connector.alert'; data: { connectorId: string; kind: string; detail: string } };

export const connectorKeys = {
  all: ['connectors'] as const,
  lists: ['connectors', 'list'] as const,
  list: (name: string, type: string) => ['connectors', 'list', name, type] as const,
  detail: (id: string) => ['connectors', id] as const,
  syncs: (id: string) => ['connectors', id, 'syncs'] as const,
  latest: (id: string) => ['connectors', id, 'latest'] as const,
};

/** Health figures (lag, rate-limit use) move on their own: lists and the detail are read again this often. */
export const HEALTH_REFRESH_MS = 15_000;
/** Syncs the detail page lists. */
export const SYNCS_LISTED = 50;

export function useConnector(id: string) {
  return useQuery({
    queryKey: connectorKeys.detail(id),
    refetchInterval: HEALTH_REFRESH_MS,
    queryFn: ({ signal }) => call(api.GET('/api/v1/connectors/{id}', { params: { path: { id } }, signal })),
  });
}

export function useSyncs(id: string) {
  return useQuery({
    queryKey: connectorKeys.syncs(id),
    queryFn: ({ signal }) =>
      call(
        api.GET('/api/v1/connectors/{id}/syncs', {
          params: { path: { id }, query: { limit: SYNCS_LISTED, offset: 0 } },
          signal,
        }),
      ),
  });
}

export function useLatest(id: string) {
  return useQuery({
    queryKey: connectorKeys.latest(id),
    queryFn: ({ signal }) => call(api.GET('/api/v1/connectors/{id}/latest', { params: { path: { id } }, signal })),
  });
}
