import { STATUS_CODES } from 'node:http';
import type { AppError } from '../errors.js';
import { problemType } from './problem.js';

/**
 * A whole HTTP/1.1 response carrying `error` as problem+json, for the socket itself: written where no Fastify reply
 * can be (a connection refused before it reaches the HTTP parser, a request cut while its body is still arriving).
 * It always ends the connection.
 */
export function rawProblemResponse(error: AppError, requestId: string): string {
  const body = JSON.stringify({
    ...error.extensions,
    type: problemType(error.code),
    title: error.title,
    status: error.status,
    detail: error.message,
    code: error.code,
    errors: error.errors,
    requestId,
  });
  return (
    `HTTP/1.1 ${error.status} ${STATUS_CODES[error.status] ?? ''}\r\ncontent-type: application/problem+json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
    `x-request-id: ${requestId}\r\nconnection: close\r\n\r\n${body}`
  );
}
