import { AppError } from '../errors.js';
import type { Permission } from '../identity/permissions.js';
import type { DatasetService } from '../datasets/service.js';
import { firstMissing, permissionsToAppend } from '../datasets/version-access.js';
import { newId } from '../ids.js';
import type { PipelineDefinition } from './definition.js';
import type { PipelineRunPayload } from './jobs.js';
import type { Pipeline } from './model.js';

/**
 * Where a run stores its result, decided when it is queued (the job then writes exactly there):
 *   1. `output.datasetId`: a new version of that dataset;
 *   2. a saved pipeline whose earlier run created its output (still there): a new version of that;
 *   3. `output.name`: a new version of the one dataset of that name in the workspace, a new dataset of that name
 *      when none has it, a 409 listing them when several have it (names are not unique: uploads may share one);
 *   4. otherwise a new dataset, `<pipeline or run name> output`, whose id is reserved here. An ad-hoc run without
 *      `output.name` always makes a new one: its default name says nothing about what it holds.
 * Adding a version needs what appending takes (src/datasets/version-access.ts), checked here with the caller's
 * grants and again in the job with its creator's.
 */
export type OutputTarget = Omit<PipelineRunPayload, 'v' | 'runId'>;

export type OutputDatasets = Pick<DatasetService, 'findSource' | 'list' | 'assertMayAppend'>;

export interface OutputRequest {
  workspaceId: string;
  grants: ReadonlySet<Permission>;
  definition: PipelineDefinition;
  /** Set for a saved pipeline; its definition's fields are then not in the request, so errors carry no pointer. */
  pipeline?: Pipeline;
  /** The run's name: an unnamed output becomes `<name> output`. */
  name: string;
}

/** Datasets listed in the 409 for an ambiguous `output.name`. */
const LISTED_CANDIDATES = 10;

export async function outputTarget(datasets: OutputDatasets, r: OutputRequest): Promise<OutputTarget> {
  const { workspaceId, definition, pipeline } = r;
  const outputVersionId = newId('dv');
  const pointer = (field: string) => (pipeline ? undefined : `/definition/output/${field}`);
  const target = definition.output?.datasetId;
  if (target) {
    await requireOutputDataset(datasets, workspaceId, definition);
    await datasets.assertMayAppend(workspaceId, target, r.grants, { caller: 'request', pointer: pointer('datasetId') });
    return { outputDatasetId: target, outputVersionId };
  }
  if (pipeline?.outputDatasetId && (await datasets.findSource(workspaceId, pipeline.outputDatasetId)).exists) {
    await datasets.assertMayAppend(workspaceId, pipeline.outputDatasetId, r.grants, { caller: 'request' });
    return { outputDatasetId: pipeline.outputDatasetId, outputVersionId };
  }
  const named = definition.output?.name;
  if (named !== undefined) {
    const same = await datasets.list({
      workspaceId,
      name: named,
      limit: LISTED_CANDIDATES,
      offset: 0,
      sort: 'createdAt',
    });
    if (same.total > 1) throw ambiguousName(named, same.items, same.total, pointer('name'));
    const existing = same.items[0];
    if (existing) {
      const missing = firstMissing(r.grants, permissionsToAppend(existing));
      if (missing) throw nameTakenForbidden(named, existing, missing, pointer('name'));
      return { outputDatasetId: existing.id, outputVersionId };
    }
  }
  const datasetName = named ?? `${pipeline?.name ?? r.name} output`;
  return {
    outputDatasetId: newId('ds'),
    outputVersionId,
    createDataset: { name: datasetName, description: definition.output?.description ?? '' },
  };
}

/** 404 at `/definition/output/datasetId` unless the dataset the definition appends to exists in the workspace. */
export async function requireOutputDataset(
  datasets: Pick<DatasetService, 'findSource'>,
  workspaceId: string,
  definition: PipelineDefinition,
): Promise<void> {
  const target = definition.output?.datasetId;
  if (!target || (await datasets.findSource(workspaceId, target)).exists) return;
  const message = `Dataset '${target}' does not exist`;
  throw new AppError('not_found', message, [{ pointer: '/definition/output/datasetId', message }]);
}

function ambiguousName(
  name: string,
  candidates: { id: string; name: string; createdAt: string }[],
  total: number,
  pointer: string | undefined,
): AppError {
  const ids =
    candidates.map((d) => d.id).join(', ') +
    (total > candidates.length ? `, … (${total - candidates.length} more)` : '');
  const message =
    `${total} datasets are named '${name}' (${ids}), so the run cannot tell which to add a version to; ` +
    'set output.datasetId to the one you mean, or choose another output.name for a new dataset';
  return new AppError('conflict', message, pointer ? [{ pointer, message: `names ${total} datasets` }] : [], {
    candidates: candidates.map(({ id, name: n, createdAt }) => ({ id, name: n, createdAt })),
  });
}

function nameTakenForbidden(
  name: string,
  dataset: { id: string; keepVersions: number | null },
  permission: Permission,
  pointer: string | undefined,
): AppError {
  const why =
    permission === 'datasets:delete'
      ? `it keeps only its ${dataset.keepVersions} newest versions, so adding one deletes an older one: that needs`
      : 'that needs';
  const message =
    `The output name '${name}' is taken by dataset '${dataset.id}', so the run would add a version to it; ${why} the permission ` +
    `'${permission}'. Ask a workspace admin for it, or choose another output.name to store the result as a new dataset`;
  return new AppError('forbidden', message, pointer ? [{ pointer, message: `needs '${permission}'` }] : [], {
    permission,
  });
}
