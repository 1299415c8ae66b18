import { useQueryClient } from '@tanstack/react-query';
import { lazy, Suspense, useState, type ReactNode } from 'react';
import { Link, useLocation, useParams } from 'wouter';
import { api, call } from '../../api/client';
import { useTopic } from '../../api/realtime';
import { useCan } from '../../app/session';
import { formatBytes, formatDateTime, formatNumber } from '../../lib/format';
import { useUrlState } from '../../lib/url-state';
import { Badge, Button, PageHeader, SelectField } from '../../ui/controls';
import { ConfirmDialog } from '../../ui/dialog';
import { ErrorState, Loading, QueryView } from '../../ui/states';
import { Tabs } from '../../ui/tabs';
import { useToast } from '../../ui/toast';
import { DownloadMenu } from './DownloadMenu';
import { EditDatasetDialog } from './EditDatasetDialog';
import { datasetKeys, useDataset, useVersions } from './queries';
import type { Dataset, DatasetVersion } from './types';
import { VersionsTab } from './VersionsTab';
import './dataset.css';

// Each tab is its own chunk: the grid, the charts (vega) and the graph load when their tab is first opened.
const PreviewTab = lazy(() => import('./PreviewTab'));
const ProfileTab = lazy(() => import('./ProfileTab'));
const ChartsTab = lazy(() => import('./ChartsTab'));
const LineageTab = lazy(() => import('./LineageTab'));

const TABS = ['versions', 'preview', 'profile', 'charts', 'lineage'] as const;

/** /datasets/:id — one dataset: its versions, rows, profile, charts and lineage; download, edit, delete. */
export default function DatasetPage() {
  const { id = '' } = useParams<{ id: string }>();
  const queryClient = useQueryClient();
  const dataset = useDataset(id);
  const [deletedElsewhere, setDeletedElsewhere] = useState(false);

  useTopic(
    id ? `dataset:${id}` : null,
    (event) => {
      if (event.event === 'dataset.deleted') setDeletedElsewhere(true);
      else void queryClient.invalidateQueries({ queryKey: datasetKeys.all(id) });
    },
    () => void queryClient.invalidateQueries({ queryKey: datasetKeys.all(id) }),
  );

  return (
    <QueryView query={dataset} loadingLabel="Loading the dataset…">
      {(d) => (
        <>
          {deletedElsewhere && (
            <div className="state-error" role="alert">
              This dataset was deleted. <Link href="/datasets">Back to the datasets</Link>
            </div>
          )}
          <DatasetView dataset={d} />
        </>
      )}
    </QueryView>
  );
}

function DatasetView({ dataset }: { dataset: Dataset }) {
  const [state, update] = useUrlState({ tab: 'preview', version: '' });
  const versions = useVersions(dataset.id);
  const latest = dataset.latestVersion;
  const chosen = state.version ? versions.data?.find((v) => v.id === state.version) : latest;
  // Until the list has loaded, a chosen older version is not known yet; the latest is the same object either way.
  const waitingForVersion = state.version !== '' && chosen === undefined && versions.isPending;
  const unknownVersion = state.version !== '' && chosen === undefined && !versions.isPending;
  const version: DatasetVersion = chosen ?? latest;
  const tab = (TABS as readonly string[]).includes(state.tab) ? state.tab : 'preview';

  const tabProps = { dataset, version };
  const lazyTab = (node: ReactNode) => <Suspense fallback={<Loading />}>{node}</Suspense>;

  return (
    <div className="stack">
      <p className="breadcrumb">
        <Link href="/datasets">Datasets</Link> <span aria-hidden="true">/</span>
      </p>
      <PageHeader
        title={dataset.name}
        subtitle={dataset.description || undefined}
        actions={<DatasetActions dataset={dataset} versionId={version.id} />}
      />
      <dl className="dataset-facts">
        <div>
          <dt>Format</dt>
          <dd>{dataset.format.toUpperCase()}</dd>
        </div>
        <div>
          <dt>Rows</dt>
          <dd>{formatNumber(version.rowCount)}</dd>
        </div>
        <div>
          <dt>Columns</dt>
          <dd>{formatNumber(version.schema.length)}</dd>
        </div>
        <div>
          <dt>Size</dt>
          <dd>
            {formatBytes(version.sourceBytes)}{' '}
            <span className="muted">({formatBytes(version.parquetBytes)} stored)</span>
          </dd>
        </div>
        <div>
          <dt>Versions</dt>
          <dd>{formatNumber(dataset.versionCount)}</dd>
        </div>
        <div>
          <dt>Updated</dt>
          <dd>{formatDateTime(dataset.updatedAt)}</dd>
        </div>
        <div>
          <dt>Tags</dt>
          <dd className="row">
            {dataset.tags.length === 0 ? (
              <span className="muted">none</span>
            ) : (
              dataset.tags.map((t) => <Badge key={t}>{t}</Badge>)
            )}
          </dd>
        </div>
      </dl>
      <div className="toolbar">
        <div className="version-select">
          <SelectField
            label="Version"
            value={version.id}
            onChange={(e) => update({ version: e.target.value === latest.id ? '' : e.target.value })}
            options={(versions.data ?? [latest]).map((v) => ({
              value: v.id,
              label: `Version ${v.number}${v.id === latest.id ? ' (latest)' : ''} · ${formatDateTime(v.createdAt)}`,
            }))}
          />
        </div>
      </div>
      {unknownVersion && (
        <ErrorState
          error={new Error(`${state.version} is not a version of this dataset; the latest version is shown.`)}
          title="Version not found"
        />
      )}
      {waitingForVersion ? (
        <Loading label="Loading the version…" />
      ) : (
        <Tabs
          label="Dataset views"
          value={tab}
          onValueChange={(value) => update({ tab: value })}
          tabs={[
            {
              value: 'versions',
              label: 'Versions',
              content: () => (
                <QueryView query={versions} loadingLabel="Loading versions…">
                  {(list) => (
                    <VersionsTab
                      versions={list}
                      selectedId={version.id}
                      latestId={latest.id}
                      onSelect={(v) => update({ version: v === latest.id ? '' : v, tab: 'preview' })}
                    />
                  )}
                </QueryView>
              ),
            },
            { value: 'preview', label: 'Preview', content: () => lazyTab(<PreviewTab {...tabProps} />) },
            { value: 'profile', label: 'Profile', content: () => lazyTab(<ProfileTab {...tabProps} />) },
            { value: 'charts', label: 'Charts', content: () => lazyTab(<ChartsTab {...tabProps} />) },
            { value: 'lineage', label: 'Lineage', content: () => lazyTab(<LineageTab {...tabProps} />) },
          ]}
        />
      )}
    </div>
  );
}

/** Download for every reader; edit and delete only for a role that may (the API refuses them anyway). */
function DatasetActions({ dataset, versionId }: { dataset: Dataset; versionId: string }) {
  const canWrite = useCan('datasets:write');
  const canDelete = useCan('datasets:delete');
  const [editing, setEditing] = useState(false);
  const [, navigate] = useLocation();
  const queryClient = useQueryClient();
  const notify = useToast();

  const remove = async () => {
    await call(api.DELETE('/api/v1/datasets/{id}', { params: { path: { id: dataset.id } } }));
    // Leave first: the page's own queries would otherwise refetch the dataset just deleted.
    navigate('/datasets');
    queryClient.removeQueries({ queryKey: datasetKeys.all(dataset.id) });
    void queryClient.invalidateQueries({ queryKey: ['datasets'] });
    notify({ title: 'Dataset deleted', description: dataset.name });
  };

  return (
    <>
      <DownloadMenu datasetId={dataset.id} datasetName={dataset.name} versionId={versionId} />
      {canWrite && (
        <Button onClick={() => setEditing(true)} aria-haspopup="dialog">
          Edit
        </Button>
      )}
      {editing && <EditDatasetDialog dataset={dataset} open onOpenChange={setEditing} />}
      {canDelete && (
        <ConfirmDialog
          trigger={(open) => (
            <Button variant="danger" onClick={open} aria-haspopup="dialog">
              Delete
            </Button>
          )}
          title="Delete this dataset?"
          description={
            <>
              <strong>{dataset.name}</strong> and its {formatNumber(dataset.versionCount)} version
              {dataset.versionCount === 1 ? '' : 's'} will be deleted, with their files. This cannot be undone.
            </>
          }
          confirmLabel="Delete dataset"
          onConfirm={remove}
        />
      )}
    </>
  );
}
