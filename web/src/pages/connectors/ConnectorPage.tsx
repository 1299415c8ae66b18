import { useMutation, useQueryClient } from '@tanstack/react-query';
import { lazy, Suspense, useCallback, useEffect, useState, type ReactNode } from 'react';
import { Link, useLocation, useParams } from 'wouter';
import { api, call } from '../../api/client';
import { useTopic, type TopicEvent } from '../../api/realtime';
import { useCan } from '../../app/session';
import { formatDateTime, formatDuration, formatNumber, formatRelative } from '../../lib/format';
import { Badge, Button, PageHeader } from '../../ui/controls';
import { ConfirmDialog } from '../../ui/dialog';
import { Empty, ErrorState, Loading, QueryView } from '../../ui/states';
import { useToast } from '../../ui/toast';
import {
  CONNECTOR_TYPES,
  connectorKeys,
  useConnector,
  useLatest,
  useSyncs,
  type Connector,
  type ConnectorEvent,
  type Latest,
  type Sync,
} from './api';
import { ConnectorBadges, LagText, RateLimitText } from './ConnectorState';
import { applyRecords, mergeLatest, NO_SERIES, numericFields, records, withRecordAt, type LiveSeries } from './live';
import './connectors.css';

// vega loads with the chart, never with the page.
const LiveChart = lazy(() => import('./LiveChart'));

/** Tail records the "Latest records" table keeps. */
const RECENT_RECORDS = 20;

/** /connectors/:id — a connector: health, actions, latest values, the live series and the sync history. */
export default function ConnectorPage() {
  const { id = '' } = useParams<{ id: string }>();
  const connector = useConnector(id);
  return (
    <QueryView query={connector} loadingLabel="Loading the connector…">
      {(c) => <ConnectorView connector={c} />}
    </QueryView>
  );
}

interface LiveView {
  series: LiveSeries;
  recent: Record<string, unknown>[];
}

/** Follows `connector:<id>`: state and syncs go into the query cache, records into the live series. */
function useLive(connector: Connector): LiveView {
  const queryClient = useQueryClient();
  const [view, setView] = useState<LiveView>({ series: NO_SERIES, recent: [] });
  const fields = connector.fields;
  const onEvent = useCallback(
    (raw: TopicEvent) => {
      const e = { event: raw.event, data: raw.data } as ConnectorEvent;
      if (e.event === 'connector.state') {
        queryClient.setQueryData(connectorKeys.detail(connector.id), e.data.connector);
        void queryClient.invalidateQueries({ queryKey: connectorKeys.lists });
      } else if (e.event === 'connector.sync') {
        void queryClient.invalidateQueries({ queryKey: connectorKeys.syncs(connector.id) });
      } else if (e.event === 'connector.records') {
        const tail = e.data;
        setView((v) => ({
          series: applyRecords(v.series, tail, fields, raw.ts),
          recent: [...tail.records].reverse().concat(v.recent).slice(0, RECENT_RECORDS),
        }));
        queryClient.setQueryData<Latest>(connectorKeys.latest(connector.id), (latest) =>
          latest ? mergeLatest(latest, tail.records, raw.ts) : latest,
        );
        queryClient.setQueryData<Connector>(connectorKeys.detail(connector.id), (held) =>
          held ? withRecordAt(held, raw.ts) : held,
        );
      } else if (e.event === 'connector.alert') {
        void queryClient.invalidateQueries({ queryKey: connectorKeys.detail(connector.id) });
      }
    },
    [connector.id, fields, queryClient],
  );
  useTopic(`connector:${connector.id}`, onEvent, () => {
    void queryClient.invalidateQueries({ queryKey: connectorKeys.detail(connector.id) });
    void queryClient.invalidateQueries({ queryKey: connectorKeys.syncs(connector.id) });
    void queryClient.invalidateQueries({ queryKey: connectorKeys.latest(connector.id) });
  });
  return view;
}

function ConnectorView({ connector: c }: { connector: Connector }) {
  const canManage = useCan('connectors:manage');
  const [, navigate] = useLocation();
  const queryClient = useQueryClient();
  const toast = useToast();
  const live = useLive(c);
  const polled = c.type === 'thingspeak' || c.type === 'http';

  const setState = useMutation({
    mutationFn: (action: 'pause' | 'resume') =>
      call(
        action === 'pause'
          ? api.POST('/api/v1/connectors/{id}/pause', { params: { path: { id: c.id } } })
          : api.POST('/api/v1/connectors/{id}/resume', { params: { path: { id: c.id } } }),
      ),
    onSuccess: (updated) => {
      queryClient.setQueryData(connectorKeys.detail(c.id), updated);
      void queryClient.invalidateQueries({ queryKey: connectorKeys.lists });
    },
  });
  const syncNow = useMutation({
    mutationFn: () => call(api.POST('/api/v1/connectors/{id}/sync', { params: { path: { id: c.id } } })),
    onSuccess: (sync) => {
      toast({ title: `Sync ${sync.status}: ${records(sync.records)} new` });
      void queryClient.invalidateQueries({ queryKey: connectorKeys.detail(c.id) });
      void queryClient.invalidateQueries({ queryKey: connectorKeys.syncs(c.id) });
      void queryClient.invalidateQueries({ queryKey: connectorKeys.latest(c.id) });
    },
  });
  const remove = async () => {
    await call(api.DELETE('/api/v1/connectors/{id}', { params: { path: { id: c.id } } }));
    await queryClient.invalidateQueries({ queryKey: connectorKeys.all });
    toast({ title: `Connector ${c.name} deleted` });
    navigate('/connectors');
  };

  const actionError = setState.error ?? syncNow.error;
  return (
    <div className="stack">
      <p className="breadcrumb">
        <Link href="/connectors">Connectors</Link> <span aria-hidden="true">/</span>
      </p>
      <PageHeader
        title={c.name}
        subtitle={
          <>
            {CONNECTOR_TYPES.find((t) => t.value === c.type)?.label ?? c.type} into{' '}
            <Link href={`/datasets/${c.datasetId}`}>{c.datasetName}</Link>
          </>
        }
        actions={
          canManage && (
            <>
              {polled && (
                <Button onClick={() => syncNow.mutate()} busy={syncNow.isPending} disabled={c.state === 'paused'}>
                  Sync now
                </Button>
              )}
              {c.state === 'paused' ? (
                <Button onClick={() => setState.mutate('resume')} busy={setState.isPending}>
                  Resume
                </Button>
              ) : (
                <Button onClick={() => setState.mutate('pause')} busy={setState.isPending}>
                  Pause
                </Button>
              )}
              <ConfirmDialog
                title={`Delete ${c.name}?`}
                description="Its live dataset and every record in it go too. This cannot be undone."
                confirmLabel="Delete connector"
                onConfirm={remove}
                trigger={(open) => (
                  <Button variant="danger" onClick={open}>
                    Delete
                  </Button>
                )}
              />
            </>
          )
        }
      />
      {actionError ? <ErrorState error={actionError} title="Not done" /> : null}
      {c.type === 'push' && <PushPanel connector={c} canManage={canManage} />}
      <HealthCard connector={c} />
      <div className="connector-live">
        <LiveSection connector={c} live={live} />
        <LatestCard connectorId={c.id} />
      </div>
      <SyncHistory connectorId={c.id} />
    </div>
  );
}

/** The key a push connector was created with reaches this page once, in the history entry (see the create form). */
function pushKeyFromHistory(): string | null {
  const state: unknown = typeof history !== 'undefined' ? history.state : null;
  if (state && typeof state === 'object' && typeof (state as { pushKey?: unknown }).pushKey === 'string')
    return (state as { pushKey: string }).pushKey;
  return null;
}

function PushPanel({ connector: c, canManage }: { connector: Connector; canManage: boolean }) {
  const [key, setKey] = useState<string | null>(pushKeyFromHistory);
  const endpoint = `${location.origin}/api/v1/connectors/${c.id}/records`;
  const rotate = useMutation({
    mutationFn: () => call(api.POST('/api/v1/connectors/{id}/push-key', { params: { path: { id: c.id } } })),
    onSuccess: (answer) => setKey(answer.pushKey),
  });
  useEffect(() => {
    // Browsers keep a history entry's state across reloads and back/forward: forget the key there at once, so it
    // is shown this once only.
    if (pushKeyFromHistory() !== null) history.replaceState(null, '');
  }, []);
  return (
    <section className="card stack" aria-labelledby="push-title">
      <h2 id="push-title">Device push</h2>
      <p>
        Devices send a JSON array or NDJSON of records to <code>POST {endpoint}</code> with the header{' '}
        <code>Authorization: Bearer &lt;push key&gt;</code>. The answer comes once the records are stored.
      </p>
      {key ? (
        <div className="push-key" role="status">
          <p>
            <strong>Push key, shown only now:</strong> copy it to your devices. Weir keeps only a hash of it.
          </p>
          <code aria-label="Push key" className="push-key-value">
            {key}
          </code>
          <div className="row">
            <Button small onClick={() => void navigator.clipboard?.writeText(key)}>
              Copy
            </Button>
            <Button small variant="ghost" onClick={() => setKey(null)}>
              I have copied it
            </Button>
          </div>
        </div>
      ) : (
        canManage && (
          <div className="row">
            <ConfirmDialog
              title="Rotate the push key?"
              description="A new key is made and shown once; devices using the old one are refused from now on."
              confirmLabel="Rotate key"
              onConfirm={() => rotate.mutateAsync()}
              trigger={(open) => (
                <Button small onClick={open}>
                  Rotate the push key
                </Button>
              )}
            />
          </div>
        )
      )}
    </section>
  );
}

function HealthCard({ connector: c }: { connector: Connector }) {
  const h = c.health;
  const facts: [string, ReactNode][] = [
    ['State', <ConnectorBadges key="state" connector={c} />],
    ...(c.state === 'paused' && c.pausedReason ? ([['Paused because', c.pausedReason]] as [string, string][]) : []),
    [
      'Breaker',
      <>
        {h.breaker}
        {h.consecutiveFailures > 0 && ` (${h.consecutiveFailures} failures in a row)`}
      </>,
    ],
    ['Last sync', <When key="sync" iso={h.lastSyncAt} />],
    ['Last success', <When key="success" iso={h.lastSuccessAt} />],
    [
      'Last record',
      <>
        <When iso={h.lastRecordAt} />{' '}
        {h.lagSeconds !== null && (
          <span className="muted">
            (lag <LagText health={h} />)
          </span>
        )}
      </>,
    ],
    ['Rate limit', <RateLimitText key="rate" health={h} />],
    ...(h.stream !== null ? ([['Stream', h.stream]] as [string, string][]) : []),
    ['Pending', `${formatNumber(h.pendingRecords)} records not yet in a segment`],
    ...(c.schedule !== null
      ? ([
          ['Schedule', <code key="cron">{c.schedule}</code>],
          ['Next sync', <When key="next" iso={c.nextSyncAt} />],
        ] as [string, ReactNode][])
      : []),
    ['Cursor', c.cursor !== null ? <code key="cursor">{c.cursor}</code> : '—'],
    ['Fields', c.fields.map((f) => `${f.name} (${f.type})`).join(', ') || '—'],
  ];
  return (
    <section className="card stack" aria-labelledby="health-title">
      <h2 id="health-title">Health</h2>
      <dl className="connector-facts">
        {facts.map(([term, value]) => (
          <div key={term} style={{ display: 'contents' }}>
            <dt>{term}</dt>
            <dd>{value}</dd>
          </div>
        ))}
      </dl>
      {h.lastError && (
        <div className="state-error">
          <strong>Last error</strong>
          <p style={{ margin: '0.35rem 0 0' }}>{h.lastError}</p>
        </div>
      )}
    </section>
  );
}

function When({ iso }: { iso: string | null }) {
  if (!iso) return <>—</>;
  return (
    <time dateTime={iso} title={formatDateTime(iso)}>
      {formatRelative(iso)}
    </time>
  );
}

function LiveSection({ connector: c, live }: { connector: Connector; live: LiveView }) {
  const drawable = numericFields(c.fields).length > 0;
  const { series, recent } = live;
  const columns = [...new Set([...c.fields.map((f) => f.name), ...recent.flatMap((r) => Object.keys(r))])];
  return (
    <section className="card stack connector-live-series" aria-labelledby="live-title">
      <h2 id="live-title">Live</h2>
      <p className="muted" aria-live="polite">
        {series.received === 0
          ? 'Waiting for records… (new records appear here as they arrive)'
          : `${records(series.received)} received since this page opened${series.skipped > 0 ? `, ${formatNumber(series.skipped)} of them not drawn (the live view carries at most 50 a second)` : ''}.`}
      </p>
      {drawable && series.points.length > 0 && (
        <Suspense fallback={<Loading label="Loading the chart…" />}>
          <LiveChart points={series.points} />
        </Suspense>
      )}
      {recent.length > 0 && (
        <div className="table-wrap connector-recent">
          <table className="table" aria-label="Latest records">
            <thead>
              <tr>
                {columns.map((name) => (
                  <th key={name} scope="col">
                    {name}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {recent.map((r, i) => (
                <tr key={i}>
                  {columns.map((name) => (
                    <td key={name}>{cellText(r[name])}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function cellText(v: unknown): string {
  if (v === null || v === undefined) return '—';
  if (typeof v === 'number') return formatNumber(v);
  if (typeof v === 'string') return v;
  return JSON.stringify(v);
}

function LatestCard({ connectorId }: { connectorId: string }) {
  const latest = useLatest(connectorId);
  return (
    <section className="card stack" aria-labelledby="latest-title">
      <h2 id="latest-title">Latest values</h2>
      <QueryView
        query={latest}
        loadingLabel="Loading the latest values…"
        isEmpty={(l) => Object.keys(l.values).length === 0}
        empty={<Empty title="No values yet">The last value of each field shows here once records arrive.</Empty>}
      >
        {(l) => (
          <>
            <p className="muted">
              As of <When iso={l.at} />
            </p>
            <div className="table-wrap">
              <table className="table" aria-label="Latest values">
                <thead>
                  <tr>
                    <th scope="col">Field</th>
                    <th scope="col" className="num">
                      Value
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {Object.entries(l.values).map(([k, v]) => (
                    <tr key={k}>
                      <th scope="row">{k}</th>
                      <td className="num">{cellText(v)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </>
        )}
      </QueryView>
    </section>
  );
}

const STATUS_TONE: Record<Sync['status'], 'success' | 'danger' | 'warning'> = {
  succeeded: 'success',
  failed: 'danger',
  partial: 'warning',
};

function SyncHistory({ connectorId }: { connectorId: string }) {
  const syncs = useSyncs(connectorId);
  return (
    <section className="card stack" aria-labelledby="syncs-title">
      <h2 id="syncs-title">Sync history</h2>
      <QueryView
        query={syncs}
        loadingLabel="Loading the syncs…"
        isEmpty={(d) => d.items.length === 0}
        empty={<Empty title="No syncs yet">Each poll, stream flush or push shows here with its counts.</Empty>}
      >
        {(d) => (
          <div className="table-wrap">
            <table className="table" aria-label="Sync history">
              <thead>
                <tr>
                  <th scope="col">Started</th>
                  <th scope="col">Trigger</th>
                  <th scope="col">Status</th>
                  <th scope="col" className="num">
                    Records
                  </th>
                  <th scope="col" className="num">
                    Duplicates
                  </th>
                  <th scope="col" className="num">
                    Rejected
                  </th>
                  <th scope="col" className="num">
                    Duration
                  </th>
                  <th scope="col">Cursor</th>
                  <th scope="col">Errors</th>
                </tr>
              </thead>
              <tbody>
                {d.items.map((s) => (
                  <tr key={s.id}>
                    <td>
                      <When iso={s.startedAt} />
                    </td>
                    <td>{s.trigger}</td>
                    <td>
                      <Badge tone={STATUS_TONE[s.status]}>{s.status}</Badge>
                    </td>
                    <td className="num">{formatNumber(s.records)}</td>
                    <td className="num">{formatNumber(s.duplicates)}</td>
                    <td className="num">{formatNumber(s.rejected)}</td>
                    <td className="num">{formatDuration(s.durationMs)}</td>
                    <td>
                      {s.cursorFrom !== null || s.cursorTo !== null ? (
                        <code>
                          {s.cursorFrom ?? ''}…{s.cursorTo ?? ''}
                        </code>
                      ) : (
                        '—'
                      )}
                    </td>
                    <td>
                      {s.errors.length === 0 ? (
                        '—'
                      ) : (
                        <details>
                          <summary>
                            {s.errors[0]!.reason}
                            {s.errors.length > 1 && ` (+${s.errors.length - 1})`}
                          </summary>
                          <ul>
                            {s.errors.map((e, i) => (
                              <li key={i}>
                                {e.reason}
                                {e.sample && <code> {e.sample}</code>}
                              </li>
                            ))}
                          </ul>
                        </details>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
            {d.total > d.items.length && (
              <p className="muted">
                The newest {d.items.length} of {d.total} syncs.
              </p>
            )}
          </div>
        )}
      </QueryView>
    </section>
  );
}
