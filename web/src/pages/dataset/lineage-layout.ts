import type { Lineage } from './queries';

export type LineageNode = Lineage['nodes'][number];
export type LineageEdge = Lineage['edges'][number];

export interface PlacedNode {
  node: LineageNode;
  x: number;
  y: number;
  /** The pipelines (as named when they ran) that made this version; empty for an upload. */
  madeBy: string[];
}

export interface LineageLayout {
  nodes: PlacedNode[];
  edges: { edge: LineageEdge; path: string }[];
  width: number;
  height: number;
}

export const NODE_WIDTH = 220;
export const NODE_HEIGHT = 76;
const GAP_X = 64;
const GAP_Y = 20;

/**
 * Places the lineage graph in columns, uploads on the left and the version asked about on the right: a node's
 * column is its longest distance from that version, so every edge points right, even in a diamond (one upload read
 * by two runs that are joined later). Edges are cubic curves from an input's right side to its output's left side.
 */
export function layoutLineage(graph: Lineage): LineageLayout {
  const depth = new Map<string, number>([[graph.versionId, 0]]);
  // Longest-path relaxation; the graph is acyclic and at most 50 generations deep (the API's bound).
  for (let round = 0; round <= graph.nodes.length; round++) {
    let changed = false;
    for (const e of graph.edges) {
      const below = depth.get(e.to);
      if (below === undefined) continue;
      if ((depth.get(e.from) ?? -1) < below + 1) {
        depth.set(e.from, below + 1);
        changed = true;
      }
    }
    if (!changed) break;
  }
  const maxDepth = Math.max(0, ...depth.values());
  const rowsInColumn = new Map<number, number>();
  const placed = new Map<string, PlacedNode>();
  // Upstream first, so the list (and the tab order) reads from the sources to the version asked about.
  const ordered = [...graph.nodes].sort((a, b) => (depth.get(b.versionId) ?? 0) - (depth.get(a.versionId) ?? 0));
  for (const node of ordered) {
    const column = maxDepth - (depth.get(node.versionId) ?? 0);
    const row = rowsInColumn.get(column) ?? 0;
    rowsInColumn.set(column, row + 1);
    const madeBy = [...new Set(graph.edges.filter((e) => e.to === node.versionId).map((e) => e.pipelineName))];
    placed.set(node.versionId, {
      node,
      x: column * (NODE_WIDTH + GAP_X),
      y: row * (NODE_HEIGHT + GAP_Y),
      madeBy,
    });
  }
  const edges = graph.edges.flatMap((edge) => {
    const from = placed.get(edge.from);
    const to = placed.get(edge.to);
    if (!from || !to) return [];
    const x1 = from.x + NODE_WIDTH;
    const y1 = from.y + NODE_HEIGHT / 2;
    const x2 = to.x;
    const y2 = to.y + NODE_HEIGHT / 2;
    const bend = (x2 - x1) / 2;
    return [{ edge, path: `M ${x1} ${y1} C ${x1 + bend} ${y1}, ${x2 - bend} ${y2}, ${x2} ${y2}` }];
  });
  const columns = maxDepth + 1;
  const rows = Math.max(1, ...rowsInColumn.values());
  return {
    nodes: [...placed.values()],
    edges,
    width: columns * NODE_WIDTH + (columns - 1) * GAP_X,
    height: rows * NODE_HEIGHT + (rows - 1) * GAP_Y,
  };
}
