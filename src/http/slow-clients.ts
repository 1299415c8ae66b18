import type { Socket } from 'node:net';
import type { FastifyInstance, FastifyReply, FastifyRequest, FastifyServerOptions } from 'fastify';
import type { HttpLimitsConfig, MinRate } from '../config.js';
import { AppError } from '../errors.js';
import { newId } from '../ids.js';
import { rawProblemResponse } from './raw-problem.js';

/**
 * Clients that hold a connection by sending slowly. Each phase of a request has its own bound:
 * - headers: Node's `headersTimeout` (408 and close), checked every `connectionsCheckingInterval`;
 * - a body Fastify parses (JSON, at most WEIR_MAX_BODY_BYTES): it must be complete WEIR_HTTP_BODY_TIMEOUT after
 *   its headers;
 * - a file upload the handler streams (routes with `config.uploadBody`: tus, multipart): no total time (5 GB take a
 *   while) but a minimum rate, WEIR_UPLOAD_MIN_RATE, measured while the server is reading. Bytes delivered before the
 *   cut stay delivered (tus keeps them: the client resumes at the new offset);
 * - between requests: `keepAliveTimeout`.
 * Node's `requestTimeout` (whole request, body included, on every route) stays off: it would cut long uploads.
 * Fastify's `connectionTimeout` (socket idle) stays off too: it would cut a quiet SSE stream or a long `?wait=true`;
 * and `handlerTimeout` cannot be lifted for one route. Responses are not bounded here: a WebSocket, an SSE stream or a
 * download lasts as long as it needs, and the connections a client may hold are capped per address instead
 * (connection-cap.ts).
 */

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The body is a file upload the handler streams: bound by WEIR_UPLOAD_MIN_RATE instead of WEIR_HTTP_BODY_TIMEOUT. */
    uploadBody?: boolean;
  }
}

type ServerTimeouts = Pick<
  FastifyServerOptions,
  'keepAliveTimeout' | 'requestTimeout' | 'connectionTimeout' | 'clientErrorHandler'
> & {
  http: { headersTimeout: number; connectionsCheckingInterval: number };
};

/** The Fastify server options that bound the headers and idle keep-alive connections. */
export function serverTimeouts(limits: HttpLimitsConfig): ServerTimeouts {
  return {
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    requestTimeout: 0,
    connectionTimeout: 0,
    clientErrorHandler: (error, socket) => answerClientError(error, socket, limits),
    // Node checks headers only this often (default 30 s): a quarter of the timeout keeps the overrun small.
    http: {
      headersTimeout: limits.headersTimeoutMs,
      connectionsCheckingInterval: Math.min(5000, Math.max(25, Math.floor(limits.headersTimeoutMs / 4))),
    },
  };
}

/**
 * What Node reports before a request reaches Fastify (headers too slow, too large, not HTTP), as a problem like any
 * other error instead of Fastify's plain JSON; the connection is closed.
 */
function answerClientError(error: Error & { code?: string }, socket: Socket, limits: HttpLimitsConfig): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const problem =
    error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? new AppError(
          'request_timeout',
          `The request headers did not arrive within ${limits.headersTimeoutMs} ms (WEIR_HTTP_HEADERS_TIMEOUT); the connection is closed`,
        )
      : error.code === 'HPE_HEADER_OVERFLOW'
        ? new AppError('headers_too_large', 'The request headers are larger than the server accepts')
        : new AppError('bad_request', 'The request is not valid HTTP/1.1');
  if (socket.writable) socket.write(rawProblemResponse(problem, newId('req')));
  socket.destroy(error);
}

const hasBody = (request: FastifyRequest): boolean => {
  const length = request.headers['content-length'];
  return request.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
};

/** Arms the body bound of every request that has a body still to arrive. */
export function registerBodyDeadlines(app: FastifyInstance, limits: HttpLimitsConfig): void {
  app.addHook('onRequest', (request, reply, done) => {
    if (!request.raw.complete && hasBody(request)) {
      if (request.routeOptions.config.uploadBody !== true) watchDeadline(request, reply, limits.bodyTimeoutMs);
      else if (limits.uploadMinRate) watchRate(request, reply, limits.uploadMinRate);
    }
    done();
  });
}

function watchDeadline(request: FastifyRequest, reply: FastifyReply, timeoutMs: number): void {
  const timer = setTimeout(() => {
    if (request.raw.complete) return;
    cut(
      request,
      reply,
      `The request body did not arrive within ${timeoutMs} ms of its headers (WEIR_HTTP_BODY_TIMEOUT); the connection is closed`,
    );
  }, timeoutMs);
  timer.unref();
  // 'close': the body was read to its end, or the request was aborted.
  request.raw.once('close', () => clearTimeout(timer));
}

/**
 * Counts the socket's bytes per window of the client's time. Time during which the server holds the body back
 * (the handler not reading yet, a slow disk or store: the socket is paused) is not the client's and restarts the
 * window.
 */
function watchRate(request: FastifyRequest, reply: FastifyReply, rate: MinRate): void {
  const socket = request.raw.socket;
  const tickMs = Math.max(25, Math.floor(rate.windowMs / 10));
  let from = socket.bytesRead;
  let elapsed = 0;
  const timer = setInterval(() => {
    if (request.raw.complete || socket.destroyed) {
      clearInterval(timer);
      return;
    }
    if (socket.isPaused()) {
      from = socket.bytesRead;
      elapsed = 0;
      return;
    }
    elapsed += tickMs;
    if (elapsed < rate.windowMs) return;
    const received = socket.bytesRead - from;
    if (received < rate.bytes) {
      clearInterval(timer);
      cut(
        request,
        reply,
        `The upload sent ${received} bytes in ${rate.windowMs} ms, below the minimum of ${rate.bytes} bytes per ${rate.windowMs} ms (WEIR_UPLOAD_MIN_RATE); the connection is closed, resume the upload from its offset`,
      );
      return;
    }
    from = socket.bytesRead;
    elapsed = 0;
  }, tickMs);
  timer.unref();
  request.raw.once('close', () => clearInterval(timer));
}

/**
 * Answers 408 when no response has started (as Node does for slow headers) and closes the connection: destroying
 * the unfinished request destroys its socket, and whatever was reading the body fails with the 408.
 */
function cut(request: FastifyRequest, reply: FastifyReply, detail: string): void {
  const socket = request.raw.socket;
  if (socket.destroyed) return;
  const error = new AppError('request_timeout', detail);
  request.log.info(
    { bytesRead: socket.bytesRead, route: request.routeOptions.url },
    'request body too slow; connection closed',
  );
  if (!reply.raw.headersSent && socket.writable) socket.write(rawProblemResponse(error, request.id));
  request.raw.destroy(error);
}
