import type { ReactNode } from 'react';
import { ProblemError } from '../api/problem';

/** Every page has these three states besides its content: loading, empty, and failed. */

export function Loading({ label = 'Loading…' }: { label?: string }) {
  return (
    <div className="state" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" /> {label}
    </div>
  );
}

export function Empty({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="state">
      <p>
        <strong>{title}</strong>
      </p>
      {children}
    </div>
  );
}

/** An error as the API told it: the problem's detail, its field errors and the request id to quote. */
export function ErrorState({
  error,
  title = 'Something went wrong',
  retry,
}: {
  error: unknown;
  title?: string;
  retry?: () => void;
}) {
  const problem = error instanceof ProblemError ? error.problem : null;
  const detail = problem?.detail ?? (error instanceof Error ? error.message : String(error));
  return (
    <div className="state-error" role="alert">
      <strong>{problem?.title && problem.status >= 400 ? `${title}: ${problem.title}` : title}</strong>
      <p style={{ margin: '0.35rem 0' }}>{detail}</p>
      {problem?.errors && problem.errors.length > 0 && (
        <ul>
          {problem.errors.map((e) => (
            <li key={e.pointer + e.message}>
              <code>{e.pointer}</code> {e.message}
            </li>
          ))}
        </ul>
      )}
      {problem?.requestId && (
        <p className="muted" style={{ margin: 0 }}>
          Request id <code>{problem.requestId}</code>
        </p>
      )}
      {retry && (
        <p style={{ margin: '0.5rem 0 0' }}>
          <button type="button" className="btn btn-small" onClick={retry}>
            Try again
          </button>
        </p>
      )}
    </div>
  );
}

/** Renders a query's three states, then its data. */
export function QueryView<T>({
  query,
  children,
  loadingLabel,
  isEmpty,
  empty,
}: {
  query: { data: T | undefined; error: unknown; isPending: boolean; refetch: () => unknown };
  children: (data: T) => ReactNode;
  loadingLabel?: string;
  isEmpty?: (data: T) => boolean;
  empty?: ReactNode;
}) {
  if (query.isPending) return <Loading label={loadingLabel} />;
  if (query.error || query.data === undefined)
    return <ErrorState error={query.error} retry={() => void query.refetch()} />;
  if (isEmpty?.(query.data)) return <>{empty}</>;
  return <>{children(query.data)}</>;
}
