import { formatBytes, formatDateTime, formatNumber } from '../../lib/format';
import { Badge, Button } from '../../ui/controls';
import { Empty } from '../../ui/states';
import type { DatasetVersion } from './types';

/** Every version of the dataset, newest first; choosing one makes the other tabs show it. */
export function VersionsTab({
  versions,
  selectedId,
  latestId,
  onSelect,
}: {
  versions: readonly DatasetVersion[];
  selectedId: string;
  latestId: string;
  onSelect: (versionId: string) => void;
}) {
  if (versions.length === 0) return <Empty title="No versions" />;
  return (
    <div className="table-wrap">
      <table className="table">
        <caption className="visually-hidden">Versions, newest first</caption>
        <thead>
          <tr>
            <th scope="col" className="num">
              Version
            </th>
            <th scope="col">Created</th>
            <th scope="col">Source file</th>
            <th scope="col" className="num">
              Rows
            </th>
            <th scope="col" className="num">
              Source size
            </th>
            <th scope="col" className="num">
              Parquet size
            </th>
            <th scope="col">SHA-256</th>
            <th scope="col">Encoding</th>
            <th scope="col">
              <span className="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {versions.map((v) => (
            <tr key={v.id} aria-current={v.id === selectedId ? 'true' : undefined}>
              <td className="num">
                {v.number}
                {v.id === latestId && (
                  <>
                    {' '}
                    <Badge tone="accent">latest</Badge>
                  </>
                )}
              </td>
              <td>{formatDateTime(v.createdAt)}</td>
              <td className="version-file">
                {v.sourceFilename} <span className="muted">({v.sourceFormat})</span>
              </td>
              <td className="num">{formatNumber(v.rowCount)}</td>
              <td className="num">{formatBytes(v.sourceBytes)}</td>
              <td className="num">{formatBytes(v.parquetBytes)}</td>
              <td>{v.sha256 ? <code title={v.sha256}>{v.sha256.slice(0, 12)}</code> : '—'}</td>
              <td>{v.sourceEncoding ?? '—'}</td>
              <td>
                {v.id === selectedId ? (
                  <span className="muted">Shown</span>
                ) : (
                  <Button small onClick={() => onSelect(v.id)} aria-label={`Show version ${v.number}`}>
                    Show
                  </Button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
