import { Link } from 'wouter';
import { PageHeader } from '../ui/controls';

export function NotFoundPage() {
  return (
    <>
      <PageHeader title="Page not found" subtitle="There is no page at this address." />
      <p>
        <Link href="/datasets">Go to the datasets</Link>
      </p>
    </>
  );
}
