import type { Command } from 'commander';
import { clientAction, printJson, printLine, type ClientContext } from './command.js';
import { datasetArgument, datasetOf, datasetPath, versionOption } from './datasets.js';
import { clean, truncate } from './format.js';

/** GET /datasets/:id/lineage, as far as the CLI reads it (written by hand like the rest of the CLI's wire types). */
export interface LineageWire {
  datasetId: string;
  versionId: string;
  nodes: {
    datasetId: string;
    versionId: string;
    datasetName: string | null;
    versionNumber: number | null;
    runId: string | null;
  }[];
  edges: {
    from: string;
    to: string;
    role: 'input' | 'join';
    stepIndex?: number;
    pipelineId: string | null;
    pipelineVersion: number | null;
    pipelineName: string;
    runId: string;
  }[];
  truncated: boolean;
}

type Edge = LineageWire['edges'][number];

const NAME = 60;

/**
 * The upstream graph of a version as a tree, root first: under each version the run that made it, under the run
 * the versions it read (the input, then each join with its step), and so on back to uploads.
 *
 *   device summary v2  ds_…/dv_…
 *   └─ ← run run_…: pipeline "device summary" v1 (pl_…)
 *      ├─ ← readings v3  ds_…/dv_…  uploaded
 *      └─ ← join (step 1): devices v1  ds_…/dv_…  uploaded
 *
 * A version read twice (one upload behind two joined branches) is drawn in full once; later it says so.
 */
export function lineageTree(graph: LineageWire): string[] {
  const nodes = new Map(graph.nodes.map((n) => [n.versionId, n]));
  const madeFrom = new Map<string, Edge[]>();
  for (const e of graph.edges) madeFrom.set(e.to, [...(madeFrom.get(e.to) ?? []), e]);

  const label = (versionId: string): string => {
    const n = nodes.get(versionId);
    const name = n?.datasetName == null ? '(deleted dataset)' : truncate(clean(n.datasetName), NAME);
    const version = n?.versionNumber == null ? '' : ` v${n.versionNumber}`;
    return `${name}${version}  ${clean(n?.datasetId ?? '?')}/${clean(versionId)}`;
  };
  const uploaded = (versionId: string) => (nodes.get(versionId)?.runId ?? null) === null;

  const lines = [`${label(graph.versionId)}${uploaded(graph.versionId) ? '  uploaded' : ''}`];
  const drawn = new Set([graph.versionId]);
  const walk = (versionId: string, indent: string): void => {
    const inputs = madeFrom.get(versionId) ?? [];
    const run = inputs[0];
    if (!run) {
      if (!uploaded(versionId) && graph.truncated) lines.push(`${indent}└─ … earlier generations not shown`);
      return;
    }
    lines.push(`${indent}└─ ← ${describeRun(run)}`);
    const under = `${indent}   `;
    inputs.forEach((e, i) => {
      const last = i === inputs.length - 1;
      const seen = drawn.has(e.from);
      const note = uploaded(e.from) ? '  uploaded' : seen ? '  (its lineage is drawn above)' : '';
      lines.push(
        `${under}${last ? '└─' : '├─'} ← ${e.role === 'join' ? `join${e.stepIndex === undefined ? '' : ` (step ${e.stepIndex})`}: ` : ''}${label(e.from)}${note}`,
      );
      if (seen) return;
      drawn.add(e.from);
      walk(e.from, `${under}${last ? '   ' : '│  '}`);
    });
  };
  walk(graph.versionId, '');
  return lines;
}

function describeRun(e: Edge): string {
  const name = `"${truncate(clean(e.pipelineName), NAME)}"`;
  if (e.pipelineId === null) return `run ${clean(e.runId)}: ad-hoc ${name}`;
  const version = e.pipelineVersion === null ? '' : ` v${e.pipelineVersion}`;
  return `run ${clean(e.runId)}: pipeline ${name}${version} (${clean(e.pipelineId)})`;
}

async function lineage({ client, json }: ClientContext, id: string, opts: { version?: string }): Promise<void> {
  const graph = await client.getJson<LineageWire>(`${datasetPath(id)}/lineage`, { version: opts.version });
  if (json) return printJson(graph);
  printLine(lineageTree(graph).join('\n'));
}

/** `weir datasets lineage`. */
export function registerLineage(datasets: Command): void {
  clientAction<{ version?: string }>(
    datasets
      .command('lineage')
      .description(
        'draw how a version was made: the run that made it, the versions it read, and theirs, back to the uploads',
      )
      .addArgument(datasetArgument())
      .addOption(versionOption()),
    async (ctx, args, opts) => lineage(ctx, await datasetOf(ctx, args), opts),
  );
}
