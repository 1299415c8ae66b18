import { Type } from 'typebox';
import type { JobContext, JobDefinition } from '../jobs/types.js';
import { JobFailure } from '../jobs/errors.js';
import { requireJobPermission, type JobGrants } from '../identity/job-grants.js';
import type { ConnectorRepo } from './repo.js';
import type { ConnectorRuntime } from './runtime.js';
import { pollSourceFor, type SourceSecrets } from './sources/index.js';
import type { StoredConnector } from './model.js';
import type { Sync } from './model.js';

export const CONNECTOR_BACKFILL_KIND = 'connector.backfill';

export interface BackfillPayload {
  v: 1;
  connectorId: string;
  from: string;
  to: string;
}

const PayloadSchema = Type.Object({
  v: Type.Literal(1),
  connectorId: Type.String({ pattern: '^con_[0-9A-HJKMNP-TV-Z]{26}$' }),
  from: Type.String({ format: 'date-time' }),
  to: Type.String({ format: 'date-time' }),
});

/** Most pages a backfill reads (8,000 ThingSpeak entries each: 80 million records). */
const MAX_BACKFILL_PAGES = 10_000;

/**
 * `connector.backfill`: fetches a time range of a polling source page by page into the live dataset, with
 * progress by how far through the range the records have come. A retried attempt starts the range again; the
 * dedupe keys drop what the first attempt stored. The connector's own cursor is left where it is.
 */
export function connectorBackfillJob(o: {
  repo: ConnectorRepo;
  runtime: ConnectorRuntime;
  secrets: (c: StoredConnector) => SourceSecrets;
  grants: JobGrants;
}): JobDefinition<BackfillPayload, Sync> {
  return {
    kind: CONNECTOR_BACKFILL_KIND,
    payload: PayloadSchema,
    timeoutMs: 6 * 3_600_000,
    maxAttempts: 3,
    concurrency: 1,
    async handler(p: BackfillPayload, ctx: JobContext) {
      // Checked again when it runs: a creator who lost the permission since asking stores nothing.
      requireJobPermission(
        await o.grants.of(ctx.workspaceId, ctx.createdBy),
        'connectors:manage',
        'Backfilling a connector',
      );
      const c = await o.repo.get(ctx.workspaceId, p.connectorId);
      if (!c) throw new JobFailure('not_found', `Connector '${p.connectorId}' no longer exists`, false);
      const range = { from: new Date(p.from), to: new Date(p.to) };
      const source = pollSourceFor(c, o.secrets(c));
      const guard = o.runtime.guardFor(c);
      const timeField = c.fields.find((f) => f.type === 'timestamp')?.name;
      const span = range.to.getTime() - range.from.getTime();
      let records = 0;
      ctx.progress(1, 'fetching');
      const sync = await o.runtime.syncPages(
        c,
        'backfill',
        (cursor) => {
          ctx.signal.throwIfAborted();
          return source.backfill(range, cursor, { fetch: guard.fetch, signal: ctx.signal, log: ctx.log });
        },
        {
          cursor: null,
          saveCursor: false,
          maxPages: MAX_BACKFILL_PAGES,
          onPage: (page) => {
            records += page.records.length;
            const times = timeField
              ? page.records.map((r) => Date.parse(String(r.values[timeField]))).filter(Number.isFinite)
              : [];
            const reached = times.length > 0 ? Math.max(...times) : null;
            const percent =
              reached === null ? 1 : Math.min(99, Math.max(1, ((reached - range.from.getTime()) / span) * 100));
            ctx.progress(percent, `${records} records fetched`);
          },
        },
      );
      if (sync.status === 'failed')
        throw new JobFailure('job_failed', sync.errors.at(-1)?.reason ?? 'The backfill failed', true);
      ctx.progress(100, `${sync.records} new records, ${sync.duplicates} already stored`);
      return sync;
    },
  };
}
