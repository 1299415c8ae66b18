import { describe, expect, it } from 'vitest';
import { layoutLineage, NODE_WIDTH } from './lineage-layout';
import type { Lineage } from './queries';

const node = (versionId: string, runId: string | null = null) => ({
  datasetId: `ds_${versionId}`,
  versionId,
  datasetName: versionId,
  versionNumber: 1,
  runId,
});
const edge = (from: string, to: string, role: 'input' | 'join' = 'input') => ({
  from,
  to,
  role,
  pipelineId: null,
  pipelineVersion: null,
  pipelineName: `made ${to}`,
  runId: `run_${to}`,
});
const graph = (nodes: Lineage['nodes'], edges: Lineage['edges']): Lineage => ({
  datasetId: 'ds_out',
  versionId: 'out',
  lineage: null,
  models: [],
  nodes,
  edges,
  truncated: false,
});

describe('layoutLineage', () => {
  it('puts an upload alone in one column', () => {
    const layout = layoutLineage(graph([node('out')], []));
    expect(layout.nodes).toMatchObject([{ x: 0, y: 0, madeBy: [] }]);
    expect(layout.edges).toEqual([]);
    expect(layout.width).toBe(NODE_WIDTH);
  });

  it('places a diamond so that every edge points right, sources first', () => {
    // a → b → out, and a → out directly (joined): a must sit left of b, not beside it.
    const layout = layoutLineage(
      graph(
        [node('out', 'run_out'), node('b', 'run_b'), node('a')],
        [edge('b', 'out'), edge('a', 'out', 'join'), edge('a', 'b')],
      ),
    );
    const x = Object.fromEntries(layout.nodes.map((n) => [n.node.versionId, n.x]));
    expect(x.a).toBeLessThan(x.b ?? 0);
    expect(x.b).toBeLessThan(x.out ?? 0);
    expect(layout.nodes.map((n) => n.node.versionId)).toEqual(['a', 'b', 'out']);
    expect(layout.nodes.find((n) => n.node.versionId === 'out')?.madeBy).toEqual(['made out']);
    expect(layout.edges).toHaveLength(3);
  });
});
