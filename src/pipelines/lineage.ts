import { errors } from '../errors.js';
import type { LineageEdge, LineageGraph, LineageNode } from './model.js';
import type { DatasetService } from '../datasets/service.js';
import type { PipelineRepo } from './repo.js';

/** How many generations of ancestors a lineage answer walks: chains longer than this are cut (`truncated`). */
export const LINEAGE_MAX_DEPTH = 50;

/**
 * The lineage of a dataset version and its upstream graph: from the version back through the runs that made it,
 * one generation per round trip, to uploaded versions (which have no lineage). Every version is visited once,
 * so diamonds (one upload read by two pipelines joined later) appear as one node.
 */
export async function lineageGraph(
  repo: PipelineRepo,
  datasets: Pick<DatasetService, 'findSource' | 'versionLabels'>,
  workspaceId: string,
  datasetId: string,
  versionId?: string,
  maxDepth = LINEAGE_MAX_DEPTH,
): Promise<LineageGraph> {
  const source = await datasets.findSource(workspaceId, datasetId, versionId);
  if (!source.exists) throw errors.notFound('Dataset', datasetId);
  if (!source.version) throw errors.notFound('Version', versionId ?? '');
  const root = source.version.id;

  const datasetOf = new Map<string, string>([[root, datasetId]]);
  const runOf = new Map<string, string>();
  const edges: LineageEdge[] = [];
  let rootLineage: LineageGraph['lineage'] = null;
  let frontier = [root];
  let depth = 0;
  while (frontier.length > 0 && depth < maxDepth) {
    const next: string[] = [];
    for (const lineage of await repo.lineages(workspaceId, frontier)) {
      if (lineage.versionId === root) rootLineage = lineage;
      runOf.set(lineage.versionId, lineage.runId);
      for (const input of lineage.inputs) {
        edges.push({
          from: input.versionId,
          to: lineage.versionId,
          role: input.role,
          ...(input.stepIndex !== undefined ? { stepIndex: input.stepIndex } : {}),
          pipelineId: lineage.pipeline.id,
          pipelineVersion: lineage.pipeline.version,
          pipelineName: lineage.pipeline.name,
          runId: lineage.runId,
        });
        if (datasetOf.has(input.versionId)) continue;
        datasetOf.set(input.versionId, input.datasetId);
        next.push(input.versionId);
      }
    }
    frontier = next;
    depth++;
  }
  const info = await datasets.versionLabels(workspaceId, [...datasetOf.keys()]);
  const nodes: LineageNode[] = [...datasetOf].map(([id, dataset]) => ({
    datasetId: dataset,
    versionId: id,
    datasetName: info.get(id)?.datasetName ?? null,
    versionNumber: info.get(id)?.versionNumber ?? null,
    runId: runOf.get(id) ?? null,
  }));
  return { datasetId, versionId: root, lineage: rootLineage, nodes, edges, truncated: frontier.length > 0 };
}
