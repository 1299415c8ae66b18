import websocket from '@fastify/websocket';
import type { FastifyPluginAsync } from 'fastify';
import { Type } from 'typebox';
import type { Config } from '../config.js';
import { AppError, errors } from '../errors.js';
import { principalOf, type AccessControl } from '../http/access.js';
import type { Metrics } from '../system/metrics.js';
import { Connection, type ConnectionLimits } from './connection.js';
import type { Realtime } from './index.js';
import { reauthenticator, requestToken } from './reauthorize.js';

/** Client frames are small JSON requests; a larger frame is abuse and closes the connection (1009). */
const MAX_CLIENT_FRAME_BYTES = 64 * 1024;
/** Requests one connection may have waiting for an answer. */
const MAX_PENDING_REQUESTS = 32;

export interface WebsocketRouteOptions {
  config: Pick<Config, 'realtime' | 'auth'>;
  /** Authorizes each subscription, and the connection again on heartbeats and identity changes. */
  access: AccessControl;
  metrics: Metrics;
  realtime: Realtime;
}

/** GET /api/v1/ws: the WebSocket hub (protocol: src/realtime/protocol.ts, docs/realtime.md). */
export const websocketRoutes: FastifyPluginAsync<WebsocketRouteOptions> = async (
  app,
  { config, access, metrics, realtime },
) => {
  const hub = realtime.hub();
  const catalog = realtime.topics;
  const caps = realtime.wsCaps;
  const limits: ConnectionLimits = {
    maxBufferBytes: config.realtime.wsMaxBufferBytes,
    maxSubscriptions: config.realtime.wsMaxSubscriptions,
    maxPending: MAX_PENDING_REQUESTS,
  };
  await hub.watchingIdentity();

  await app.register(websocket, {
    // No compression: per-message deflate costs memory per connection and CPU per send, and events are small.
    options: { maxPayload: MAX_CLIENT_FRAME_BYTES, perMessageDeflate: false, clientTracking: false },
    // Instead of the plugin's default (close without a code): 1001 "going away" to every client.
    preClose(done) {
      realtime.close();
      done();
    },
    errorHandler(error, socket, request) {
      // Mostly clients that vanish mid-frame; the socket is gone either way.
      request.log.debug({ err: { message: error.message } }, 'websocket: socket error');
      socket.terminate();
    },
  });

  app.route({
    method: 'GET',
    url: '/ws',
    schema: { hide: true, response: { 101: Type.Null({ description: 'Switching Protocols' }) } },
    // Authenticated by the one auth hook (src/http/auth.ts) before the upgrade, like every route; browsers cannot
    // set headers on a WebSocket, so `?access_token=` is accepted here (the request log redacts it). A failure
    // answers a plain HTTP 401 problem and the socket is never upgraded. No cookies are involved, so cross-site
    // pages cannot borrow a session: they would need the token itself.
    config: { access: 'authenticated', queryToken: true },
    // A refused handshake (401, 403, 429) ends the connection: an upgrade request's socket is never reused for
    // HTTP. @fastify/websocket destroys it only when its own onRequest hook ran, which the auth hook (registered
    // first, on the root) pre-empts when it refuses.
    onSend: async (request, reply, payload) => {
      if (request.headers.upgrade && reply.statusCode !== 101) reply.header('connection', 'close');
      return payload;
    },
    onResponse: (request, reply, done) => {
      if (request.headers.upgrade && reply.statusCode !== 101) request.raw.socket.destroy();
      done();
    },
    // The connection cap, answered as a 429 problem before the upgrade. The slot is held by the TCP socket, not by
    // the WebSocket: every way the handshake or the connection can end closes it, so the slot always comes back.
    preHandler: (request, _reply, done) => {
      if (!caps || !request.ws) return done();
      const principal = principalOf(request);
      const release = caps.take(principal);
      if (!release) {
        const { kind, limit } = caps.holder(principal);
        request.log.info(
          { userId: principal.userId, apiKeyId: principal.apiKeyId, limit },
          'websocket: connection refused, holder at its cap',
        );
        return done(
          errors.tooManyConnections(
            `${kind === 'apiKey' ? 'This API key' : 'You'} already hold${kind === 'apiKey' ? 's' : ''} ${limit} open WebSocket connections on this server, the most allowed; close one before opening another`,
            limit,
          ),
        );
      }
      const socket = request.raw.socket;
      if (socket.destroyed) release();
      else socket.once('close', release);
      done();
    },
    handler: () => {
      throw new AppError(
        'upgrade_required',
        'GET /api/v1/ws is a WebSocket endpoint: send an Upgrade: websocket request',
      );
    },
    wsHandler: (socket, request) => {
      const principal = request.principal;
      if (!principal) {
        socket.close(4401, 'unauthenticated');
        return;
      }
      const token = requestToken(request);
      const reauthenticate =
        config.auth.insecureDisabled || !token
          ? undefined
          : reauthenticator(access, token, request.ip, principal.workspaceId);
      // The request's logger (it carries the request id); no child logger per connection: 10,000 of them add up.
      const connection = new Connection(socket, principal, request.log, {
        hub,
        catalog,
        access,
        metrics,
        limits,
        reauthenticate,
      });
      connection.start();
      request.log.debug({ userId: principal.userId, connections: hub.size }, 'websocket: connected');
    },
  });
};
