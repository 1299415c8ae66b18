import { describe, expect, it } from 'vitest';
import { lineageTree, type LineageWire } from './lineage.js';

type Node = LineageWire['nodes'][number];
type Edge = LineageWire['edges'][number];

const node = (
  versionId: string,
  datasetName: string | null,
  versionNumber: number | null,
  runId: string | null,
): Node => ({ datasetId: `ds_${versionId}`, versionId, datasetName, versionNumber, runId });
const run =
  (runId: string, pipelineName: string, pipelineId: string | null = null, pipelineVersion: number | null = null) =>
  (from: string, to: string, role: Edge['role'] = 'input', stepIndex?: number): Edge => ({
    from,
    to,
    role,
    ...(stepIndex === undefined ? {} : { stepIndex }),
    pipelineId,
    pipelineVersion,
    pipelineName,
    runId,
  });

describe('lineageTree', () => {
  it('draws an uploaded version as one line', () => {
    expect(
      lineageTree({
        datasetId: 'ds_a',
        versionId: 'a',
        nodes: [node('a', 'readings', 1, null)],
        edges: [],
        truncated: false,
      }),
    ).toEqual(['readings v1  ds_a/a  uploaded']);
  });

  it('draws runs under the versions they made and their inputs under them, joins with their step, a shared input once', () => {
    const summary = run('run_2', 'summary');
    const enrich = run('run_1', 'enrich', 'pl_1', 3);
    const graph: LineageWire = {
      datasetId: 'ds_c',
      versionId: 'c',
      nodes: [
        node('c', 'report', 2, 'run_2'),
        node('b', 'enriched', 1, 'run_1'),
        node('u', 'readings', 4, null),
        node('d', null, null, null),
      ],
      edges: [summary('b', 'c'), summary('u', 'c', 'join', 2), enrich('u', 'b'), enrich('d', 'b', 'join', 1)],
      truncated: false,
    };
    expect(lineageTree(graph)).toEqual([
      'report v2  ds_c/c',
      '└─ ← run run_2: ad-hoc "summary"',
      '   ├─ ← enriched v1  ds_b/b',
      '   │  └─ ← run run_1: pipeline "enrich" v3 (pl_1)',
      '   │     ├─ ← readings v4  ds_u/u  uploaded',
      '   │     └─ ← join (step 1): (deleted dataset)  ds_d/d  uploaded',
      '   └─ ← join (step 2): readings v4  ds_u/u  uploaded',
    ]);
  });

  it('says where a derived version was drawn already, and where the walk stopped', () => {
    const twice = run('run_9', 'both');
    const made = run('run_8', 'made');
    const graph: LineageWire = {
      datasetId: 'ds_z',
      versionId: 'z',
      nodes: [node('z', 'z', 1, 'run_9'), node('m', 'm\nx', 1, 'run_8'), node('old', 'old', 7, 'run_7')],
      edges: [twice('m', 'z'), twice('m', 'z', 'join', 0), made('old', 'm')],
      truncated: true,
    };
    expect(lineageTree(graph)).toEqual([
      'z v1  ds_z/z',
      '└─ ← run run_9: ad-hoc "both"',
      '   ├─ ← m\\nx v1  ds_m/m',
      '   │  └─ ← run run_8: ad-hoc "made"',
      '   │     └─ ← old v7  ds_old/old',
      '   │        └─ … earlier generations not shown',
      '   └─ ← join (step 0): m\\nx v1  ds_m/m  (its lineage is drawn above)',
    ]);
  });
});
