import type { DatasetTabProps } from './types';

// Placeholder until this tab is built (issue 15).
export default function ChartsTab({ version }: DatasetTabProps) {
  return <p className="muted">ChartsTab of {version.id}</p>;
}
