import type { DatasetTabProps } from './types';

// Placeholder until this tab is built (issue 15).
export default function ProfileTab({ version }: DatasetTabProps) {
  return <p className="muted">ProfileTab of {version.id}</p>;
}
