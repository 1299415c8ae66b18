import type { FastifyRequest } from 'fastify';
import { AppError } from '../errors.js';

/**
 * The 415 of a request whose body type the route does not take, naming the types it does. Those are read from the
 * route itself, never written per route: its schema's `consumes`, else JSON when it has a body (as the OpenAPI
 * document says), kept to the types a parser is registered for in the route's plugin.
 */
export function unsupportedMediaType(request: FastifyRequest): AppError {
  const accepted = acceptedMediaTypes(request);
  const route = `${request.method} ${request.routeOptions.url ?? request.url.split('?')[0]}`;
  const sent = sentMediaType(request.headers['content-type']);
  const [first] = accepted;
  const detail =
    first === undefined
      ? `${route} takes no request body; send the request without one`
      : `${route} takes ${article(first)} ${accepted.join(' or ')} body, not ${sent}: send it as ${first}${first === 'multipart/form-data' ? formParts(request) : ` (\`Content-Type: ${first}\`)`}`;
  return new AppError(
    'unsupported_media_type',
    detail,
    [
      {
        pointer: '/headers/content-type',
        message: accepted.length === 0 ? 'no body expected' : `must be ${accepted.join(' or ')}`,
      },
    ],
    { accepts: accepted },
  );
}

/** Fastify's and the multipart plugin's "no parser for this body type". */
const NO_PARSER_CODES = new Set(['FST_ERR_CTP_INVALID_MEDIA_TYPE', 'FST_INVALID_MULTIPART_CONTENT_TYPE']);

/**
 * Whether a request failed because of its body's type: no parser took it, or a parser did (text/plain reads any
 * body as a string) for a route that takes another type, and the body then failed the route's schema.
 */
export function isWrongBodyType(error: unknown, request: FastifyRequest): boolean {
  const e = error as { code?: unknown; validation?: unknown; validationContext?: unknown } | null;
  if (typeof e?.code === 'string' && NO_PARSER_CODES.has(e.code)) return true;
  if (!Array.isArray(e?.validation) || e.validationContext !== 'body') return false;
  const sent = request.headers['content-type']?.split(';')[0]?.trim().toLowerCase();
  const accepted = acceptedMediaTypes(request);
  return sent !== undefined && sent !== '' && accepted.length > 0 && !accepted.includes(sent);
}

export function acceptedMediaTypes(request: FastifyRequest): string[] {
  const schema = request.routeOptions.schema as { consumes?: readonly string[]; body?: unknown } | undefined;
  const documentedBody = (request.routeOptions.config as { openapiBody?: unknown } | undefined)?.openapiBody;
  const declared =
    schema?.consumes ?? (schema?.body !== undefined || documentedBody !== undefined ? ['application/json'] : []);
  return declared.filter((type) => request.server.hasContentTypeParser(type));
}

/** The media type as sent, for the message: only when it looks like one (the header is the client's text). */
function sentMediaType(header: string | undefined): string {
  if (header === undefined || header.trim() === '') return 'a body without a Content-Type';
  const type = header.split(';')[0]!.trim().toLowerCase();
  return /^[a-z0-9!#$&^_.+-]{1,64}\/[a-z0-9!#$&^_.+-]{1,64}$/.test(type) ? type : 'an unrecognised Content-Type';
}

const article = (type: string) => (/^[aeiou]/.test(type) ? 'an' : 'a');

/** `, the file in a "file" part`: the required parts of the form the route documents (`config.openapiBody`). */
function formParts(request: FastifyRequest): string {
  const form = (request.routeOptions.config as { openapiBody?: { required?: unknown } } | undefined)?.openapiBody;
  const required = Array.isArray(form?.required) ? form.required.filter((p): p is string => typeof p === 'string') : [];
  return required.length === 0 ? '' : ` with ${required.map((p) => `a "${p}" part`).join(' and ')}`;
}
