import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { Link } from 'wouter';
import { api, call } from '../../api/client';
import { useCan } from '../../app/session';
import { formatDateTime, formatRelative } from '../../lib/format';
import { useUrlState } from '../../lib/url-state';
import { Button, PageHeader, SelectField } from '../../ui/controls';
import { Empty, QueryView } from '../../ui/states';
import { CONNECTOR_TYPES, connectorKeys, HEALTH_REFRESH_MS, type ConnectorType } from './api';
import { ConnectorBadges, LagText, RateLimitText } from './ConnectorState';
import { CreateConnectorForm } from './CreateConnectorForm';
import './connectors.css';

const LISTED = 200;

/** /connectors — the workspace's connectors with their health, and the form that creates one. */
export default function ConnectorsPage() {
  const canManage = useCan('connectors:manage');
  const [state, update] = useUrlState({ type: '', create: '' });
  const connectors = useQuery({
    queryKey: connectorKeys.list('', state.type),
    placeholderData: keepPreviousData,
    refetchInterval: HEALTH_REFRESH_MS,
    queryFn: ({ signal }) =>
      call(
        api.GET('/api/v1/connectors', {
          params: {
            query: { limit: LISTED, offset: 0, ...(state.type ? { type: state.type as ConnectorType } : {}) },
          },
          signal,
        }),
      ),
  });
  return (
    <>
      <PageHeader
        title="Connectors"
        subtitle="ThingSpeak channels, MQTT topics, HTTP APIs and device pushes, appended to live datasets as records arrive."
        actions={
          canManage &&
          !state.create && (
            <Button variant="primary" onClick={() => update({ create: '1' })}>
              New connector
            </Button>
          )
        }
      />
      {canManage && state.create && <CreateConnectorForm onCancel={() => update({ create: '' })} />}
      <div className="toolbar" role="search">
        <SelectField
          label="Source type"
          value={state.type}
          onChange={(e) => update({ type: e.target.value })}
          options={[{ value: '', label: 'Any type' }, ...CONNECTOR_TYPES]}
        />
      </div>
      <QueryView
        query={connectors}
        loadingLabel="Loading connectors…"
        isEmpty={(data) => data.items.length === 0}
        empty={
          <Empty title={state.type ? 'No connector of this type' : 'No connectors yet'}>
            {state.type
              ? 'Try another type.'
              : canManage
                ? 'Create one to pull a ThingSpeak channel, subscribe to MQTT topics, poll an HTTP API or receive device pushes.'
                : 'Nobody has connected a source in this workspace yet.'}
          </Empty>
        }
      >
        {(data) => (
          <div className="table-wrap">
            <table className="table" aria-label="Connectors">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Type</th>
                  <th scope="col">State</th>
                  <th scope="col">Last sync</th>
                  <th scope="col" className="num">
                    Lag
                  </th>
                  <th scope="col" className="num">
                    Rate limit
                  </th>
                  <th scope="col">Dataset</th>
                </tr>
              </thead>
              <tbody>
                {data.items.map((c) => (
                  <tr key={c.id}>
                    <td>
                      <Link href={`/connectors/${c.id}`}>{c.name}</Link>
                    </td>
                    <td>{CONNECTOR_TYPES.find((t) => t.value === c.type)?.label ?? c.type}</td>
                    <td>
                      <ConnectorBadges connector={c} />
                    </td>
                    <td>
                      {c.health.lastSyncAt ? (
                        <time dateTime={c.health.lastSyncAt} title={formatDateTime(c.health.lastSyncAt)}>
                          {formatRelative(c.health.lastSyncAt)}
                        </time>
                      ) : (
                        '—'
                      )}
                    </td>
                    <td className="num">
                      <LagText health={c.health} />
                    </td>
                    <td className="num">
                      <RateLimitText health={c.health} />
                    </td>
                    <td>
                      <Link href={`/datasets/${c.datasetId}`}>{c.datasetName}</Link>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
            {data.total > data.items.length && (
              <p className="muted">
                The first {data.items.length} of {data.total} connectors.
              </p>
            )}
          </div>
        )}
      </QueryView>
    </>
  );
}
