import { formatDuration } from '../../lib/format';
import { Badge } from '../../ui/controls';
import type { Connector } from './api';

/** Active or paused, with what needs a look beside it: an open (or trying) breaker, no data for too long. */
export function ConnectorBadges({ connector: c }: { connector: Connector }) {
  return (
    <span className="connector-badges">
      {c.state === 'paused' ? <Badge tone="warning">paused</Badge> : <Badge tone="success">active</Badge>}
      {c.health.breaker === 'open' && <Badge tone="danger">breaker open</Badge>}
      {c.health.breaker === 'half-open' && <Badge tone="warning">breaker half-open</Badge>}
      {c.health.stale && <Badge tone="danger">stale</Badge>}
    </span>
  );
}

/** How long since the last record came ("—" before the first). */
export function LagText({ health }: { health: Connector['health'] }) {
  return <>{health.lagSeconds === null ? '—' : formatDuration(health.lagSeconds * 1000)}</>;
}

/** Requests used of the rate limit's minute ("—" for sources without one: pushes, streams). */
export function RateLimitText({ health }: { health: Connector['health'] }) {
  if (!health.rateLimit) return <>—</>;
  const { used, limit } = health.rateLimit;
  return (
    <span title={`${used} of ${limit} requests this minute`}>
      {used} / {limit}
    </span>
  );
}
