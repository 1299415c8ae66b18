import { useQuery } from '@tanstack/react-query';
import { api, call } from '../../api/client';
import { formatDateTime } from '../../lib/format';
import { Badge, Button } from '../../ui/controls';
import { QueryView } from '../../ui/states';
import { pipelineKeys, type Pipeline, type PipelineVersion } from './api';

/** Every saved version of the pipeline, newest first; any can be opened in the builder and saved again as the newest. */
export function VersionsList({ pipeline, onOpen }: { pipeline: Pipeline; onOpen: (version: PipelineVersion) => void }) {
  const versions = useQuery({
    queryKey: pipelineKeys.versions(pipeline.id),
    queryFn: () => call(api.GET('/api/v1/pipelines/{id}/versions', { params: { path: { id: pipeline.id } } })),
  });
  return (
    <QueryView query={versions} loadingLabel="Loading versions…">
      {(data) => (
        <ol className="version-list" aria-label={`Versions of ${pipeline.name}`}>
          {data.items.map((v) => (
            <li key={v.version} className="row">
              <strong>Version {v.version}</strong>
              {v.version === pipeline.version && <Badge tone="accent">current</Badge>}
              <span className="muted">
                {formatDateTime(v.createdAt)} · {v.definition.steps.length}{' '}
                {v.definition.steps.length === 1 ? 'step' : 'steps'}
              </span>
              {v.version !== pipeline.version && (
                <Button small onClick={() => onOpen(v)}>
                  Open in the builder<span className="visually-hidden"> (version {v.version})</span>
                </Button>
              )}
            </li>
          ))}
        </ol>
      )}
    </QueryView>
  );
}
