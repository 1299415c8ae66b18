import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { AppContext } from '../context.js';
import { AppError } from '../errors.js';
import { principalOf } from '../http/access.js';
import { EXPORT_CONTENT_TYPES } from './export.js';
import type { DatasetSort } from './model.js';
import {
  DatasetParams, DatasetSchema, DatasetSummarySchema, VersionSummarySchema, DownloadQuery, IngestAccepted, IngestResponse, ListQuery, ListResponse, PatchBody, PreviewQuery,
  PreviewResponse, ProfileResponse, UploadForm, UploadQuery, VersionQuery, VersionSchema,
} from './schemas.js';
import { ingestResponse } from './jobs.js';
import { type IngestResult } from './service.js';
import { readUploadForm } from './upload-form.js';

/** /api/v1/datasets: thin routes over DatasetService. */
export const datasetRoutes: FastifyPluginAsyncTypebox<{ context: AppContext }> = async (app, { context }) => {
  const { datasets, metrics, scratch, config } = context;
  app.addSchema(VersionSchema);
  app.addSchema(DatasetSchema);
  app.addSchema(VersionSummarySchema);
  app.addSchema(DatasetSummarySchema);
  const workspaceOf = (request: FastifyRequest) => principalOf(request).workspaceId;

  const ingest = async (request: FastifyRequest, datasetId?: string): Promise<IngestResult> => {
    const form = await readUploadForm(request, scratch, config.maxUploadBytes, datasetId ? 'version' : 'dataset');
    const started = performance.now();
    try {
      const result = await datasets.ingest({
        workspaceId: workspaceOf(request), datasetId, name: form.name, description: form.description, tags: form.tags, file: form.file,
        log: request.log,
      });
      const format = result.version.sourceFormat;
      metrics.ingests.inc({ format, outcome: result.duplicateOf ? 'duplicate' : 'stored' });
      if (!result.duplicateOf) metrics.ingestDuration.observe({ format }, (performance.now() - started) / 1000);
      return result;
    } catch (e) {
      metrics.ingests.inc({ format: 'unknown', outcome: e instanceof AppError && e.status < 500 ? 'rejected' : 'failed' });
      throw e;
    }
  };

  /** ?wait=true ingests within the request (201, or 200 for a duplicate); otherwise 202 and an ingest job. */
  const upload = async (request: FastifyRequest, reply: FastifyReply, wait: boolean, datasetId?: string) => {
    if (wait) {
      const result = await ingest(request, datasetId);
      return reply.code(result.duplicateOf ? 200 : 201).send(ingestResponse(result));
    }
    const form = await readUploadForm(request, scratch, config.maxUploadBytes, datasetId ? 'version' : 'dataset');
    const principal = principalOf(request);
    const submitted = await context.ingests.submit({
      workspaceId: principal.workspaceId, createdBy: principal.userId, datasetId, name: form.name, description: form.description, tags: form.tags, file: form.file,
      log: request.log,
    });
    if ('duplicate' in submitted) {
      metrics.ingests.inc({ format: submitted.duplicate.version.sourceFormat, outcome: 'duplicate' });
      return reply.code(200).send(ingestResponse(submitted.duplicate));
    }
    return reply.code(202).header('location', `/api/v1/jobs/${submitted.accepted.jobId}`).send(submitted.accepted);
  };

  app.post('/', {
    schema: {
      tags: ['datasets'],
      summary: 'Upload a file as a new dataset',
      description:
        'Stores the file durably and answers 202 with the dataset id and an ingest job, which validates the file (real type, encoding, structure), ' +
        'stores it as Parquet and profiles it; a refused file fails the job with the validation code. With ?wait=true all of that happens within ' +
        'the request (201). Identical bytes already in the workspace answer 200 with duplicateOf either way.',
      consumes: ['multipart/form-data'],
      querystring: UploadQuery,
      response: { 200: IngestResponse, 201: IngestResponse, 202: IngestAccepted },
    },
    config: { access: 'datasets:write', openapiBody: UploadForm },
  }, async (request, reply) => upload(request, reply, request.query.wait));

  app.get('/', {
    config: { access: 'datasets:read' },
    schema: { tags: ['datasets'], summary: 'List datasets', querystring: ListQuery, response: { 200: ListResponse } },
  }, async (request) => {
    const q = request.query;
    const { items, total } = await datasets.list({ ...q, sort: q.sort as DatasetSort, workspaceId: workspaceOf(request) });
    return { items, total, limit: q.limit, offset: q.offset };
  });

  app.get('/:id', {
    config: { access: 'datasets:read' },
    schema: { tags: ['datasets'], summary: 'Get a dataset', params: DatasetParams, response: { 200: Type.Ref('Dataset') } },
  }, async (request) => datasets.get(workspaceOf(request), request.params.id));

  app.get('/:id/versions', {
    config: { access: 'datasets:read' },
    schema: {
      tags: ['datasets'], summary: 'List the versions of a dataset, newest first', params: DatasetParams,
      response: { 200: Type.Object({ items: Type.Array(Type.Ref('DatasetVersion')) }) },
    },
  }, async (request) => ({ items: await datasets.versions(workspaceOf(request), request.params.id) }));

  app.post('/:id/versions', {
    schema: {
      tags: ['datasets'], summary: 'Upload a file as a new version of a dataset', consumes: ['multipart/form-data'],
      description: 'As POST /api/v1/datasets: 202 and an ingest job, or with ?wait=true 201 once the version is stored.',
      params: DatasetParams, querystring: UploadQuery, response: { 200: IngestResponse, 201: IngestResponse, 202: IngestAccepted },
    },
    config: { access: 'datasets:write', openapiBody: UploadForm },
  }, async (request, reply) => upload(request, reply, request.query.wait, request.params.id));

  app.get('/:id/preview', {
    config: { access: 'datasets:read' },
    schema: { tags: ['datasets'], summary: 'Rows of a version', params: DatasetParams, querystring: PreviewQuery, response: { 200: PreviewResponse } },
  }, async (request) => {
    const { limit, offset, columns, version } = request.query;
    const wanted = columns?.split(',').map((c) => c.trim()).filter(Boolean);
    return datasets.preview(workspaceOf(request), request.params.id, { limit, offset, columns: wanted, versionId: version });
  });

  app.get('/:id/profile', {
    config: { access: 'datasets:read' },
    schema: { tags: ['datasets'], summary: 'Column profile of a version', params: DatasetParams, querystring: VersionQuery, response: { 200: ProfileResponse } },
  }, async (request) => datasets.profile(workspaceOf(request), request.params.id, request.query.version));

  app.get('/:id/download', {
    config: { access: 'datasets:read' },
    schema: {
      tags: ['datasets'], summary: 'Download a version as CSV, NDJSON, JSON, Parquet or XLSX (streamed)', params: DatasetParams, querystring: DownloadQuery,
      produces: Object.values(EXPORT_CONTENT_TYPES),
      response: { 200: Type.Unsafe<unknown>({ type: 'string', format: 'binary', description: 'The file, streamed' }) },
    },
  }, async (request, reply) => {
    const { format, version } = request.query;
    const { stream, filename } = await datasets.download(workspaceOf(request), request.params.id, format, version);
    return reply
      .type(EXPORT_CONTENT_TYPES[format])
      .header('content-disposition', `attachment; filename="${filename}"; filename*=UTF-8''${encodeURIComponent(filename)}`)
      .header('x-content-type-options', 'nosniff')
      .send(stream);
  });

  app.patch('/:id', {
    config: { access: 'datasets:write' },
    schema: {
      tags: ['datasets'], summary: 'Rename, describe or tag a dataset, or set how many versions to keep', params: DatasetParams, body: PatchBody, response: { 200: Type.Ref('Dataset') },
      description: '`keepVersions`: N keeps the N newest versions; the storage sweep deletes older ones (never the latest). null keeps all.',
    },
  }, async (request) => datasets.update(workspaceOf(request), request.params.id, request.body));

  app.delete('/:id', {
    config: { access: 'datasets:delete' },
    schema: { tags: ['datasets'], summary: 'Delete a dataset, its versions and their files', params: DatasetParams, response: { 204: Type.Null() } },
  }, async (request, reply) => {
    await datasets.delete(workspaceOf(request), request.params.id, request.log);
    return reply.code(204).send(null);
  });
};
