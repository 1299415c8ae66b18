import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { Config } from '../config.js';
import { errors } from '../errors.js';
import { principalOf } from '../http/access.js';
import { unsupportedMediaType } from '../http/media-types.js';
import type { StoredUpload } from './model.js';
import type { UploadCaller, UploadService } from './service.js';
import {
  CHECKSUM_ALGORITHMS,
  OFFSET_OCTET_STREAM,
  TUS_EXTENSIONS,
  TUS_VERSION,
  httpDate,
  parseChecksum,
  parseConcat,
  parseMetadataHeader,
  parseSize,
  versionMismatch,
} from './protocol.js';
import { UploadListQuery, UploadListResponse, UploadParams, UploadViewSchema } from './schemas.js';

/** Ends a reply without a body (tus answers in headers). */
const empty = (reply: FastifyReply) => reply.send();

const NoContent = { 204: Type.Null({ description: 'No content; the tus headers carry the answer' }) };
const Created = {
  201: Type.Null({ description: 'Created; `Location` names the upload, `Upload-Offset` the bytes already stored' }),
};

/**
 * /api/v1/uploads: the tus 1.0.0 resumable-upload protocol (creation, creation-with-upload, creation-defer-length,
 * expiration, checksum, termination, concatenation) implemented on Fastify, plus a JSON view of each upload and
 * its ingest. Authentication and permissions are the API's own: creating and writing need `datasets:write`,
 * reading `datasets:read`. An upload belongs to its creator: only they write to it (and only the session writing it
 * may take a write over); terminating another member's needs `datasets:delete`.
 */
export interface UploadRouteOptions {
  config: Pick<Config, 'maxUploadBytes'>;
  uploads: UploadService;
}

export const uploadRoutes: FastifyPluginAsyncTypebox<UploadRouteOptions> = async (app, { config, uploads }) => {
  const prefix = '/api/v1/uploads';
  app.addSchema(UploadViewSchema);

  // The body of a PATCH (or a creation-with-upload POST) is streamed to the staging store by the service, never
  // parsed or buffered; its size is bounded there (Upload-Length, WEIR_MAX_UPLOAD_BYTES), not by bodyLimit.
  app.addContentTypeParser(OFFSET_OCTET_STREAM, (_request, _payload, done) => done(null));

  // Every answer of the protocol carries the version, errors included. An error answered before the request
  // body was read (a refused first chunk, a wrong offset) closes the connection: a client still sending the
  // body would otherwise wait on a keep-alive connection that nobody reads.
  app.addHook('onSend', (request, reply, payload, done) => {
    if (request.method !== 'GET') reply.header('tus-resumable', TUS_VERSION);
    if (reply.statusCode >= 400 && (request.method === 'PATCH' || request.method === 'POST') && !request.raw.complete)
      reply.header('connection', 'close');
    done(null, payload);
  });
  // tus requests say which protocol version they speak; the JSON view (GET) and discovery (OPTIONS) need not.
  app.addHook('preHandler', (request, _reply, done) => {
    if (request.method === 'GET' || request.method === 'OPTIONS') return done();
    const version = request.headers['tus-resumable'];
    done(version === TUS_VERSION ? undefined : versionMismatch(typeof version === 'string' ? version : undefined));
  });

  const workspaceOf = (request: FastifyRequest) => principalOf(request).workspaceId;
  const callerOf = (request: FastifyRequest): UploadCaller => {
    const p = principalOf(request);
    return { userId: p.userId, session: p.apiKeyId ?? p.sessionId ?? p.userId, permissions: p.permissions };
  };
  const header = (request: FastifyRequest, name: string): string | undefined => {
    const v = request.headers[name];
    return Array.isArray(v) ? v.join(',') : v;
  };
  const location = (id: string) => `${prefix}/${id}`;

  /** The headers HEAD, POST and PATCH answer with. */
  const tusHeaders = (reply: FastifyReply, u: StoredUpload) => {
    reply.header('upload-offset', String(u.offset)).header('cache-control', 'no-store');
    if (u.length !== null) reply.header('upload-length', String(u.length));
    else reply.header('upload-defer-length', '1');
    if (u.expiresAt && u.status === 'uploading') reply.header('upload-expires', httpDate(new Date(u.expiresAt)));
    if (u.concat === 'partial') reply.header('upload-concat', 'partial');
    if (u.concat === 'final') reply.header('upload-concat', `final;${u.parts.map(location).join(' ')}`);
  };

  const readBody = (request: FastifyRequest) => {
    const type = header(request, 'content-type')?.split(';')[0]?.trim().toLowerCase();
    if (type !== OFFSET_OCTET_STREAM) throw unsupportedMediaType(request);
    return request.raw;
  };

  app.options(
    '/',
    {
      config: { access: 'public', rateLimit: 'none' },
      schema: {
        tags: ['uploads'],
        operationId: 'getUploadCapabilities',
        summary: 'tus discovery: version, extensions, size limit, checksum algorithms',
        response: NoContent,
      },
    },
    async (_request, reply) => {
      reply
        .header('tus-resumable', TUS_VERSION)
        .header('tus-version', TUS_VERSION)
        .header('tus-extension', TUS_EXTENSIONS.join(','))
        .header('tus-max-size', String(config.maxUploadBytes))
        .header('tus-checksum-algorithm', CHECKSUM_ALGORITHMS.join(','));
      return empty(reply.code(204));
    },
  );

  app.post(
    '/',
    {
      // The metadata's `datasetId` names the dataset the finished upload adds a version to.
      config: {
        access: 'datasets:write',
        audit: 'upload.create',
        datasets: { '/headers/upload-metadata/datasetId': 'appends' },
        uploadBody: true,
      },
      schema: {
        tags: ['uploads'],
        operationId: 'createUpload',
        summary:
          'Create an upload (tus creation; optionally with its first bytes, a deferred length, or as the concatenation of partial uploads)',
        consumes: [OFFSET_OCTET_STREAM],
        description:
          "Headers: `Upload-Length` (or `Upload-Defer-Length: 1`), `Upload-Metadata` (base64 pairs: `filename`, `name`, `description`, `tags` comma-separated, `datasetId` for a new version of an existing dataset, `filetype`), `Upload-Concat` (`partial` or `final;<urls>`). Over the size limit or the workspace quota: 413 before any byte is stored. `name` and `filename` follow the upload form's rules (no control characters; a file name, not a path).",
        response: Created,
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      const deferred = header(request, 'upload-defer-length');
      if (deferred !== undefined && deferred !== '1')
        throw errors.validation('Upload-Defer-Length must be 1', [
          { pointer: '/headers/upload-defer-length', message: 'must be 1' },
        ]);
      const length = parseSize(header(request, 'upload-length'), 'upload-length');
      const concat = parseConcat(header(request, 'upload-concat'));
      if (concat?.kind !== 'final' && (length === undefined) === (deferred === undefined)) {
        throw errors.validation('Send either Upload-Length or Upload-Defer-Length: 1', [
          { pointer: '/headers/upload-length', message: 'required unless the length is deferred' },
        ]);
      }
      if (concat?.kind === 'final' && length !== undefined)
        throw errors.validation('A final upload takes its length from its parts: omit Upload-Length', [
          { pointer: '/headers/upload-length', message: 'not allowed with Upload-Concat: final' },
        ]);
      // creation-with-upload: a body, which must be the upload's first bytes. Everything is checked before the upload
      // exists, so a refused request leaves nothing behind.
      const hasBody =
        header(request, 'content-type') !== undefined && Number(header(request, 'content-length') ?? '1') > 0;
      const body = hasBody ? readBody(request) : null;
      if (body && concat?.kind === 'final')
        throw errors.validation('A final upload takes no bytes of its own', [
          { pointer: '/body', message: 'must be empty with Upload-Concat: final' },
        ]);
      const checksum = parseChecksum(header(request, 'upload-checksum'));
      const caller = callerOf(request);
      let upload = await uploads.create({
        workspaceId: principal.workspaceId,
        caller,
        length,
        metadata: parseMetadataHeader(header(request, 'upload-metadata')),
        concat,
        log: request.log,
      });
      request.audit = {
        targetType: 'upload',
        targetId: upload.id,
        detail: { length: upload.length, filename: upload.filename, concat: upload.concat },
      };
      if (body)
        upload = await uploads.write(
          principal.workspaceId,
          upload.id,
          { offset: 0, checksum, body, log: request.log },
          caller,
        );
      tusHeaders(reply, upload);
      return empty(reply.code(201).header('location', location(upload.id)));
    },
  );

  // HEAD counts against the caller's budget like any read: a client sends one per resume, not per chunk.
  app.head(
    '/:id',
    {
      config: { access: 'datasets:read' },
      schema: {
        tags: ['uploads'],
        operationId: 'getUploadOffset',
        summary: 'The stored offset of an upload (tus): where to resume',
        params: UploadParams,
        response: { 200: Type.Null() },
      },
    },
    async (request, reply) => {
      tusHeaders(reply, await uploads.head(workspaceOf(request), request.params.id, callerOf(request)));
      return empty(reply.code(200));
    },
  );

  app.patch(
    '/:id',
    {
      config: { access: 'datasets:write', audit: false, rateLimit: 'none', uploadBody: true },
      schema: {
        tags: ['uploads'],
        operationId: 'appendUploadBytes',
        summary:
          'Append bytes at Upload-Offset (tus); `Upload-Checksum` (sha1, sha256, md5) is verified before they count',
        consumes: [OFFSET_OCTET_STREAM],
        params: UploadParams,
        response: NoContent,
      },
    },
    async (request, reply) => {
      const offset = parseSize(header(request, 'upload-offset'), 'upload-offset');
      if (offset === undefined)
        throw errors.validation('Upload-Offset is required', [
          { pointer: '/headers/upload-offset', message: 'required' },
        ]);
      const upload = await uploads.write(
        workspaceOf(request),
        request.params.id,
        {
          offset,
          length: parseSize(header(request, 'upload-length'), 'upload-length'),
          checksum: parseChecksum(header(request, 'upload-checksum')),
          body: readBody(request),
          log: request.log,
        },
        callerOf(request),
      );
      tusHeaders(reply, upload);
      return empty(reply.code(204));
    },
  );

  app.delete(
    '/:id',
    {
      config: { access: 'datasets:write', audit: 'upload.terminate' },
      schema: {
        tags: ['uploads'],
        operationId: 'terminateUpload',
        summary: 'Terminate an upload (tus): its bytes are deleted',
        description: "Another member's upload needs `datasets:delete`.",
        params: UploadParams,
        response: NoContent,
      },
    },
    async (request, reply) => {
      request.audit = { targetType: 'upload', targetId: request.params.id };
      await uploads.terminate(workspaceOf(request), request.params.id, request.log, callerOf(request));
      return empty(reply.code(204));
    },
  );

  app.get(
    '/:id',
    {
      config: { access: 'datasets:read' },
      schema: {
        tags: ['uploads'],
        operationId: 'getUpload',
        summary:
          'An upload and its ingest: bytes received, status, the dataset version it became or why it was refused',
        params: UploadParams,
        response: { 200: Type.Ref('UploadView') },
      },
    },
    async (request) => uploads.view(workspaceOf(request), request.params.id),
  );

  app.get(
    '/',
    {
      config: { access: 'datasets:read' },
      schema: {
        tags: ['uploads'],
        operationId: 'listUploads',
        summary: 'Uploads of the workspace, newest first',
        querystring: UploadListQuery,
        response: { 200: UploadListResponse },
      },
    },
    async (request) =>
      uploads.list(workspaceOf(request), request.query.limit, request.query.offset, request.query.status),
  );
};
