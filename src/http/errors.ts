import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, type ErrorCode, type FieldError } from '../errors.js';
import { isWrongBodyType, unsupportedMediaType } from './media-types.js';
import { problemType, type Problem } from './problem.js';
import { NO_CONTROL_CHARACTERS, NO_CONTROL_CHARACTERS_MESSAGE } from './schema-types.js';

/** Fastify and plugin error codes that are the client's fault, with the code Weir reports them as. */
const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'bad_request',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'bad_request',
  FST_ERR_CTP_INVALID_JSON_BODY: 'bad_request',
  FST_INVALID_MULTIPART_CONTENT_TYPE: 'unsupported_media_type',
  FST_REQ_FILE_TOO_LARGE: 'payload_too_large',
  FST_PARTS_LIMIT: 'payload_too_large',
  FST_FILES_LIMIT: 'payload_too_large',
  FST_FIELDS_LIMIT: 'payload_too_large',
  FST_PROTO_VIOLATION: 'bad_request',
  FST_MULTIPART_INVALID_BOUNDARY: 'bad_request',
};

interface AjvError {
  instancePath?: string;
  message?: string;
  keyword?: string;
  params?: Record<string, unknown>;
}

function validationErrors(error: FastifyError & { validation?: AjvError[]; validationContext?: string }): FieldError[] {
  const context = error.validationContext === 'querystring' ? 'query' : (error.validationContext ?? 'body');
  return (error.validation ?? []).map((v) => {
    let pointer = `/${context}${v.instancePath ?? ''}`;
    let message = v.message ?? 'is invalid';
    if (v.keyword === 'required' && typeof v.params?.missingProperty === 'string') {
      pointer = `${pointer}/${v.params.missingProperty}`;
      message = 'is required';
    } else if (
      v.keyword === 'pattern' &&
      typeof v.params?.pattern === 'string' &&
      /^\^[a-z]{2,3}_/.test(v.params.pattern)
    ) {
      // Id patterns read badly as regular expressions: say what an id looks like instead.
      const prefix = /^\^([a-z]{2,3})_/.exec(v.params.pattern)![1];
      message = `must be an id of the form ${prefix}_ followed by 26 characters`;
    } else if (v.keyword === 'pattern' && v.params?.pattern === NO_CONTROL_CHARACTERS) {
      message = NO_CONTROL_CHARACTERS_MESSAGE;
    } else if (v.keyword === 'additionalProperties' && typeof v.params?.additionalProperty === 'string') {
      pointer = `${pointer}/${v.params.additionalProperty}`;
      message = 'is not an allowed property';
    }
    return { pointer, message };
  });
}

function toProblem(error: unknown, requestId: string): Problem {
  if (error instanceof AppError) {
    return {
      ...error.extensions,
      type: problemType(error.code),
      title: error.title,
      status: error.status,
      detail: error.message,
      code: error.code,
      errors: error.errors,
      requestId,
    };
  }
  const fe = error as FastifyError & { validation?: AjvError[] };
  if (fe && Array.isArray(fe.validation)) {
    const list = validationErrors(fe);
    const detail = list.map((e) => `${e.pointer} ${e.message}`).join('; ') || 'The request is invalid';
    return toProblem(new AppError('validation_failed', detail, list), requestId);
  }
  const known = fe?.code ? FASTIFY_CODES[fe.code] : undefined;
  // Fastify's own 4xx messages describe the request, never the server (no paths, no stacks).
  if (known) return toProblem(new AppError(known, fe.message), requestId);
  if (typeof fe?.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    // A client error Fastify or a plugin raised that FASTIFY_CODES does not name: its own status, told as a bad request.
    return { ...toProblem(new AppError('bad_request', fe.message), requestId), status: fe.statusCode };
  }
  const detail = `An unexpected error occurred. Quote request id ${requestId} when reporting it.`;
  return toProblem(new AppError('internal', detail), requestId);
}

export function sendProblem(reply: FastifyReply, problem: Problem): FastifyReply {
  return reply
    .code(problem.status)
    .type('application/problem+json; charset=utf-8')
    .serializer((p: unknown) => JSON.stringify(p))
    .send(problem);
}

/**
 * One error handler and one not-found handler for the whole app. `notFoundFallback` may answer a request no route
 * matched before it becomes a 404 problem (the dashboard serves its client routes so); it says whether it did.
 */
export function registerErrorHandling(
  app: FastifyInstance,
  notFoundFallback: (request: FastifyRequest, reply: FastifyReply) => boolean = () => false,
): void {
  app.setErrorHandler((error: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const problem = toProblem(isWrongBodyType(error, request) ? unsupportedMediaType(request) : error, request.id);
    if (problem.status >= 500) request.log.error({ err: error }, 'request failed');
    else request.log.info({ code: problem.code, status: problem.status }, problem.detail);
    if (problem.status === 503) reply.header('retry-after', '5');
    // A 429 says when to come back (rate limits set it too; a lockout only says it in the problem).
    const retryAfter = (problem as { retryAfter?: unknown }).retryAfter;
    if (problem.status === 429 && typeof retryAfter === 'number') reply.header('retry-after', String(retryAfter));
    return sendProblem(reply, problem);
  });
  app.setNotFoundHandler((request, reply) => {
    if (notFoundFallback(request, reply)) return reply;
    return sendProblem(
      reply,
      toProblem(new AppError('route_not_found', `No route ${request.method} ${request.url.split('?')[0]}`), request.id),
    );
  });
}
