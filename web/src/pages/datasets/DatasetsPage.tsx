import { PageHeader } from '../../ui/controls';

// Placeholder until this page is built (issue 15).
export default function DatasetsPage() {
  return <PageHeader title="DatasetsPage" />;
}
