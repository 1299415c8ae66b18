import { useQuery } from '@tanstack/react-query';
import { formatNumber } from '../../lib/format';
import { Empty, QueryView } from '../../ui/states';
import { ColumnProfile, fetchProfile } from './profile/ColumnProfile';
import type { DatasetTabProps } from './types';
import './profile/profile.css';

/** The version's profile (computed at ingest): one card per column with its counts, range and distribution. */
export default function ProfileTab({ dataset, version }: DatasetTabProps) {
  const profile = useQuery({
    queryKey: ['profile', dataset.id, version.id],
    queryFn: () => fetchProfile(dataset.id, version.id),
    staleTime: Infinity, // a version's profile never changes
  });
  return (
    <QueryView
      query={profile}
      loadingLabel="Loading the profile…"
      isEmpty={(p) => p.columns.length === 0}
      empty={<Empty title="This version has no columns" />}
    >
      {(p) => (
        <div className="stack">
          <p className="muted profile-summary">
            {formatNumber(p.rowCount)} rows · {formatNumber(p.columns.length)} columns · version {version.number}
          </p>
          <div className="profile-grid">
            {p.columns.map((column) => (
              <ColumnProfile key={column.name} column={column} rows={p.rowCount} dataset={dataset} version={version} />
            ))}
          </div>
        </div>
      )}
    </QueryView>
  );
}
