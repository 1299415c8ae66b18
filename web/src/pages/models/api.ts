import { useQuery } from '@tanstack/react-query';
import { api, call } from '../../api/client';
import type { paths } from '../../api/schema';
import type { VegaLiteSpec } from '../../ui/VegaChart';

// The models schemas are inline in the OpenAPI document: their types are read off the operations.
export type Model = paths['/api/v1/models/{id}']['get']['responses'][200]['content']['application/json'];
export type ModelVersion =
  paths['/api/v1/models/{id}/versions/{version}']['get']['responses'][200]['content']['application/json'];
export type ModelTask = Model['task'];
export type ModelChart = 'forecast' | 'residuals' | 'loss' | 'importance' | 'horizon-error';

type Metrics = Record<string, number | null>;

/** The training report as stored with a version (TrainingReport, src/models/ml/report.ts; opaque in the schema). */
export interface TrainingReport {
  task: ModelTask;
  algorithm: string;
  params: Record<string, unknown>;
  leaderboard: {
    algorithm: string;
    validation: Metrics;
    trainMs: number;
    status: 'ok' | 'failed' | 'skipped';
    reason?: string;
  }[];
  metrics: Record<
    string,
    {
      original: Metrics;
      normalized: Metrics;
      skill?: number | null;
      perStep?: { mse: number | null; mae: number | null }[];
    }
  >;
  losses: { iteration: number; train: number | null; validation: number | null }[];
  importance: { feature: string; value: number; kind: 'gain' | 'permutation' }[];
  intervals?: { levels: number[]; quantiles: number[][] };
  data: { rows: number; train: number; validation: number; test: number; missing: Record<string, number> };
}

export const reportOf = (v: ModelVersion): TrainingReport => v.report as unknown as TrainingReport;

/** What `model.progress` events on `model:<id>` carry (src/models/jobs.ts, src/models/fit.ts). */
export interface ModelProgress {
  modelId: string;
  jobId: string;
  percent?: number;
  phase?: string;
  algorithm?: string;
  iteration?: number;
  of?: number;
  trainLoss?: number;
  validLoss?: number;
  elapsedMs?: number;
  etaMs?: number | null;
}

export const modelKeys = {
  all: ['models'] as const,
  /** Every list: a new, promoted or deleted version changes what a list row shows (current version, training). */
  lists: ['models', 'list'] as const,
  list: (search: string, task: string) => ['models', 'list', search, task] as const,
  detail: (id: string) => ['models', id] as const,
  versions: (id: string) => ['models', id, 'versions'] as const,
  chart: (id: string, versionId: string, chart: ModelChart, width: number) =>
    ['models', id, 'chart', versionId, chart, width] as const,
};

export function useModel(id: string) {
  return useQuery({
    queryKey: modelKeys.detail(id),
    queryFn: ({ signal }) => call(api.GET('/api/v1/models/{id}', { params: { path: { id } }, signal })),
  });
}

export function useModelVersions(id: string) {
  return useQuery({
    queryKey: modelKeys.versions(id),
    queryFn: ({ signal }) => call(api.GET('/api/v1/models/{id}/versions', { params: { path: { id } }, signal })),
  });
}

/** A chart's Vega-Lite spec (`?format=vega-lite`; the typed client describes the JSON form, so it is re-typed). */
export function useModelChart(id: string, versionId: string, chart: ModelChart, width: number, enabled = true) {
  return useQuery({
    queryKey: modelKeys.chart(id, versionId, chart, width),
    enabled: enabled && width > 0,
    staleTime: 5 * 60_000,
    queryFn: async ({ signal }) =>
      (await call(
        api.GET('/api/v1/models/{id}/versions/{version}/charts/{chart}', {
          params: {
            path: { id, version: versionId, chart },
            query: { format: 'vega-lite', width, height: 280, title: '' },
          },
          signal,
        }),
      )) as unknown as VegaLiteSpec,
  });
}
