import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { noteAudit, principalOf } from '../http/access.js';
import { clientGone } from '../http/client-gone.js';
import { PipelineDefinitionSchema } from './definition.js';
import { STEP_KINDS } from './steps/index.js';
import type { PipelineService, RunAccepted } from './service.js';
import {
  AdHocRunBody,
  CreateBody,
  LineageParams,
  LineageQuery,
  LineageResponse,
  ListQuery,
  PipelineListResponse,
  PipelineParams,
  PipelineSchema,
  PipelineVersionParams,
  PreviewBody,
  PreviewResponse,
  RunAcceptedSchema,
  RunBody,
  RunListResponse,
  RunParams,
  RunSchema,
  RunsQuery,
  UpdateBody,
  VersionListResponse,
  VersionSchema,
  WaitQuery,
} from './schemas.js';

/** How long a run with `wait` is waited for before the answer is 202 anyway. */
const WAIT_BOUND_MS = 60_000;

/** A definition that is saved or previewed: the datasets it names are read (or referred to), never written. */
const SAVED_DEFINITION = {
  '/body/definition/input/datasetId': 'reads',
  '/body/definition/output/datasetId': 'reads',
} as const;

const RUN_RESPONSES = { 200: RunSchema, 201: RunSchema, 202: RunAcceptedSchema };
const WAIT_DESCRIPTION =
  'Answers 202 with the run and its job. With ?wait=true (or `wait: true`) the answer comes when the run has finished: ' +
  '201 with the run when it stored a version, 200 when it failed or was cancelled; after 60 s, 202 anyway. ' +
  'A run that adds a version to an existing dataset needs `datasets:write` (and `datasets:delete` when that dataset keeps only its newest versions).';

/** /api/v1/pipelines: thin routes over PipelineService. */
export const pipelineRoutes: FastifyPluginAsyncTypebox<{ pipelines: PipelineService }> = async (app, { pipelines }) => {
  app.addSchema(PipelineDefinitionSchema);

  /** The accepted run, or with `wait` the finished one (bounded, and never past the client hanging up). */
  const answerRun = async (request: FastifyRequest, reply: FastifyReply, accepted: RunAccepted, wait: boolean) => {
    noteAudit(request, { targetType: 'pipeline_run', targetId: accepted.runId, detail: { jobId: accepted.jobId } });
    reply.header('location', `/api/v1/pipelines/runs/${accepted.runId}`);
    if (!wait) return reply.code(202).send(accepted);
    const run = await pipelines.waitForRun(
      principalOf(request).workspaceId,
      accepted.runId,
      WAIT_BOUND_MS,
      clientGone(reply),
    );
    if (run.status === 'queued' || run.status === 'running')
      return reply.code(202).send({ ...accepted, status: run.status });
    return reply.code(run.status === 'succeeded' ? 201 : 200).send(run);
  };

  app.post(
    '/',
    {
      config: { access: 'pipelines:write', audit: 'pipeline.create', datasets: SAVED_DEFINITION },
      schema: {
        tags: ['pipelines'],
        operationId: 'createPipeline',
        summary: 'Save a pipeline',
        description:
          'The definition is compiled against its input as it is now: an unknown column, a bad expression or an unknown step type is a 400 ' +
          "pointing into the request, and nothing is saved. A template is checked with its parameters' defaults (for structure only when one has none).",
        body: CreateBody,
        response: { 201: PipelineSchema },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      const pipeline = await pipelines.create(principal.workspaceId, principal.userId, request.body);
      noteAudit(request, { targetType: 'pipeline', targetId: pipeline.id });
      return reply.code(201).header('location', `/api/v1/pipelines/${pipeline.id}`).send(pipeline);
    },
  );

  app.get(
    '/',
    {
      config: { access: 'pipelines:read' },
      schema: {
        tags: ['pipelines'],
        operationId: 'listPipelines',
        summary: 'List pipelines, newest first',
        querystring: ListQuery,
        response: { 200: PipelineListResponse },
      },
    },
    async (request) => {
      const { limit, offset, search, name } = request.query;
      const { items, total } = await pipelines.list({
        workspaceId: principalOf(request).workspaceId,
        limit,
        offset,
        search,
        name,
      });
      return { items, total, limit, offset };
    },
  );

  app.get(
    '/steps',
    {
      config: { access: 'pipelines:read' },
      schema: {
        tags: ['pipelines'],
        operationId: 'listPipelineSteps',
        summary: 'The step types a definition may use, each with its JSON schema',
        description:
          'What an editor needs to build a step form; the same schemas validate steps when a definition is saved, previewed or run.',
        response: {
          200: Type.Object({
            items: Type.Array(
              Type.Object({
                type: Type.String(),
                summary: Type.String(),
                schema: Type.Object({}, { additionalProperties: true }),
              }),
            ),
          }),
        },
      },
    },
    async () => ({
      items: STEP_KINDS.map((k) => ({
        type: k.type,
        summary: k.summary,
        schema: k.schema as unknown as Record<string, unknown>,
      })),
    }),
  );

  app.post(
    '/preview',
    {
      config: { access: 'pipelines:run', audit: 'pipeline.preview', datasets: SAVED_DEFINITION },
      schema: {
        tags: ['pipelines'],
        operationId: 'previewPipeline',
        summary: 'Preview a definition: the first rows after each step',
        description:
          'Nothing is written. The queries stop after WEIR_PIPELINE_PREVIEW_TIMEOUT (default 30 s; 422 query_timeout). A step that would ' +
          'make more rows than WEIR_MAX_OUTPUT_ROWS (a resample filling a long span with short buckets) is refused before it runs (422 output_too_large).',
        body: PreviewBody,
        response: { 200: PreviewResponse },
      },
    },
    async (request, reply) => pipelines.preview(principalOf(request).workspaceId, request.body, clientGone(reply)),
  );

  app.post(
    '/run',
    {
      config: {
        access: 'pipelines:run',
        audit: 'pipeline.run',
        datasets: { '/body/definition/input/datasetId': 'reads', '/body/definition/output/datasetId': 'appends' },
      },
      schema: {
        tags: ['pipelines'],
        operationId: 'runPipelineDefinition',
        summary: 'Run a definition that is not saved',
        description: WAIT_DESCRIPTION,
        querystring: WaitQuery,
        body: AdHocRunBody,
        response: RUN_RESPONSES,
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      const { definition, params, name, wait } = request.body;
      const accepted = await pipelines.runAdHoc({
        workspaceId: principal.workspaceId,
        createdBy: principal.userId,
        grants: principal.permissions,
        definition,
        params,
        name,
        log: request.log,
      });
      return answerRun(request, reply, accepted, request.query.wait || wait === true);
    },
  );

  app.get(
    '/runs/:runId',
    {
      config: { access: 'pipelines:read' },
      schema: {
        tags: ['pipelines'],
        operationId: 'getPipelineRun',
        summary: 'A run: status, job, input and output versions, row count, duration, error',
        params: RunParams,
        response: { 200: RunSchema },
      },
    },
    async (request) => pipelines.getRun(principalOf(request).workspaceId, request.params.runId),
  );

  app.get(
    '/:id',
    {
      config: { access: 'pipelines:read' },
      schema: {
        tags: ['pipelines'],
        operationId: 'getPipeline',
        summary: 'A pipeline with its current definition',
        params: PipelineParams,
        response: { 200: PipelineSchema },
      },
    },
    async (request) => pipelines.get(principalOf(request).workspaceId, request.params.id),
  );

  app.put(
    '/:id',
    {
      config: { access: 'pipelines:write', audit: 'pipeline.update', datasets: SAVED_DEFINITION },
      schema: {
        tags: ['pipelines'],
        operationId: 'updatePipeline',
        summary: 'Save a new version of a pipeline',
        description: 'Earlier versions stay readable; the definition is checked as on creation.',
        params: PipelineParams,
        body: UpdateBody,
        response: { 200: PipelineSchema },
      },
    },
    async (request) => {
      const principal = principalOf(request);
      noteAudit(request, { targetType: 'pipeline', targetId: request.params.id });
      return pipelines.update(principal.workspaceId, request.params.id, principal.userId, request.body);
    },
  );

  app.delete(
    '/:id',
    {
      config: { access: 'pipelines:write', audit: 'pipeline.delete' },
      schema: {
        tags: ['pipelines'],
        operationId: 'deletePipeline',
        summary: 'Delete a pipeline',
        description: 'Its versions go; its runs and the lineage of what it made stay readable.',
        params: PipelineParams,
        response: { 204: Type.Null() },
      },
    },
    async (request, reply) => {
      noteAudit(request, { targetType: 'pipeline', targetId: request.params.id });
      await pipelines.delete(principalOf(request).workspaceId, request.params.id);
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/:id/versions',
    {
      config: { access: 'pipelines:read' },
      schema: {
        tags: ['pipelines'],
        operationId: 'listPipelineVersions',
        summary: 'The versions of a pipeline, newest first',
        params: PipelineParams,
        response: { 200: VersionListResponse },
      },
    },
    async (request) => ({ items: await pipelines.versions(principalOf(request).workspaceId, request.params.id) }),
  );

  app.get(
    '/:id/versions/:version',
    {
      config: { access: 'pipelines:read' },
      schema: {
        tags: ['pipelines'],
        operationId: 'getPipelineVersion',
        summary: 'One version of a pipeline',
        params: PipelineVersionParams,
        response: { 200: VersionSchema },
      },
    },
    async (request) => pipelines.version(principalOf(request).workspaceId, request.params.id, request.params.version),
  );

  app.post(
    '/:id/run',
    {
      // Where it stores is not in the request: the pipeline's definition names it, or its earlier runs created it.
      config: { access: 'pipelines:run', audit: 'pipeline.run', datasets: { '/pipeline/output/datasetId': 'appends' } },
      schema: {
        tags: ['pipelines'],
        operationId: 'runPipeline',
        summary: 'Run a saved pipeline',
        description: `${WAIT_DESCRIPTION} \`inputVersionId\` runs it over another version of its input.`,
        params: PipelineParams,
        querystring: WaitQuery,
        body: RunBody,
        response: RUN_RESPONSES,
      },
      // The body is optional (`curl -X POST …/run`): none means `{}`.
      preValidation: (request, _reply, done) => {
        request.body ??= {};
        done();
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      const { inputVersionId, params, wait } = request.body;
      const accepted = await pipelines.run(request.params.id, {
        workspaceId: principal.workspaceId,
        createdBy: principal.userId,
        grants: principal.permissions,
        inputVersionId,
        params,
        log: request.log,
      });
      return answerRun(request, reply, accepted, request.query.wait || wait === true);
    },
  );

  app.get(
    '/:id/runs',
    {
      config: { access: 'pipelines:read' },
      schema: {
        tags: ['pipelines'],
        operationId: 'listPipelineRuns',
        summary: 'The runs of a pipeline, newest first',
        params: PipelineParams,
        querystring: RunsQuery,
        response: { 200: RunListResponse },
      },
    },
    async (request) => {
      const { limit, offset } = request.query;
      const { items, total } = await pipelines.runs(principalOf(request).workspaceId, request.params.id, limit, offset);
      return { items, total, limit, offset };
    },
  );
};

/** /api/v1/datasets/:id/lineage */
export const lineageRoutes: FastifyPluginAsyncTypebox<{
  pipelines: Pick<PipelineService, 'lineage'>;
  /** The model versions trained on a dataset version (src/models/). */
  models: { trainedOn(workspaceId: string, datasetVersionIds: string[]): Promise<LineageModel[]> };
}> = async (app, { pipelines, models }) => {
  app.get(
    '/:id/lineage',
    {
      config: { access: 'datasets:read' },
      schema: {
        tags: ['datasets', 'pipelines'],
        operationId: 'getDatasetLineage',
        summary: 'How a version was made, and its upstream graph',
        description:
          'The run, pipeline, inputs, steps and parameters that made the version (null for an upload), and every ancestor version ' +
          'back to the uploads, as nodes and edges (input version → output version), up to 50 generations.',
        params: LineageParams,
        querystring: LineageQuery,
        response: { 200: LineageResponse },
      },
    },
    async (request) => {
      const workspaceId = principalOf(request).workspaceId;
      const graph = await pipelines.lineage(workspaceId, request.params.id, request.query.version);
      const trained = await models.trainedOn(workspaceId, [graph.versionId]);
      return { ...graph, models: trained.map(({ datasetVersionId: _v, ...m }) => m) };
    },
  );
};

export interface LineageModel {
  modelId: string;
  modelName: string;
  versionId: string;
  number: number;
  datasetVersionId: string;
}
