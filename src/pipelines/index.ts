// PLACEHOLDER (owned by the pipelines-service helper): replaced by the real module.
import type { JobDefinition } from '../jobs/types.js';

export class PipelineService {}

export interface Pipelines {
  service: PipelineService;
  definitions: JobDefinition[];
}

export function createPipelines(_deps: unknown): Pipelines {
  return { service: new PipelineService(), definitions: [] };
}
