import { useQuery } from '@tanstack/react-query';
import { api, call } from '../../api/client';
import type { components, paths } from '../../api/schema';
import type { JsonSchema } from '../../ui/json-schema';

/** The pipelines API as the pipeline pages use it: types, query keys and the shared queries. */

type Json<P extends keyof paths, M extends 'get' | 'post' | 'put', S extends number> = paths[P][M] extends {
  responses: { [K in S]: { content: { 'application/json': infer T } } };
}
  ? T
  : never;

export type Pipeline = Json<'/api/v1/pipelines/{id}', 'get', 200>;
export type PipelineSummary = Json<'/api/v1/pipelines', 'get', 200>['items'][number];
export type PipelineVersion = Json<'/api/v1/pipelines/{id}/versions', 'get', 200>['items'][number];
export type Run = Json<'/api/v1/pipelines/runs/{runId}', 'get', 200>;
export type RunAccepted = Json<'/api/v1/pipelines/{id}/run', 'post', 202>;
export type Preview = Json<'/api/v1/pipelines/preview', 'post', 200>;
export type Definition = components['schemas']['PipelineDefinition'];
export type Step = Definition['steps'][number];
export type TemplateParameter = NonNullable<Definition['parameters']>[number];

export interface StepKind {
  type: string;
  summary: string;
  schema: JsonSchema;
}

export const pipelineKeys = {
  all: ['pipelines'] as const,
  list: (search: string, page: number) => ['pipelines', 'list', search, page] as const,
  one: (id: string) => ['pipelines', 'one', id] as const,
  versions: (id: string) => ['pipelines', 'versions', id] as const,
  runs: (id: string) => ['pipelines', 'runs', id] as const,
  run: (runId: string) => ['pipelines', 'run', runId] as const,
  steps: ['pipelines', 'steps'] as const,
};

/** The step types and their schemas: they change only with the server, so they are read once per session. */
export function useStepKinds() {
  return useQuery({
    queryKey: pipelineKeys.steps,
    staleTime: Infinity,
    queryFn: async () => {
      const { items } = await call(api.GET('/api/v1/pipelines/steps'));
      return items.map((k): StepKind => ({ type: k.type, summary: k.summary, schema: k.schema as JsonSchema }));
    },
  });
}

export const RUNS_SHOWN = 10;

export function usePipelineRuns(id: string, options: { live?: boolean } = {}) {
  return useQuery({
    queryKey: pipelineKeys.runs(id),
    queryFn: () =>
      call(
        api.GET('/api/v1/pipelines/{id}/runs', {
          params: { path: { id }, query: { limit: RUNS_SHOWN, offset: 0 } },
        }),
      ),
    // While a run of it is queued or running, the history is read again until it has finished.
    refetchInterval: (query) =>
      options.live !== false && query.state.data?.items.some((r) => r.status === 'queued' || r.status === 'running')
        ? 3000
        : false,
  });
}
