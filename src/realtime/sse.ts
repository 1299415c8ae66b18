import { PassThrough } from 'node:stream';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { topics, type BusEvent } from '../bus/types.js';
import type { EventBus } from '../bus/types.js';
import type { Config } from '../config.js';
import { errors } from '../errors.js';
import { principalOf, type AccessControl, type Principal } from '../http/access.js';
import { Id } from '../http/schema-types.js';
import { affects, IDENTITY_CHANGES, parseIdentityChange } from '../identity/changes.js';
import type { JobService } from '../jobs/service.js';
import { isFinished, type Job, type JobStatus } from '../jobs/types.js';
import type { Metrics } from '../system/metrics.js';
import type { Realtime } from './index.js';
import type { UnsubscribeReason } from './protocol.js';
import { reauthenticator, requestToken, revocationMessage, serially } from './reauthorize.js';

/** Bus event types of a job topic and the SSE event names they are sent as; other job events are not streamed. */
const SSE_EVENT: Record<string, 'state' | 'progress'> = { 'job.state': 'state', 'job.progress': 'progress' };

const finishedStatus = (data: unknown): boolean => {
  const status = (data as { status?: unknown } | null)?.status;
  return typeof status === 'string' && isFinished(status as JobStatus);
};

/** One SSE frame. JSON has no raw newlines, so `data` is always a single line. */
const frame = (event: string, data: unknown): string => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;

/** An open stream as identity changes see it. */
interface OpenStream {
  /** The principal as last authorized (roles and scopes change while the stream is open). */
  holder(): Principal;
  /** The job's workspace. */
  workspaces: ReadonlySet<string>;
  /** Authorizes the stream again; one that no longer passes ends with `event: revoked`. */
  recheck(): void;
}

export interface JobEventRouteOptions {
  config: Pick<Config, 'realtime' | 'auth'>;
  /** Authorizes the stream again on every heartbeat and identity change. */
  access: AccessControl;
  bus: EventBus;
  jobs: Pick<JobService, 'find'>;
  metrics: Metrics;
  realtime: Pick<Realtime, 'sseCaps'>;
}

/**
 * GET /api/v1/jobs/:id/events: a job's state and progress as server-sent events, for clients that only want to
 * watch one job (the CLI's `weir jobs watch`, a browser's EventSource). First `event: state` with the job as
 * GET /jobs/:id returns it, then `state` and `progress` events as they happen, until the job is succeeded,
 * failed or cancelled: the final `state` is sent and the stream ends. A comment line every
 * WEIR_SSE_HEARTBEAT_MS keeps proxies from closing an idle stream.
 *
 * The caller's access is checked again on every heartbeat and at once on an identity change that may concern it;
 * a stream whose caller lost it ends with `event: revoked` `{reason, message}` (reasons as the WebSocket's
 * `unsubscribed`). Each user and each API key holds at most WEIR_SSE_MAX_STREAMS_PER_USER streams per process.
 */
export const jobEventRoutes: FastifyPluginAsyncTypebox<JobEventRouteOptions> = async (
  app,
  { config, access, bus, jobs, metrics, realtime },
) => {
  const open = new Map<PassThrough, OpenStream>();
  const caps = realtime.sseCaps;

  const stopWatching = bus.subscribe(IDENTITY_CHANGES, (event) => {
    const change = parseIdentityChange(event.type, event.data);
    if (!change) return;
    for (const stream of open.values()) if (affects(change, stream.holder(), stream.workspaces)) stream.recheck();
  });
  await bus.whenSubscribed?.(IDENTITY_CHANGES);

  // Shutdown: end every stream, or the server would wait for them (they end only when their job does).
  app.addHook('preClose', (done) => {
    stopWatching();
    for (const stream of open.keys()) stream.end();
    done();
  });

  app.get(
    '/:id/events',
    {
      schema: {
        tags: ['jobs'],
        operationId: 'watchJobEvents',
        summary: 'Watch a job: its state and progress as server-sent events until it ends',
        params: Type.Object({ id: Id('job', 'Job id') }),
        produces: ['text/event-stream'],
        response: {
          200: Type.Unsafe<unknown>({
            type: 'string',
            description:
              'text/event-stream: `event: state` (the job), then `state` and `progress` events; ends after the final state, or with `event: revoked` `{reason, message}` once the caller loses access',
          }),
        },
      },
      // EventSource in browsers cannot set headers: `?access_token=` is accepted (and redacted from the logs).
      config: { access: 'jobs:read', queryToken: true },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      const { workspaceId } = principal;
      const topic = topics.job(request.params.id);

      // Subscribe before reading the job, so nothing published in between is missed; events are held until the
      // current state has been sent.
      let stream: PassThrough | null = null;
      const early: BusEvent[] = [];
      const unsubscribe = bus.subscribe(topic, (event) => (stream ? send(stream, event) : early.push(event)));
      let job: Job | null;
      try {
        await bus.whenSubscribed?.(topic);
        job = await jobs.find(workspaceId, request.params.id);
      } catch (e) {
        unsubscribe();
        throw e;
      }
      if (!job) {
        unsubscribe();
        throw errors.notFound('Job', request.params.id);
      }
      const release = caps ? caps.take(principal) : () => {};
      if (!release) {
        unsubscribe();
        const { kind, limit } = caps!.holder(principal);
        throw errors.tooManyConnections(
          `${kind === 'apiKey' ? 'This API key' : 'You'} already hold${kind === 'apiKey' ? 's' : ''} ${limit} open job event streams on this server, the most allowed; close one before opening another`,
          limit,
        );
      }

      const out = new PassThrough();
      metrics.sseStreams.inc();
      // Each keep-alive also re-reads the job: the bus does not promise delivery (a Redis reconnect, a worker
      // that died before publishing), and a lost final state must not leave the stream open for ever.
      let checking = false;
      let closed = false;
      const gone = () => closed || out.writableEnded || out.destroyed;
      const token = requestToken(request);
      const reauthenticate =
        config.auth.insecureDisabled || !token ? null : reauthenticator(access, token, request.ip, workspaceId);
      let holder = principal;
      const endRevoked = (reason: UnsubscribeReason) => {
        out.write(frame('revoked', { reason, message: revocationMessage(reason, 'stream') }));
        out.end();
      };
      const recheck = serially(
        async () => {
          if (!reauthenticate || gone()) return;
          const fresh = await reauthenticate();
          if (gone()) return;
          if (fresh === null) return endRevoked('credentials_revoked');
          holder = fresh;
          const allowed = await access.can(fresh, workspaceId, 'jobs:read');
          if (!allowed && !gone()) endRevoked('access_revoked');
        },
        (err: unknown) =>
          request.log.warn({ err, jobId: request.params.id }, 'could not re-authorize a job event stream'),
      );
      open.set(out, { holder: () => holder, workspaces: new Set([workspaceId]), recheck });

      const heartbeat = setInterval(() => {
        if (gone()) return;
        out.write(': keep-alive\n\n');
        recheck();
        if (checking || !stream) return;
        checking = true;
        jobs.find(workspaceId, request.params.id).then(
          (current) => {
            checking = false;
            if (gone()) return;
            if (current && !isFinished(current.status)) return;
            // A job that no longer exists was deleted by the retention sweep, so it had finished: nothing more to tell.
            if (current) out.write(frame('state', current));
            out.end();
          },
          (err: unknown) => {
            checking = false;
            request.log.warn({ err, jobId: request.params.id }, 'reading a watched job failed');
          },
        );
      }, config.realtime.sseHeartbeatMs);
      const cleanup = () => {
        if (closed) return;
        closed = true;
        clearInterval(heartbeat);
        unsubscribe();
        open.delete(out);
        release();
        metrics.sseStreams.dec();
      };
      out.once('close', cleanup);
      // 'finish' as soon as the stream is ended here, whether or not the client has read it all yet.
      out.once('finish', cleanup);
      out.once('end', cleanup);
      request.raw.once('close', () => {
        cleanup();
        out.destroy();
      });

      function send(target: PassThrough, event: BusEvent): void {
        const name = SSE_EVENT[event.type];
        if (!name || target.writableEnded) return;
        // A client that stops reading is cut off rather than buffered for; it reconnects and gets the current state.
        if (target.writableLength > config.realtime.wsMaxBufferBytes) {
          target.destroy();
          return;
        }
        target.write(frame(name, event.data));
        if (name === 'state' && finishedStatus(event.data)) target.end();
      }

      out.write(frame('state', job));
      if (isFinished(job.status)) out.end();
      else {
        stream = out;
        for (const event of early) send(out, event);
      }
      return (
        reply
          .header('content-type', 'text/event-stream; charset=utf-8')
          .header('cache-control', 'no-cache, no-transform')
          // Proxies such as nginx would otherwise buffer the stream.
          .header('x-accel-buffering', 'no')
          .send(out)
      );
    },
  );
};
