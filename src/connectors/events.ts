import { topics, type EventBus } from '../bus/types.js';
import type { Log } from '../logger.js';
import type { Connector, Sync } from './model.js';

/** Most records of one connector the live tail carries a second: a view of the data, not a copy of it. */
export const TAIL_RECORDS_PER_SECOND = 50;

/** What needs attention: the alerting issue turns these into alerts (they are on `internal:connectors` too). */
export type ConnectorAlertKind = 'breaker_open' | 'breaker_closed' | 'paused' | 'stale' | 'fresh';

/**
 * Events of `connector:<id>`: `connector.state` (the connector as GET answers it), `connector.sync` (a finished
 * sync), `connector.records` (a throttled tail of incoming records: at most 50 a second, with the count of all)
 * and `connector.alert` (breaker opened or closed, paused, stale or fresh again).
 */
export class ConnectorEvents {
  private readonly tails = new Map<string, { count: number; records: Record<string, unknown>[] }>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly bus: EventBus,
    private readonly log: Log,
  ) {}

  state(connector: Connector): void {
    this.publish(connector.id, 'connector.state', { connector });
  }

  sync(sync: Sync): void {
    this.publish(sync.connectorId, 'connector.sync', { sync });
  }

  alert(connectorId: string, workspaceId: string, kind: ConnectorAlertKind, detail: string): void {
    const data = { connectorId, workspaceId, kind, detail };
    this.publish(connectorId, 'connector.alert', data);
    void this.bus.publish('internal:connectors', 'connector.alert', data).catch(() => {});
  }

  /** Adds stored records to the connector's tail, sent once a second. */
  records(connectorId: string, rows: Record<string, unknown>[]): void {
    if (rows.length === 0) return;
    let tail = this.tails.get(connectorId);
    if (!tail) this.tails.set(connectorId, (tail = { count: 0, records: [] }));
    tail.count += rows.length;
    const room = TAIL_RECORDS_PER_SECOND - tail.records.length;
    // The newest records are the interesting ones: keep the last `room` of this batch.
    if (room > 0) tail.records.push(...rows.slice(-room));
    else tail.records.splice(0, Math.min(rows.length, tail.records.length), ...rows.slice(-TAIL_RECORDS_PER_SECOND));
    if (tail.records.length > TAIL_RECORDS_PER_SECOND)
      tail.records.splice(0, tail.records.length - TAIL_RECORDS_PER_SECOND);
    if (!this.timer) {
      this.timer = setTimeout(() => this.sendTails(), 1000);
      this.timer.unref();
    }
  }

  private sendTails(): void {
    this.timer = null;
    const tails = [...this.tails];
    this.tails.clear();
    for (const [id, tail] of tails) this.publish(id, 'connector.records', tail);
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.tails.clear();
  }

  private publish(connectorId: string, type: string, data: unknown): void {
    this.bus.publish(topics.connector(connectorId), type, data).catch((err: unknown) => {
      this.log.warn({ err, connectorId, type }, 'publishing a connector event failed');
    });
  }
}
