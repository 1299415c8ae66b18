import { useQuery } from '@tanstack/react-query';
import { Link } from 'wouter';
import { api, call } from '../../api/client';
import { formatDateTime, formatNumber } from '../../lib/format';
import { SelectField } from '../../ui/controls';
import { ErrorState } from '../../ui/states';

/** How many datasets the picker offers, by name; a workspace with more is searched on the datasets page. */
const DATASETS_OFFERED = 500;

/** The input of the pipeline: a dataset, and a pinned version of it or "the latest at run time". */
export function InputPicker({
  value,
  onChange,
  datasetError,
  versionError,
}: {
  value: { datasetId: string; versionId?: string };
  onChange: (input: { datasetId: string; versionId?: string }) => void;
  datasetError?: string;
  versionError?: string;
}) {
  const datasets = useQuery({
    queryKey: ['datasets', 'picker'],
    queryFn: () =>
      call(
        api.GET('/api/v1/datasets', {
          params: { query: { limit: DATASETS_OFFERED, offset: 0, sort: 'name' } },
        }),
      ),
  });
  const versions = useQuery({
    queryKey: ['datasets', value.datasetId, 'versions'],
    enabled: value.datasetId !== '',
    queryFn: () => call(api.GET('/api/v1/datasets/{id}/versions', { params: { path: { id: value.datasetId } } })),
  });
  if (datasets.error)
    return <ErrorState error={datasets.error} title="Datasets not loaded" retry={() => void datasets.refetch()} />;
  const items = datasets.data?.items ?? [];
  // A pipeline may read a dataset the picker does not list (more than it offers): it stays selectable.
  const known = items.some((d) => d.id === value.datasetId);
  const datasetOptions = [
    { value: '', label: datasets.isPending ? 'Loading datasets…' : 'Choose a dataset…' },
    ...(!known && value.datasetId ? [{ value: value.datasetId, label: value.datasetId }] : []),
    ...items.map((d) => ({ value: d.id, label: d.name })),
  ];
  const versionOptions = [
    { value: '', label: 'The latest at run time' },
    ...(versions.data?.items ?? []).map((v) => ({
      value: v.id,
      label: `Version ${v.number} · ${formatNumber(v.rowCount)} rows · ${formatDateTime(v.createdAt)}`,
    })),
  ];
  return (
    <div className="grid-2 input-picker">
      <SelectField
        label="Input dataset"
        options={datasetOptions}
        value={value.datasetId}
        error={datasetError}
        aria-required
        onChange={(e) => onChange({ datasetId: e.target.value })}
        hint={
          value.datasetId ? (
            <Link href={`/datasets/${value.datasetId}`}>Open this dataset</Link>
          ) : items.length === 0 && !datasets.isPending ? (
            'No datasets yet: upload one on the datasets page.'
          ) : undefined
        }
      />
      <SelectField
        label="Input version"
        options={versionOptions}
        value={value.versionId ?? ''}
        error={versionError}
        disabled={!value.datasetId}
        onChange={(e) =>
          onChange(
            e.target.value ? { datasetId: value.datasetId, versionId: e.target.value } : { datasetId: value.datasetId },
          )
        }
      />
    </div>
  );
}
