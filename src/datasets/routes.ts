import multipart from '@fastify/multipart';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { Scratch } from '../blobs/scratch.js';
import type { Config } from '../config.js';
import type { JobService } from '../jobs/service.js';
import type { Metrics } from '../system/metrics.js';
import type { DatasetService } from './service.js';
import { principalOf } from '../http/access.js';
import { clientGone } from '../http/client-gone.js';
import { isFinished } from '../jobs/types.js';
import { EXPORT_CONTENT_TYPES } from './export.js';
import type { DatasetSort } from './model.js';
import {
  DatasetParams,
  DatasetSchema,
  DatasetSummarySchema,
  VersionSummarySchema,
  DownloadQuery,
  IngestAccepted,
  IngestResponse,
  ListQuery,
  ListResponse,
  PatchBody,
  PreviewQuery,
  PreviewResponse,
  ProfileResponse,
  UploadForm,
  UploadQuery,
  VersionQuery,
  VersionSchema,
} from './schemas.js';
import { ingestFailure, ingestResponse, type IngestJobResult, type IngestSubmitter } from './jobs.js';
import { readUploadForm } from './upload-form.js';

/** How long `?wait=true` waits for an ingest before answering 202 with the job (a very large file). */
const INGEST_WAIT_MS = 30 * 60_000;

/** /api/v1/datasets: thin routes over DatasetService. */
export interface DatasetRouteOptions {
  config: Pick<Config, 'maxUploadBytes'>;
  datasets: DatasetService;
  /** Uploads become ingest jobs; `?wait=true` waits for the job. */
  ingests: IngestSubmitter;
  jobs: Pick<JobService, 'waitUntilFinished'>;
  metrics: Metrics;
  scratch: Scratch;
}

export const datasetRoutes: FastifyPluginAsyncTypebox<DatasetRouteOptions> = async (
  app,
  { config, datasets, ingests, jobs, metrics, scratch },
) => {
  // Here, not on the app: the plugin adds two async hooks (a promise each, and a 'close' listener) to every request
  // of the context it is registered in, and only the uploads below read multipart bodies.
  await app.register(multipart, {
    // The file name as sent, path included: upload-names.ts refuses a path instead of quietly cutting it (as tus does).
    preservePath: true,
    limits: {
      fileSize: config.maxUploadBytes,
      files: 1,
      fields: 20,
      fieldSize: 64 * 1024,
      parts: 21,
      headerPairs: 100,
    },
  });
  app.addSchema(VersionSchema);
  app.addSchema(DatasetSchema);
  app.addSchema(VersionSummarySchema);
  app.addSchema(DatasetSummarySchema);
  const workspaceOf = (request: FastifyRequest) => principalOf(request).workspaceId;

  /**
   * The file is stored durably and an ingest job queued (202); with ?wait=true the answer is the job's outcome (201,
   * 200 for a duplicate, or the refusal). Either way the ingest runs in the job worker process, never in the API's.
   */
  const upload = async (request: FastifyRequest, reply: FastifyReply, wait: boolean, datasetId?: string) => {
    // Before a byte of the file is read: a version the caller may not add is refused at once (the job checks again).
    if (datasetId)
      await datasets.assertMayAppend(workspaceOf(request), datasetId, principalOf(request).permissions, {
        caller: 'request',
        pointer: '/params/id',
      });
    const form = await readUploadForm(request, scratch, config.maxUploadBytes, datasetId ? 'version' : 'dataset');
    const principal = principalOf(request);
    const submitted = await ingests.submit({
      workspaceId: principal.workspaceId,
      createdBy: principal.userId,
      datasetId,
      name: form.name,
      description: form.description,
      tags: form.tags,
      file: form.file,
      log: request.log,
      requestId: request.id,
    });
    if ('duplicate' in submitted) {
      metrics.countIngest({ format: submitted.duplicate.version.sourceFormat, duplicate: true, startedMs: null });
      return reply.code(200).send(ingestResponse(submitted.duplicate));
    }
    const { jobId } = submitted.accepted;
    const accepted = () => reply.code(202).header('location', `/api/v1/jobs/${jobId}`).send(submitted.accepted);
    if (!wait) return accepted();
    const job = await jobs.waitUntilFinished(principal.workspaceId, jobId, INGEST_WAIT_MS, clientGone(reply));
    if (job.status === 'succeeded') {
      const result = job.result as IngestJobResult;
      return reply.code(result.duplicateOf ? 200 : 201).send(result);
    }
    // Still running when the wait ran out (or nobody is listening any more): the job goes on.
    if (!isFinished(job.status)) return accepted();
    throw ingestFailure(job);
  };

  app.post(
    '/',
    {
      schema: {
        tags: ['datasets'],
        operationId: 'createDataset',
        summary: 'Upload a file as a new dataset',
        description:
          'Stores the file durably and answers 202 with the dataset id and an ingest job, which validates the file (real type, encoding, structure), ' +
          'stores it as Parquet and profiles it; a refused file fails the job with the validation code. With ?wait=true the request waits for the job ' +
          'and answers its outcome: 201 with the dataset, or the refusal as a problem (202 still, after 30 minutes). Identical bytes already in the ' +
          'workspace answer 200 with duplicateOf either way.',
        consumes: ['multipart/form-data'],
        querystring: UploadQuery,
        response: { 200: IngestResponse, 201: IngestResponse, 202: IngestAccepted },
      },
      config: { access: 'datasets:write', openapiBody: UploadForm, uploadBody: true },
    },
    async (request, reply) => upload(request, reply, request.query.wait),
  );

  app.get(
    '/',
    {
      config: { access: 'datasets:read' },
      schema: {
        tags: ['datasets'],
        operationId: 'listDatasets',
        summary: 'List datasets',
        querystring: ListQuery,
        response: { 200: ListResponse },
      },
    },
    async (request) => {
      const q = request.query;
      const { items, total } = await datasets.list({
        ...q,
        sort: q.sort as DatasetSort,
        workspaceId: workspaceOf(request),
      });
      return { items, total, limit: q.limit, offset: q.offset };
    },
  );

  app.get(
    '/:id',
    {
      config: { access: 'datasets:read' },
      schema: {
        tags: ['datasets'],
        operationId: 'getDataset',
        summary: 'Get a dataset',
        params: DatasetParams,
        response: { 200: Type.Ref('Dataset') },
      },
    },
    async (request) => datasets.get(workspaceOf(request), request.params.id),
  );

  app.get(
    '/:id/versions',
    {
      config: { access: 'datasets:read' },
      schema: {
        tags: ['datasets'],
        operationId: 'listDatasetVersions',
        summary: 'List the versions of a dataset, newest first',
        params: DatasetParams,
        response: { 200: Type.Object({ items: Type.Array(Type.Ref('DatasetVersion')) }) },
      },
    },
    async (request) => ({ items: await datasets.versions(workspaceOf(request), request.params.id) }),
  );

  app.post(
    '/:id/versions',
    {
      schema: {
        tags: ['datasets'],
        operationId: 'createDatasetVersion',
        summary: 'Upload a file as a new version of a dataset',
        consumes: ['multipart/form-data'],
        description:
          'As POST /api/v1/datasets: 202 and an ingest job, or with ?wait=true 201 once the version is stored. ' +
          'A dataset that keeps only its newest versions (`keepVersions`) loses its oldest to each new one: adding to it needs `datasets:delete` too.',
        params: DatasetParams,
        querystring: UploadQuery,
        response: { 200: IngestResponse, 201: IngestResponse, 202: IngestAccepted },
      },
      config: {
        access: 'datasets:write',
        datasets: { '/params/id': 'appends' },
        openapiBody: UploadForm,
        uploadBody: true,
      },
    },
    async (request, reply) => upload(request, reply, request.query.wait, request.params.id),
  );

  app.get(
    '/:id/preview',
    {
      config: { access: 'datasets:read' },
      schema: {
        tags: ['datasets'],
        operationId: 'getDatasetPreview',
        summary: 'Rows of a version',
        params: DatasetParams,
        querystring: PreviewQuery,
        response: { 200: PreviewResponse },
      },
    },
    async (request) => {
      const { limit, offset, columns, version } = request.query;
      const wanted = columns
        ?.split(',')
        .map((c) => c.trim())
        .filter(Boolean);
      return datasets.preview(workspaceOf(request), request.params.id, {
        limit,
        offset,
        columns: wanted,
        versionId: version,
      });
    },
  );

  app.get(
    '/:id/profile',
    {
      config: { access: 'datasets:read' },
      schema: {
        tags: ['datasets'],
        operationId: 'getDatasetProfile',
        summary: 'Column profile of a version',
        params: DatasetParams,
        querystring: VersionQuery,
        response: { 200: ProfileResponse },
      },
    },
    async (request) => datasets.profile(workspaceOf(request), request.params.id, request.query.version),
  );

  app.get(
    '/:id/download',
    {
      config: { access: 'datasets:read' },
      schema: {
        tags: ['datasets'],
        operationId: 'downloadDataset',
        summary: 'Download a version as CSV, NDJSON, JSON, Parquet or XLSX (streamed)',
        params: DatasetParams,
        querystring: DownloadQuery,
        produces: Object.values(EXPORT_CONTENT_TYPES),
        response: {
          200: Type.Unsafe<unknown>({ type: 'string', format: 'binary', description: 'The file, streamed' }),
        },
      },
    },
    async (request, reply) => {
      const { format, version } = request.query;
      const { stream, filename } = await datasets.download(workspaceOf(request), request.params.id, format, version);
      return reply
        .type(EXPORT_CONTENT_TYPES[format])
        .header(
          'content-disposition',
          `attachment; filename="${filename}"; filename*=UTF-8''${encodeURIComponent(filename)}`,
        )
        .header('x-content-type-options', 'nosniff')
        .send(stream);
    },
  );

  app.patch(
    '/:id',
    {
      config: { access: 'datasets:write', datasets: { '/params/id': 'edits' } },
      schema: {
        tags: ['datasets'],
        operationId: 'updateDataset',
        summary: 'Rename, describe or tag a dataset, or set how many versions to keep',
        params: DatasetParams,
        body: PatchBody,
        response: { 200: Type.Ref('Dataset') },
        description:
          '`keepVersions`: N keeps the N newest versions; the storage sweep deletes older ones (never the latest), so setting a number needs `datasets:delete`. null keeps all.',
      },
    },
    async (request) =>
      datasets.update(workspaceOf(request), request.params.id, request.body, principalOf(request).permissions),
  );

  app.delete(
    '/:id',
    {
      config: { access: 'datasets:delete', datasets: { '/params/id': 'deletes' } },
      schema: {
        tags: ['datasets'],
        operationId: 'deleteDataset',
        summary: 'Delete a dataset, its versions and their files',
        params: DatasetParams,
        response: { 204: Type.Null() },
      },
    },
    async (request, reply) => {
      await datasets.delete(workspaceOf(request), request.params.id, request.log);
      return reply.code(204).send(null);
    },
  );
};
