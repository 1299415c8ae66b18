import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useEffect, useState, type FormEvent } from 'react';
import { api, call } from '../../api/client';
import { useCan, useMe } from '../../app/session';
import { formatDateTime } from '../../lib/format';
import { useUrlState } from '../../lib/url-state';
import { Badge, Button, SelectField, TextField, type Tone } from '../../ui/controls';
import { Empty, QueryView } from '../../ui/states';
import { Pager } from './Pager';
import { fetchMembers, settingsKeys } from './queries';
import type { AuditEvent } from './types';

const PAGE_SIZE = 50;

const FILTERS = { action: '', actor: '', target: '', outcome: '', since: '', until: '', scope: '', page: '1' };
type Filters = typeof FILTERS;

const OUTCOMES = [
  { value: '', label: 'Any outcome' },
  { value: 'success', label: 'Success' },
  { value: 'failure', label: 'Failure' },
  { value: 'denied', label: 'Denied' },
];
const OUTCOME_TONE: Record<AuditEvent['outcome'], Tone> = { success: 'success', failure: 'danger', denied: 'warning' };

/** The start of a local calendar day (`2026-12-06`) as an instant; `plusDays` moves it. */
function dayStart(day: string, plusDays = 0): string | undefined {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) return undefined;
  const date = new Date(`${day}T00:00:00`);
  date.setDate(date.getDate() + plusDays);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

/**
 * The audit log, newest first. Its filters and page live in the URL; the date range is in local days, both ends
 * included (the API's `until` is exclusive, so it gets the start of the day after).
 */
export function AuditTab() {
  const me = useMe();
  const canReadMembers = useCan('members:read');
  const [filters, setFilters] = useUrlState(FILTERS);
  const page = Math.max(1, Number.parseInt(filters.page, 10) || 1);
  const instance = filters.scope === 'instance' && me.user.instanceAdmin;

  const members = useQuery({
    queryKey: settingsKeys.members(me.workspace.id),
    queryFn: () => fetchMembers(me.workspace.id),
    enabled: canReadMembers,
  });
  const emailOf = new Map((members.data ?? []).map((m) => [m.userId, m.email]));

  const query = {
    limit: PAGE_SIZE,
    offset: (page - 1) * PAGE_SIZE,
    ...(filters.action.trim() && { action: filters.action.trim() }),
    ...(filters.actor.trim() && { actorId: filters.actor.trim() }),
    ...(filters.target.trim() && { targetId: filters.target.trim() }),
    ...(filters.outcome && { outcome: filters.outcome as AuditEvent['outcome'] }),
    ...(dayStart(filters.since) && { since: dayStart(filters.since) }),
    ...(dayStart(filters.until, 1) && { until: dayStart(filters.until, 1) }),
    ...(instance && { scope: 'instance' as const }),
  };
  const events = useQuery({
    queryKey: settingsKeys.audit(me.workspace.id, filters),
    queryFn: () => call(api.GET('/api/v1/audit', { params: { query } })),
    placeholderData: keepPreviousData,
  });

  return (
    <section className="card" aria-labelledby="audit-heading">
      <h2 id="audit-heading">Audit log</h2>
      <AuditFilters
        filters={filters}
        actors={members.data?.map((m) => ({ value: m.userId, label: m.email })) ?? null}
        instanceAdmin={me.user.instanceAdmin}
        onApply={(next) => setFilters({ ...next, page: '1' }, { push: true })}
      />
      <QueryView
        query={events}
        loadingLabel="Loading the audit log…"
        isEmpty={(answer) => answer.items.length === 0}
        empty={<Empty title="No events match">Widen the date range or clear a filter.</Empty>}
      >
        {(answer) => (
          <>
            <div className="table-wrap" aria-busy={events.isFetching || undefined}>
              <table className="table settings-table audit-table">
                <caption className="visually-hidden">Audit events, newest first</caption>
                <thead>
                  <tr>
                    <th scope="col">When</th>
                    <th scope="col">Actor</th>
                    <th scope="col">Action</th>
                    <th scope="col">Target</th>
                    <th scope="col">Outcome</th>
                    <th scope="col">From</th>
                    <th scope="col">Detail</th>
                  </tr>
                </thead>
                <tbody>
                  {answer.items.map((event) => (
                    <AuditRow key={event.id} event={event} emailOf={emailOf} showWorkspace={instance} />
                  ))}
                </tbody>
              </table>
            </div>
            <Pager
              page={page}
              pageSize={PAGE_SIZE}
              total={answer.total}
              label="Audit log pages"
              onPage={(p) => setFilters({ page: String(p) }, { push: true })}
            />
          </>
        )}
      </QueryView>
    </section>
  );
}

function AuditFilters({
  filters,
  actors,
  instanceAdmin,
  onApply,
}: {
  filters: Filters;
  actors: { value: string; label: string }[] | null;
  instanceAdmin: boolean;
  onApply: (filters: Omit<Filters, 'page'>) => void;
}) {
  const { page: _page, ...applied } = filters;
  const [draft, setDraft] = useState(applied);
  // Back and forward change the URL: the form follows.
  const appliedKey = JSON.stringify(applied);
  useEffect(() => setDraft(JSON.parse(appliedKey) as typeof applied), [appliedKey]);
  const set = (key: keyof typeof applied) => (e: { target: { value: string } }) =>
    setDraft((d) => ({ ...d, [key]: e.target.value }));
  const submit = (e: FormEvent) => {
    e.preventDefault();
    onApply(draft);
  };
  const knownActor = actors?.some((a) => a.value === draft.actor) ?? false;
  const clear = Object.fromEntries(Object.keys(applied).map((k) => [k, ''])) as typeof applied;
  return (
    <form className="toolbar audit-filters" onSubmit={submit} aria-label="Filter the audit log">
      <TextField
        label="Action"
        placeholder="e.g. apikey.* or member.role_change"
        value={draft.action}
        onChange={set('action')}
      />
      {actors && (draft.actor === '' || knownActor) ? (
        <SelectField
          label="Actor"
          value={draft.actor}
          onChange={set('actor')}
          options={[{ value: '', label: 'Anyone' }, ...actors]}
        />
      ) : (
        <TextField label="Actor id" placeholder="usr_…" value={draft.actor} onChange={set('actor')} />
      )}
      <TextField label="Target id" placeholder="ds_…, usr_…, key_…" value={draft.target} onChange={set('target')} />
      <SelectField label="Outcome" value={draft.outcome} onChange={set('outcome')} options={OUTCOMES} />
      <TextField label="From" type="date" value={draft.since} onChange={set('since')} />
      <TextField label="To" type="date" value={draft.until} onChange={set('until')} />
      {instanceAdmin && (
        <SelectField
          label="Scope"
          value={draft.scope}
          onChange={set('scope')}
          options={[
            { value: '', label: 'This workspace' },
            { value: 'instance', label: 'Whole instance' },
          ]}
        />
      )}
      <div className="row">
        <Button type="submit" variant="primary">
          Apply
        </Button>
        <Button
          onClick={() => {
            setDraft(clear);
            onApply(clear);
          }}
        >
          Clear
        </Button>
      </div>
    </form>
  );
}

function AuditRow({
  event,
  emailOf,
  showWorkspace,
}: {
  event: AuditEvent;
  emailOf: ReadonlyMap<string, string>;
  showWorkspace: boolean;
}) {
  const actor =
    event.actorType === 'user' || event.actorType === 'apiKey'
      ? (emailOf.get(event.actorId ?? '') ?? event.actorId ?? event.actorType)
      : event.actorType;
  return (
    <tr>
      <td className="nowrap">{formatDateTime(event.at)}</td>
      <td>
        {actor}
        {event.apiKeyId && (
          <div className="muted">
            via key <code>{event.apiKeyId}</code>
          </div>
        )}
      </td>
      <td>
        <code>{event.action}</code>
        {showWorkspace && event.workspaceId && <div className="muted">{event.workspaceId}</div>}
      </td>
      <td>
        {event.targetType ? (
          <>
            <span className="muted">{event.targetType}</span> <code>{event.targetId}</code>
          </>
        ) : (
          '—'
        )}
      </td>
      <td>
        <Badge tone={OUTCOME_TONE[event.outcome]}>{event.outcome}</Badge>
        {event.statusCode !== null && <span className="muted"> {event.statusCode}</span>}
      </td>
      <td>{event.ip ?? '—'}</td>
      <td>
        {event.detail || event.requestId ? (
          <details>
            <summary>Show</summary>
            {event.requestId && (
              <p className="muted">
                Request <code>{event.requestId}</code>
              </p>
            )}
            {event.userAgent && <p className="muted">{event.userAgent}</p>}
            {event.detail && <pre className="audit-detail">{JSON.stringify(event.detail, null, 2)}</pre>}
          </details>
        ) : (
          '—'
        )}
      </td>
    </tr>
  );
}
