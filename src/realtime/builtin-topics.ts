import type { TopicKind } from '../bus/types.js';
import type { DatasetService } from '../datasets/service.js';
import type { JobService } from '../jobs/service.js';
import type { UploadService } from '../uploads/service.js';
import type { ModelService } from '../models/service.js';
import type { ConnectorService } from '../connectors/service.js';
import { isAppError } from '../errors.js';
import { TopicResolvers } from './topics.js';

/** The current state of a topic's object, as the REST API shows it; null when it does not exist in that workspace. */
export type StatusReader = (workspaceId: string, id: string) => Promise<unknown>;

export interface TopicCatalog {
  resolvers: TopicResolvers;
  /** Kinds whose objects have a current state to answer `status` with (not `workspace`: it is a feed). */
  status: ReadonlyMap<TopicKind, StatusReader>;
}

/**
 * The topics Weir publishes today: jobs (progress and state), datasets (new versions, edits, deletion: see
 * src/datasets/events.ts), uploads (bytes received, state, ingest progress: src/uploads/events.ts) and the
 * per-workspace feed. The `workspace:<id>` feed carries the state and progress
 * of every job in the workspace (see src/jobs/events.ts), so it needs what watching any one of those jobs
 * needs: `jobs:read`. A domain that starts
 * publishing other events on the feed must either add their permission here or publish them elsewhere.
 */
export function builtinTopics(
  jobs: Pick<JobService, 'workspaceOf' | 'find'>,
  datasets: Pick<DatasetService, 'workspaceOf' | 'get'>,
  uploads: Pick<UploadService, 'workspaceOf' | 'view'>,
  models?: Pick<ModelService, 'workspaceOf' | 'get'>,
  connectors?: Pick<ConnectorService, 'workspaceOf' | 'get'>,
): TopicCatalog {
  const resolvers = new TopicResolvers()
    .register('job', async (id) => {
      const workspaceId = await jobs.workspaceOf(id);
      return workspaceId === null ? null : { workspaceId, permission: 'jobs:read' };
    })
    .register('dataset', async (id) => {
      const workspaceId = await datasets.workspaceOf(id);
      return workspaceId === null ? null : { workspaceId, permission: 'datasets:read' };
    })
    .register('upload', async (id) => {
      const workspaceId = await uploads.workspaceOf(id);
      return workspaceId === null ? null : { workspaceId, permission: 'datasets:read' };
    })
    // Training progress (`model.progress`) and new versions (`model.version`) of one model: src/models/jobs.ts.
    .register('model', async (id) => {
      const workspaceId = models ? await models.workspaceOf(id) : null;
      return workspaceId === null ? null : { workspaceId, permission: 'models:read' };
    })
    // State changes, syncs and a throttled tail of incoming records of one connector: src/connectors/events.ts.
    .register('connector', async (id) => {
      const workspaceId = connectors ? await connectors.workspaceOf(id) : null;
      return workspaceId === null ? null : { workspaceId, permission: 'connectors:read' };
    })
    .register('workspace', (id) => Promise.resolve({ workspaceId: id, permission: 'jobs:read' }));

  const orNull =
    (read: StatusReader): StatusReader =>
    async (workspaceId, id) => {
      try {
        return await read(workspaceId, id);
      } catch (e) {
        // Deleted between the access check and this read.
        if (isAppError(e) && e.status === 404) return null;
        throw e;
      }
    };
  const status = new Map<TopicKind, StatusReader>([
    ['job', (workspaceId, id) => jobs.find(workspaceId, id)],
    ['upload', orNull((workspaceId, id) => uploads.view(workspaceId, id))],
    ['dataset', orNull((workspaceId, id) => datasets.get(workspaceId, id))],
    ...(models ? ([['model', orNull((workspaceId, id) => models.get(workspaceId, id))]] as const) : []),
    ...(connectors ? ([['connector', orNull((workspaceId, id) => connectors.get(workspaceId, id))]] as const) : []),
  ]);
  return { resolvers, status };
}
