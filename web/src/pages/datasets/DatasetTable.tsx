import { Link } from 'wouter';
import { formatBytes, formatDateTime, formatNumber, formatRelative } from '../../lib/format';
import { Badge, Button, SelectField } from '../../ui/controls';
import { PAGE_SIZES, pageNumber, pageSize, type DatasetList, type DatasetSort, type ListView } from './list-view';

type Update = (changes: Partial<ListView>, options?: { push?: boolean }) => void;

/** The column headers that sort: a click sorts by it, a second click reverses. */
const SORTABLE: Record<string, { asc: DatasetSort; desc: DatasetSort; first: DatasetSort }> = {
  Name: { asc: 'name', desc: '-name', first: 'name' },
  Updated: { asc: 'updatedAt', desc: '-updatedAt', first: '-updatedAt' },
};

function SortHeader({ label, view, update }: { label: keyof typeof SORTABLE; view: ListView; update: Update }) {
  const s = SORTABLE[label]!;
  const current = view.sort === s.asc ? 'ascending' : view.sort === s.desc ? 'descending' : undefined;
  const next = current === 'ascending' ? s.desc : current === 'descending' ? s.asc : s.first;
  return (
    <th scope="col" aria-sort={current ?? 'none'} className={label === 'Updated' ? 'num' : undefined}>
      <button type="button" className="sort-button" onClick={() => update({ sort: next, page: '1' })}>
        {label}
        <span aria-hidden="true">{current === 'ascending' ? ' ▲' : current === 'descending' ? ' ▼' : ''}</span>
      </button>
    </th>
  );
}

export function DatasetTable({ list, view, update }: { list: DatasetList; view: ListView; update: Update }) {
  return (
    <>
      <div className="table-wrap">
        <table className="table dataset-table">
          <caption className="visually-hidden">Datasets</caption>
          <thead>
            <tr>
              <SortHeader label="Name" view={view} update={update} />
              <th scope="col">Tags</th>
              <th scope="col">Format</th>
              <th scope="col" className="num">
                Rows
              </th>
              <th scope="col" className="num">
                Size
              </th>
              <th scope="col" className="num">
                Versions
              </th>
              <SortHeader label="Updated" view={view} update={update} />
            </tr>
          </thead>
          <tbody>
            {list.items.map((d) => (
              <tr key={d.id}>
                <td className="dataset-name">
                  <Link href={`/datasets/${d.id}`}>{d.name}</Link>
                </td>
                <td className="dataset-tags-cell">
                  <span className="dataset-tags">
                    {d.tags.map((t) => (
                      <Badge key={t}>{t}</Badge>
                    ))}
                  </span>
                </td>
                <td>{d.format.toUpperCase()}</td>
                <td className="num">{formatNumber(d.latestVersion.rowCount)}</td>
                <td className="num" title={`${formatNumber(d.latestVersion.sourceBytes)} bytes as uploaded`}>
                  {formatBytes(d.latestVersion.sourceBytes)}
                </td>
                <td className="num">{formatNumber(d.versionCount)}</td>
                <td className="num">
                  <time dateTime={d.updatedAt} title={formatDateTime(d.updatedAt)}>
                    {formatRelative(d.updatedAt)}
                  </time>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <Pagination list={list} view={view} update={update} />
    </>
  );
}

function Pagination({ list, view, update }: { list: DatasetList; view: ListView; update: Update }) {
  const page = pageNumber(view);
  const size = pageSize(view);
  const pages = Math.max(1, Math.ceil(list.total / size));
  const first = list.total === 0 ? 0 : list.offset + 1;
  const last = list.offset + list.items.length;
  return (
    <nav className="pagination" aria-label="Pages of datasets">
      <span className="muted" aria-live="polite">
        {formatNumber(first)}–{formatNumber(last)} of {formatNumber(list.total)}
      </span>
      <span className="row">
        <Button small disabled={page <= 1} onClick={() => update({ page: String(page - 1) }, { push: true })}>
          Previous
        </Button>
        <span>
          Page {formatNumber(Math.min(page, pages))} of {formatNumber(pages)}
        </span>
        <Button small disabled={page >= pages} onClick={() => update({ page: String(page + 1) }, { push: true })}>
          Next
        </Button>
      </span>
      <SelectField
        label="Per page"
        value={String(size)}
        onChange={(e) => update({ limit: e.target.value, page: '1' })}
        options={PAGE_SIZES.map((s) => ({ value: s, label: s }))}
      />
    </nav>
  );
}
