import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply } from 'fastify';
import { Type } from 'typebox';
import { errors } from '../errors.js';
import { noteAudit, principalOf } from '../http/access.js';
import { API_CSP } from '../http/security-headers.js';
import { renderSvg } from '../analytics/charts.js';
import { modelChartSpec, modelChartTitle } from './charts.js';
import type { ModelService } from './service.js';
import {
  CompareQuery,
  CompareResponse,
  CreateModelBody,
  ForecastBody,
  ForecastResponse,
  ModelListQuery,
  ModelChartParams,
  ModelChartQuery,
  ModelChartResponse,
  ModelListResponse,
  ModelParams,
  ModelSchema,
  ModelVersionParams,
  ModelVersionSchema,
  PredictBody,
  PredictResponse,
  RetrainBody,
  ScoreAcceptedSchema,
  ScoreBody,
  TrainAcceptedSchema,
  UpdateModelBody,
  VersionListResponse,
} from './schemas.js';

const TAGS = ['models'];

/** /api/v1/models: thin routes over ModelService. */
export const modelRoutes: FastifyPluginAsyncTypebox<{ models: ModelService }> = async (app, { models }) => {
  app.post(
    '/',
    {
      config: { access: 'models:train', audit: 'model.create', datasets: { '/body/datasetId': 'reads' } },
      schema: {
        tags: TAGS,
        operationId: 'createModel',
        summary: 'Create a model and train its first version',
        description:
          'The request is checked against the dataset version first (an unknown column, a wrong type, the target among the ' +
          'features, a forecast without a horizon or with one longer than the data): 400 with a pointer per problem. ' +
          'Answers 202 with the model and its `model.train` job; progress is on the job and on the `model:<id>` topic.',
        body: CreateModelBody,
        response: { 202: TrainAcceptedSchema },
      },
    },
    async (request, reply) => {
      const p = principalOf(request);
      const accepted = await models.create(p.workspaceId, p.userId, request.body);
      noteAudit(request, { targetType: 'model', targetId: accepted.model.id, detail: { jobId: accepted.job.id } });
      return reply.code(202).header('location', `/api/v1/models/${accepted.model.id}`).send(accepted);
    },
  );

  app.get(
    '/',
    {
      config: { access: 'models:read' },
      schema: {
        tags: TAGS,
        operationId: 'listModels',
        summary: 'List models, newest first',
        querystring: ModelListQuery,
        response: { 200: ModelListResponse },
      },
    },
    async (request) => {
      const { limit, offset, task, datasetId, q, search, name } = request.query;
      const workspaceId = principalOf(request).workspaceId;
      const { items, total } = await models.list({ workspaceId, limit, offset, task, datasetId, q: q ?? search, name });
      return { items, total, limit, offset };
    },
  );

  app.get(
    '/:id',
    {
      config: { access: 'models:read' },
      schema: {
        tags: TAGS,
        operationId: 'getModel',
        summary: 'A model',
        params: ModelParams,
        response: { 200: ModelSchema },
      },
    },
    async (request) => models.get(principalOf(request).workspaceId, request.params.id),
  );

  app.patch(
    '/:id',
    {
      config: { access: 'models:train', audit: 'model.update' },
      schema: {
        tags: TAGS,
        operationId: 'updateModel',
        summary: 'Rename a model or change its description',
        params: ModelParams,
        body: UpdateModelBody,
        response: { 200: ModelSchema },
      },
    },
    async (request) => {
      noteAudit(request, { targetType: 'model', targetId: request.params.id });
      return models.update(principalOf(request).workspaceId, request.params.id, request.body);
    },
  );

  app.delete(
    '/:id',
    {
      config: { access: 'models:train', audit: 'model.delete' },
      schema: {
        tags: TAGS,
        operationId: 'deleteModel',
        summary: 'Delete a model with its versions and their artifacts',
        params: ModelParams,
        response: { 204: Type.Null() },
      },
    },
    async (request, reply) => {
      noteAudit(request, { targetType: 'model', targetId: request.params.id });
      await models.delete(principalOf(request).workspaceId, request.params.id, request.log);
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/:id/versions',
    {
      config: { access: 'models:train', audit: 'model.retrain', datasets: { '/body/datasetId': 'reads' } },
      schema: {
        tags: TAGS,
        operationId: 'retrainModel',
        summary: 'Train a new version with the same spec, overridden by the body',
        description:
          'E.g. `{ "versionId": "dv_…" }` to train on a newer dataset version. 202 with the model and the job.',
        params: ModelParams,
        body: RetrainBody,
        response: { 202: TrainAcceptedSchema },
      },
    },
    async (request, reply) => {
      const p = principalOf(request);
      const accepted = await models.retrain(p.workspaceId, p.userId, request.params.id, request.body);
      noteAudit(request, { targetType: 'model', targetId: request.params.id, detail: { jobId: accepted.job.id } });
      return reply.code(202).send(accepted);
    },
  );

  app.get(
    '/:id/versions',
    {
      config: { access: 'models:read' },
      schema: {
        tags: TAGS,
        operationId: 'listModelVersions',
        summary: 'The versions of a model, newest first',
        params: ModelParams,
        response: { 200: VersionListResponse },
      },
    },
    async (request) => ({ items: await models.versions(principalOf(request).workspaceId, request.params.id) }),
  );

  app.get(
    '/:id/versions/:version',
    {
      config: { access: 'models:read' },
      schema: {
        tags: TAGS,
        operationId: 'getModelVersion',
        summary: 'A version (by number or id) with its report and its input dataset version',
        params: ModelVersionParams,
        response: { 200: ModelVersionSchema },
      },
    },
    async (request) => models.version(principalOf(request).workspaceId, request.params.id, request.params.version),
  );

  app.get(
    '/:id/versions/:version/charts/:chart',
    {
      config: { access: 'models:read' },
      schema: {
        tags: TAGS,
        operationId: 'getModelChart',
        summary: 'A chart of a version: forecast, residuals, loss, importance or horizon-error',
        description:
          'The numbers (`?format=json`), a self-contained Vega-Lite spec (`?format=vega-lite`) or the chart drawn on the ' +
          'server (`?format=svg`, image/svg+xml). forecast and horizon-error are for forecast models, residuals for ' +
          'forecast and regression models: another task answers 400.',
        params: ModelChartParams,
        querystring: ModelChartQuery,
        response: { 200: ModelChartResponse },
        produces: ['application/json', 'image/svg+xml'],
      },
    },
    async (request, reply) => {
      const { id, version: ref, chart } = request.params;
      const q = request.query;
      const { modelName, version, data } = await models.chart(principalOf(request).workspaceId, id, ref, chart);
      if (q.format === 'json') return { modelId: id, versionId: version.id, number: version.number, chart, data };
      const spec = modelChartSpec(data, {
        title: q.title ?? modelChartTitle(chart, modelName, version.number),
        width: q.width,
        height: q.height,
      });
      // Sent as text through the untyped reply, so that the response schema (the JSON shape) does not strip them.
      const raw: FastifyReply = reply;
      if (q.format === 'vega-lite') return raw.type('application/json; charset=utf-8').send(JSON.stringify(spec));
      return raw
        .type('image/svg+xml; charset=utf-8')
        .header('content-security-policy', API_CSP)
        .header('x-content-type-options', 'nosniff')
        .send(await renderSvg(spec));
    },
  );

  app.delete(
    '/:id/versions/:version',
    {
      config: { access: 'models:train', audit: 'model.version.delete' },
      schema: {
        tags: TAGS,
        operationId: 'deleteModelVersion',
        summary: 'Delete a version and its artifact',
        description: 'When it was current, the newest remaining version becomes current.',
        params: ModelVersionParams,
        response: { 204: Type.Null() },
      },
    },
    async (request, reply) => {
      noteAudit(request, {
        targetType: 'model',
        targetId: request.params.id,
        detail: { version: request.params.version },
      });
      await models.deleteVersion(
        principalOf(request).workspaceId,
        request.params.id,
        request.params.version,
        request.log,
      );
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/:id/versions/:version/promote',
    {
      config: { access: 'models:train', audit: 'model.promote' },
      schema: {
        tags: TAGS,
        operationId: 'promoteModelVersion',
        summary: 'Make a version the current one (what predict and forecast serve)',
        params: ModelVersionParams,
        response: { 200: ModelSchema },
      },
    },
    async (request) => {
      noteAudit(request, {
        targetType: 'model',
        targetId: request.params.id,
        detail: { version: request.params.version },
      });
      return models.promote(principalOf(request).workspaceId, request.params.id, request.params.version);
    },
  );

  app.get(
    '/:id/compare',
    {
      config: { access: 'models:read' },
      schema: {
        tags: TAGS,
        operationId: 'compareModelVersions',
        summary: 'Two versions side by side: params, reports and the difference of every test metric (b − a)',
        params: ModelParams,
        querystring: CompareQuery,
        response: { 200: CompareResponse },
      },
    },
    async (request) =>
      models.compare(principalOf(request).workspaceId, request.params.id, request.query.a, request.query.b),
  );

  app.post(
    '/:id/predict',
    {
      config: { access: 'models:read', audit: false },
      schema: {
        tags: TAGS,
        operationId: 'predictWithModel',
        summary: 'Predict JSON rows with a tabular model (the current version unless `version` is given)',
        description:
          'Each row is an object of feature values; a bad field is a 400 with its pointer (`/rows/3/temperature`). ' +
          'A missing or null feature is a missing value. Classification answers the class and the probability of each class.',
        params: ModelParams,
        body: PredictBody,
        response: { 200: PredictResponse },
      },
    },
    async (request) => {
      const { rows, version } = request.body;
      return models.predict(principalOf(request).workspaceId, request.params.id, rows, version);
    },
  );

  app.post(
    '/:id/forecast',
    {
      config: { access: 'models:read', audit: false },
      schema: {
        tags: TAGS,
        operationId: 'forecastWithModel',
        summary: "Forecast from the end of the input dataset's latest version (or a given one), with intervals",
        params: ModelParams,
        body: ForecastBody,
        response: { 200: ForecastResponse },
      },
    },
    async (request) => models.forecast(principalOf(request).workspaceId, request.params.id, request.body),
  );

  app.post(
    '/:id/score',
    {
      config: { access: 'datasets:write', audit: 'model.score', datasets: { '/body/datasetId': 'reads' } },
      schema: {
        tags: TAGS,
        operationId: 'scoreDatasetWithModel',
        summary: 'Score every row of a dataset version as a job; the rows with the prediction become a new dataset',
        description:
          'Needs `datasets:write` (it creates a dataset) and `models:read`. The new version records its lineage to the scored version. ' +
          'Answers 202 with the `model.score` job and the id the new dataset will have.',
        params: ModelParams,
        body: ScoreBody,
        response: { 202: ScoreAcceptedSchema },
      },
    },
    async (request, reply) => {
      const p = principalOf(request);
      if (!p.permissions.has('models:read')) throw errors.forbidden('models:read');
      const accepted = await models.score(p.workspaceId, p.userId, request.params.id, request.body);
      noteAudit(request, { targetType: 'model', targetId: request.params.id, detail: { jobId: accepted.job.id } });
      return reply.code(202).send(accepted);
    },
  );
};
