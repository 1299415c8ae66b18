import { Link } from 'wouter';
import { formatDateTime } from '../../lib/format';
import { QueryView } from '../../ui/states';
import { layoutLineage, NODE_HEIGHT, NODE_WIDTH, type PlacedNode } from './lineage-layout';
import { useLineage, type Lineage } from './queries';
import type { DatasetTabProps } from './types';

/**
 * How the version was made: the upstream graph (uploads → pipeline runs → this version) drawn as positioned boxes
 * over an SVG of curves, each box a link to that dataset's version, so the graph can be walked by click or Tab.
 */
export default function LineageTab({ dataset, version }: DatasetTabProps) {
  const query = useLineage(dataset.id, version.id);
  return (
    <QueryView query={query} loadingLabel="Loading lineage…">
      {(graph) => <LineageView graph={graph} />}
    </QueryView>
  );
}

function LineageView({ graph }: { graph: Lineage }) {
  const layout = layoutLineage(graph);
  const made = graph.lineage;
  return (
    <div className="stack">
      {made ? (
        <p style={{ margin: 0 }}>
          Made by{' '}
          {made.pipeline.id ? (
            <Link href={`/pipelines/${made.pipeline.id}`}>{made.pipeline.name}</Link>
          ) : (
            <strong>{made.pipeline.name}</strong>
          )}
          {made.pipeline.version !== null && ` (version ${made.pipeline.version})`}, run <code>{made.runId}</code>, on{' '}
          {formatDateTime(made.createdAt)}, from {made.inputs.length} input{made.inputs.length === 1 ? '' : 's'} in{' '}
          {made.steps.length} step{made.steps.length === 1 ? '' : 's'}.
        </p>
      ) : (
        <p style={{ margin: 0 }} className="muted">
          This version was uploaded: it has no upstream.
        </p>
      )}
      {graph.truncated && (
        <p className="muted" style={{ margin: 0 }}>
          The graph stops after 50 generations; open the leftmost versions to see further upstream.
        </p>
      )}
      <div className="lineage-scroll">
        <div className="lineage-canvas" style={{ width: layout.width, height: layout.height }}>
          <svg className="lineage-edges" width={layout.width} height={layout.height} aria-hidden="true">
            {layout.edges.map(({ edge, path }) => (
              <path
                key={`${edge.from}-${edge.to}-${edge.role}-${edge.stepIndex ?? ''}`}
                d={path}
                className={edge.role === 'join' ? 'lineage-edge join' : 'lineage-edge'}
              />
            ))}
          </svg>
          <ol className="lineage-nodes" aria-label="Lineage, from the sources to this version">
            {layout.nodes.map((placed) => (
              <LineageBox
                key={placed.node.versionId}
                placed={placed}
                current={placed.node.versionId === graph.versionId}
              />
            ))}
          </ol>
        </div>
      </div>
    </div>
  );
}

function LineageBox({ placed, current }: { placed: PlacedNode; current: boolean }) {
  const { node, x, y, madeBy } = placed;
  const name = node.datasetName ?? 'Deleted dataset';
  const versionLabel = node.versionNumber === null ? 'version ?' : `version ${node.versionNumber}`;
  const origin = madeBy.length > 0 ? `made by ${madeBy.join(', ')}` : 'uploaded';
  const style = { left: x, top: y, width: NODE_WIDTH, height: NODE_HEIGHT };
  const body = (
    <>
      <span className="lineage-name">{name}</span>
      <span className="lineage-meta">
        {versionLabel}
        {current && ' · this version'}
      </span>
      <span className="lineage-meta">{origin}</span>
    </>
  );
  return (
    <li className={current ? 'lineage-node current' : 'lineage-node'} style={style}>
      {node.datasetName === null ? (
        <div className="lineage-box">{body}</div>
      ) : (
        <Link
          className="lineage-box"
          href={`/datasets/${node.datasetId}?tab=lineage&version=${node.versionId}`}
          aria-current={current ? 'page' : undefined}
        >
          {body}
        </Link>
      )}
    </li>
  );
}
