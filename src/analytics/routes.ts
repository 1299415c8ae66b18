import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AnalyticsService } from './service.js';
import { DatasetParams } from '../datasets/schemas.js';
import { principalOf } from '../http/access.js';
import { clientGone } from '../http/client-gone.js';
import { API_CSP } from '../http/security-headers.js';
import {
  correlationChart,
  correlationTitle,
  histogramChart,
  histogramTitle,
  timeseriesChart,
  timeseriesTitle,
  valueCountsChart,
  valueCountsTitle,
} from './chart-data.js';
import { renderSvg, vegaLiteSpec, type ChartData } from './charts.js';
import {
  HistogramQuery,
  HistogramResponse,
  PlatformStatsQuery,
  PlatformStatsResponse,
  QueryBody,
  QueryResponse,
  StatsQuery,
  StatsResponse,
  TimeseriesQuery,
  TimeseriesResponse,
  ValueCountsQuery,
  ValueCountsResponse,
  type ChartFormat,
} from './schemas.js';

const CHART_TYPES = ['application/json', 'image/svg+xml'];
const FORMATS_NOTE =
  ' `?format=vega-lite` answers a Vega-Lite spec of the chart, `?format=svg` the chart drawn on the server (image/svg+xml).';

interface ChartRequest {
  format: ChartFormat;
  width?: number;
  height?: number;
  title?: string;
}

/**
 * The answer in the format asked for. The spec and the SVG are sent as text, so the route's response schema (which
 * describes the JSON) does not strip them. An SVG is a document a browser may render: it gets a CSP that lets it load
 * and run nothing. A chart is titled `title(json, dataset name)` unless the request gives a title (an empty one: none).
 */
async function answer<T extends { datasetName: string }>(
  reply: FastifyReply,
  q: ChartRequest,
  json: T,
  chart: (json: T) => ChartData,
  title: (json: T, dataset: string) => string,
): Promise<T | FastifyReply> {
  if (q.format === 'json') return json;
  const spec = vegaLiteSpec(chart(json), {
    title: q.title ?? title(json, json.datasetName),
    width: q.width,
    height: q.height,
  });
  if (q.format === 'vega-lite') return reply.type('application/json; charset=utf-8').send(JSON.stringify(spec));
  const svg = await renderSvg(spec);
  return reply
    .type('image/svg+xml; charset=utf-8')
    .header('content-security-policy', API_CSP)
    .header('x-content-type-options', 'nosniff')
    .send(svg);
}

/** /api/v1/datasets/:id/{stats,histogram,value-counts,timeseries,query}: thin routes over AnalyticsService. */
export const analyticsRoutes: FastifyPluginAsyncTypebox<{ analytics: AnalyticsService }> = async (
  app,
  { analytics },
) => {
  const workspaceOf = (request: FastifyRequest) => principalOf(request).workspaceId;

  app.get(
    '/:id/stats',
    {
      config: { access: 'datasets:read' },
      schema: {
        tags: ['analytics'],
        operationId: 'getDatasetStats',
        summary: 'Profile, correlation matrix and missing values of a version',
        description:
          'The stored profile, plus Pearson correlations of the numeric columns (the first 50; null where undefined, e.g. a constant column) ' +
          `and per-column null counts, computed in one pass.${FORMATS_NOTE} The chart is the correlation heatmap.`,
        params: DatasetParams,
        querystring: StatsQuery,
        response: { 200: StatsResponse },
        produces: CHART_TYPES,
      },
    },
    async (request, reply) =>
      answer(
        reply,
        request.query,
        await analytics.stats(workspaceOf(request), request.params.id, request.query.version, clientGone(reply)),
        (s) => correlationChart(s.correlation),
        (s, dataset) => correlationTitle(s.correlation, dataset),
      ),
  );

  app.get(
    '/:id/histogram',
    {
      config: { access: 'datasets:read' },
      schema: {
        tags: ['analytics'],
        operationId: 'getDatasetHistogram',
        summary: 'Histogram of a numeric, timestamp or date column',
        description: `Equal-width bins over [min, max]; nulls are counted apart.${FORMATS_NOTE}`,
        params: DatasetParams,
        querystring: HistogramQuery,
        response: { 200: HistogramResponse },
        produces: CHART_TYPES,
      },
    },
    async (request, reply) =>
      answer(
        reply,
        request.query,
        await analytics.histogram(workspaceOf(request), request.params.id, request.query, clientGone(reply)),
        histogramChart,
        histogramTitle,
      ),
  );

  app.get(
    '/:id/value-counts',
    {
      config: { access: 'datasets:read' },
      schema: {
        tags: ['analytics'],
        operationId: 'getDatasetValueCounts',
        summary: 'Most frequent values of a column',
        description: `Null is a value of its own; ties are ordered by value.${FORMATS_NOTE}`,
        params: DatasetParams,
        querystring: ValueCountsQuery,
        response: { 200: ValueCountsResponse },
        produces: CHART_TYPES,
      },
    },
    async (request, reply) =>
      answer(
        reply,
        request.query,
        await analytics.valueCounts(workspaceOf(request), request.params.id, request.query, clientGone(reply)),
        valueCountsChart,
        valueCountsTitle,
      ),
  );

  app.get(
    '/:id/timeseries',
    {
      config: { access: 'datasets:read' },
      schema: {
        tags: ['analytics'],
        operationId: 'getDatasetTimeseries',
        summary: 'A value over time, at most `points` points',
        description:
          'The rows themselves, or with `bucket` one aggregate per bucket (and its min/max as `band`). A longer series is reduced on the ' +
          'server: minmax keeps the lowest and highest point of each time slice, lttb the points Largest-Triangle-Three-Buckets picks. With `series`, ' +
          `one line per value of that column: the \`seriesLimit\` largest, sharing \`points\`; \`series\` in the answer says which, and what was left out.${FORMATS_NOTE}`,
        params: DatasetParams,
        querystring: TimeseriesQuery,
        response: { 200: TimeseriesResponse },
        produces: CHART_TYPES,
      },
    },
    async (request, reply) =>
      answer(
        reply,
        request.query,
        await analytics.timeseries(workspaceOf(request), request.params.id, request.query, clientGone(reply)),
        timeseriesChart,
        timeseriesTitle,
      ),
  );

  app.post(
    '/:id/query',
    {
      config: { access: 'datasets:read', audit: 'dataset.query', datasets: { '/params/id': 'reads' } },
      schema: {
        tags: ['analytics'],
        operationId: 'queryDataset',
        summary: 'An aggregate query over a version',
        description:
          'Filter, group and aggregate with expressions of the pipeline expression language; read only. At most `limit` rows ' +
          '(WEIR_QUERY_MAX_ROWS) are answered, `truncated` says when more matched; a query running past WEIR_QUERY_TIMEOUT is stopped (422 query_timeout).',
        params: DatasetParams,
        body: QueryBody,
        response: { 200: QueryResponse },
      },
    },
    async (request, reply) => analytics.query(workspaceOf(request), request.params.id, request.body, clientGone(reply)),
  );
};

/** /api/v1/system/stats: instance-wide statistics (instance administrators only). */
export const platformStatsRoutes: FastifyPluginAsyncTypebox<{ analytics: Pick<AnalyticsService, 'platform'> }> = async (
  app,
  { analytics },
) => {
  app.get(
    '/',
    {
      config: { access: 'system:admin' },
      schema: {
        tags: ['system'],
        operationId: 'getPlatformStats',
        summary: 'Datasets, versions, rows, bytes and jobs of the whole instance, with a daily series',
        querystring: PlatformStatsQuery,
        response: { 200: PlatformStatsResponse },
      },
    },
    async (request) => analytics.platform(request.query.days),
  );
};
