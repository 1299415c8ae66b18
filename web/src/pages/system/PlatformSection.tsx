import { useQuery } from '@tanstack/react-query';
import { api, call } from '../../api/client';
import { formatBytes, formatNumber, formatPercent } from '../../lib/format';
import { QueryView } from '../../ui/states';
import { DailyBars } from './DailyBars';

const DAYS = 30;

type Stats = Awaited<ReturnType<typeof fetchStats>>;
const fetchStats = () => call(api.GET('/api/v1/system/stats', { params: { query: { days: DAYS } } }));

/** The whole instance: what is stored, jobs on record, the daily series, and the largest datasets. */
export function PlatformSection() {
  const stats = useQuery({ queryKey: ['system', 'stats', DAYS], queryFn: fetchStats });
  return (
    <section className="card" aria-labelledby="platform-title">
      <h2 id="platform-title">Platform statistics</h2>
      <QueryView query={stats} loadingLabel="Loading statistics…">
        {(s) => <PlatformView stats={s} />}
      </QueryView>
    </section>
  );
}

function PlatformView({ stats: s }: { stats: Stats }) {
  const series = (pick: (d: Stats['daily'][number]) => number) =>
    s.daily.map((d) => ({ date: d.date, value: pick(d) }));
  return (
    <div className="stack">
      <dl className="totals">
        <Total label="Datasets" value={formatNumber(s.totals.datasets)} />
        <Total label="Versions" value={formatNumber(s.totals.versions)} />
        <Total label="Rows" value={formatNumber(s.totals.rows)} />
        <Total label="Stored (Parquet)" value={formatBytes(s.totals.parquetBytes)} />
        <Total label="Uploaded" value={formatBytes(s.totals.sourceBytes)} />
        <Total label="Jobs on record" value={formatNumber(s.jobs.total)} />
        <Total label="Job success rate" value={formatPercent(s.jobs.successRate)} />
      </dl>
      <div>
        <h3>Last {s.days} days</h3>
        <div className="daily-grid">
          <DailyBars title="Versions stored" points={series((d) => d.versions)} format={formatNumber} />
          <DailyBars title="Rows stored" points={series((d) => d.rows)} format={formatNumber} />
          <DailyBars title="Bytes stored" points={series((d) => d.parquetBytes)} format={formatBytes} />
          <DailyBars title="Jobs finished" points={series((d) => d.jobsFinished)} format={formatNumber} />
          <DailyBars title="Jobs failed" points={series((d) => d.jobsFailed)} format={formatNumber} />
        </div>
      </div>
      <div className="grid-2">
        <div>
          <h3>By workspace</h3>
          <SumsTable
            caption="Stored data by workspace"
            head="Workspace"
            rows={s.byWorkspace.map((w) => ({ ...w, key: w.workspaceId, name: w.name || w.workspaceId }))}
          />
        </div>
        <div>
          <h3>By format</h3>
          <SumsTable
            caption="Stored data by source format"
            head="Format"
            rows={s.byFormat.map((f) => ({ ...f, key: f.format, name: f.format }))}
          />
        </div>
      </div>
      <div>
        <h3>Largest datasets</h3>
        {s.largestDatasets.length === 0 ? (
          <p className="muted">No datasets stored yet.</p>
        ) : (
          <div className="table-wrap">
            <table className="table">
              <caption className="visually-hidden">The largest datasets by stored bytes, all versions</caption>
              <thead>
                <tr>
                  <th scope="col">Dataset</th>
                  <th scope="col">Workspace</th>
                  <th scope="col" className="num">
                    Versions
                  </th>
                  <th scope="col" className="num">
                    Rows (latest)
                  </th>
                  <th scope="col" className="num">
                    Stored
                  </th>
                </tr>
              </thead>
              <tbody>
                {s.largestDatasets.map((d) => (
                  <tr key={d.id}>
                    <td>
                      {d.name} <code className="muted">{d.id}</code>
                    </td>
                    <td>{d.workspaceName}</td>
                    <td className="num">{formatNumber(d.versions)}</td>
                    <td className="num">{formatNumber(d.rows)}</td>
                    <td className="num">{formatBytes(d.parquetBytes)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </div>
    </div>
  );
}

function Total({ label, value }: { label: string; value: string }) {
  return (
    <div>
      <dt>{label}</dt>
      <dd>{value}</dd>
    </div>
  );
}

function SumsTable({
  caption,
  head,
  rows,
}: {
  caption: string;
  head: string;
  rows: { key: string; name: string; datasets: number; rows: number; parquetBytes: number }[];
}) {
  if (rows.length === 0) return <p className="muted">Nothing stored yet.</p>;
  return (
    <div className="table-wrap">
      <table className="table">
        <caption className="visually-hidden">{caption}</caption>
        <thead>
          <tr>
            <th scope="col">{head}</th>
            <th scope="col" className="num">
              Datasets
            </th>
            <th scope="col" className="num">
              Rows
            </th>
            <th scope="col" className="num">
              Stored
            </th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.key}>
              <td>{r.name}</td>
              <td className="num">{formatNumber(r.datasets)}</td>
              <td className="num">{formatNumber(r.rows)}</td>
              <td className="num">{formatBytes(r.parquetBytes)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
