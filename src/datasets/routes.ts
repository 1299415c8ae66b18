import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { AppContext } from '../context.js';
import { AppError } from '../errors.js';
import { EXPORT_CONTENT_TYPES } from './export.js';
import type { DatasetSort } from './model.js';
import {
  DatasetParams, DatasetSchema, DatasetSummarySchema, VersionSummarySchema, DownloadQuery, IngestResponse, ListQuery, ListResponse, PatchBody, PreviewQuery,
  PreviewResponse, ProfileResponse, UploadForm, UploadQuery, VersionQuery, VersionSchema,
} from './schemas.js';
import { DEFAULT_WORKSPACE_ID, type IngestResult } from './service.js';
import { readUploadForm } from './upload-form.js';

/** /api/v1/datasets: thin routes over DatasetService. */
export const datasetRoutes: FastifyPluginAsyncTypebox<{ context: AppContext }> = async (app, { context }) => {
  const { datasets, metrics, scratch, config } = context;
  app.addSchema(VersionSchema);
  app.addSchema(DatasetSchema);
  app.addSchema(VersionSummarySchema);
  app.addSchema(DatasetSummarySchema);
  // Until identity lands, every caller works in the default workspace.
  const workspaceOf = () => DEFAULT_WORKSPACE_ID;

  const ingest = async (request: FastifyRequest, datasetId?: string): Promise<IngestResult> => {
    const form = await readUploadForm(request, scratch, config.maxUploadBytes, datasetId ? 'version' : 'dataset');
    const started = performance.now();
    try {
      const result = await datasets.ingest({
        workspaceId: workspaceOf(), datasetId, name: form.name, description: form.description, tags: form.tags, file: form.file,
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
  const ingestResponse = (r: IngestResult) => ({ ...r.dataset, version: r.version, duplicateOf: r.duplicateOf });

  app.post('/', {
    schema: {
      tags: ['datasets'],
      summary: 'Upload a file as a new dataset',
      description: 'Validates the file (size, real type, encoding, structure), stores it as Parquet and profiles it. Identical bytes already in the workspace answer 200 with duplicateOf.',
      consumes: ['multipart/form-data'],
      querystring: UploadQuery,
      response: { 200: IngestResponse, 201: IngestResponse },
    },
    config: { openapiBody: UploadForm },
  }, async (request, reply) => {
    const result = await ingest(request);
    return reply.code(result.duplicateOf ? 200 : 201).send(ingestResponse(result));
  });

  app.get('/', {
    schema: { tags: ['datasets'], summary: 'List datasets', querystring: ListQuery, response: { 200: ListResponse } },
  }, async (request) => {
    const q = request.query;
    const { items, total } = await datasets.list({ ...q, sort: q.sort as DatasetSort, workspaceId: workspaceOf() });
    return { items, total, limit: q.limit, offset: q.offset };
  });

  app.get('/:id', {
    schema: { tags: ['datasets'], summary: 'Get a dataset', params: DatasetParams, response: { 200: Type.Ref('Dataset') } },
  }, async (request) => datasets.get(workspaceOf(), request.params.id));

  app.get('/:id/versions', {
    schema: {
      tags: ['datasets'], summary: 'List the versions of a dataset, newest first', params: DatasetParams,
      response: { 200: Type.Object({ items: Type.Array(Type.Ref('DatasetVersion')) }) },
    },
  }, async (request) => ({ items: await datasets.versions(workspaceOf(), request.params.id) }));

  app.post('/:id/versions', {
    schema: {
      tags: ['datasets'], summary: 'Upload a file as a new version of a dataset', consumes: ['multipart/form-data'],
      params: DatasetParams, querystring: UploadQuery, response: { 200: IngestResponse, 201: IngestResponse },
    },
    config: { openapiBody: UploadForm },
  }, async (request, reply) => {
    const result = await ingest(request, request.params.id);
    return reply.code(result.duplicateOf ? 200 : 201).send(ingestResponse(result));
  });

  app.get('/:id/preview', {
    schema: { tags: ['datasets'], summary: 'Rows of a version', params: DatasetParams, querystring: PreviewQuery, response: { 200: PreviewResponse } },
  }, async (request) => {
    const { limit, offset, columns, version } = request.query;
    const wanted = columns?.split(',').map((c) => c.trim()).filter(Boolean);
    return datasets.preview(workspaceOf(), request.params.id, { limit, offset, columns: wanted, versionId: version });
  });

  app.get('/:id/profile', {
    schema: { tags: ['datasets'], summary: 'Column profile of a version', params: DatasetParams, querystring: VersionQuery, response: { 200: ProfileResponse } },
  }, async (request) => datasets.profile(workspaceOf(), request.params.id, request.query.version));

  app.get('/:id/download', {
    schema: {
      tags: ['datasets'], summary: 'Download a version as CSV, NDJSON, JSON, Parquet or XLSX (streamed)', params: DatasetParams, querystring: DownloadQuery,
      produces: Object.values(EXPORT_CONTENT_TYPES),
      response: { 200: Type.Unsafe<unknown>({ type: 'string', format: 'binary', description: 'The file, streamed' }) },
    },
  }, async (request, reply) => {
    const { format, version } = request.query;
    const { stream, filename } = await datasets.download(workspaceOf(), request.params.id, format, version);
    return reply
      .type(EXPORT_CONTENT_TYPES[format])
      .header('content-disposition', `attachment; filename="${filename}"; filename*=UTF-8''${encodeURIComponent(filename)}`)
      .header('x-content-type-options', 'nosniff')
      .send(stream);
  });

  app.patch('/:id', {
    schema: { tags: ['datasets'], summary: 'Rename, describe or tag a dataset', params: DatasetParams, body: PatchBody, response: { 200: Type.Ref('Dataset') } },
  }, async (request) => datasets.update(workspaceOf(), request.params.id, request.body));

  app.delete('/:id', {
    schema: { tags: ['datasets'], summary: 'Delete a dataset, its versions and their files', params: DatasetParams, response: { 204: Type.Null() } },
  }, async (request, reply) => {
    await datasets.delete(workspaceOf(), request.params.id, request.log);
    return reply.code(204).send(null);
  });
};
