import { useQuery } from '@tanstack/react-query';
import { api, call } from '../../api/client';
import { ProblemError } from '../../api/problem';
import { formatDateTime, formatDuration } from '../../lib/format';
import { Badge, Button } from '../../ui/controls';
import { ErrorState, Loading } from '../../ui/states';

/** Liveness, readiness (each check with its time) and what this instance runs on. */
export function HealthSection() {
  const live = useQuery({
    queryKey: ['system', 'live'],
    queryFn: () => call(api.GET('/health/live')),
    retry: false,
  });
  const ready = useQuery({
    queryKey: ['system', 'ready'],
    queryFn: () => call(api.GET('/health/ready')),
    retry: false,
  });
  const info = useQuery({ queryKey: ['system', 'info'], queryFn: () => call(api.GET('/api/v1/system/info')) });
  const refresh = () => {
    void live.refetch();
    void ready.refetch();
    void info.refetch();
  };
  // A 503 answer names the failing checks (problem extension `failing`, src/errors.ts notReady).
  const failing =
    ready.error instanceof ProblemError && Array.isArray(ready.error.problem.failing)
      ? (ready.error.problem.failing as unknown[]).map(String)
      : [];
  return (
    <section className="card" aria-labelledby="health-title">
      <div className="section-head">
        <h2 id="health-title">Health</h2>
        <Button small onClick={refresh} busy={ready.isFetching || live.isFetching}>
          Check again
        </Button>
      </div>
      <div className="stack">
        <dl className="health-probes">
          <div>
            <dt>Liveness</dt>
            <dd>
              {live.isPending ? (
                'checking…'
              ) : live.data ? (
                <Badge tone="success">live</Badge>
              ) : (
                <Badge tone="danger">not answering</Badge>
              )}
            </dd>
          </div>
          <div>
            <dt>Readiness</dt>
            <dd>
              {ready.isPending ? (
                'checking…'
              ) : ready.data ? (
                <Badge tone="success">ready</Badge>
              ) : (
                <Badge tone="danger">not ready{failing.length > 0 ? `: ${failing.join(', ')}` : ''}</Badge>
              )}
            </dd>
          </div>
        </dl>
        {ready.error && <ErrorState error={ready.error} title="Not ready" />}
        {ready.data && (
          <div className="table-wrap">
            <table className="table">
              <caption className="visually-hidden">Readiness checks</caption>
              <thead>
                <tr>
                  <th scope="col">Check</th>
                  <th scope="col">Result</th>
                  <th scope="col" className="num">
                    Time
                  </th>
                </tr>
              </thead>
              <tbody>
                {Object.entries(ready.data.checks).map(([name, check]) => (
                  <tr key={name}>
                    <td>{name}</td>
                    <td>
                      {check.ok ? (
                        <Badge tone="success">ok</Badge>
                      ) : (
                        <Badge tone="danger">{check.error ?? 'failing'}</Badge>
                      )}
                    </td>
                    <td className="num">{formatDuration(check.ms)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        {info.isPending ? (
          <Loading label="Loading system information…" />
        ) : info.error ? (
          <ErrorState error={info.error} title="System information not loaded" retry={() => void info.refetch()} />
        ) : (
          <dl className="facts">
            <dt>Version</dt>
            <dd>
              {info.data.name} {info.data.version}
            </dd>
            <dt>Mode</dt>
            <dd>{info.data.mode}</dd>
            <dt>Drivers</dt>
            <dd>
              metadata {info.data.drivers.metadata}, blobs {info.data.drivers.blobs}, queue {info.data.drivers.queue},
              events {info.data.drivers.events}, {info.data.drivers.engine}
            </dd>
            <dt>Node.js</dt>
            <dd>{info.data.node}</dd>
            <dt>Up since</dt>
            <dd>
              {formatDateTime(info.data.startedAt)} ({formatDuration(info.data.uptimeSeconds * 1000)})
            </dd>
          </dl>
        )}
      </div>
    </section>
  );
}
