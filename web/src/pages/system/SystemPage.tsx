import { useSession } from '../../app/session';
import { PageHeader } from '../../ui/controls';
import { Empty, Loading } from '../../ui/states';
import { HealthSection } from './HealthSection';
import { PlatformSection } from './PlatformSection';
import { StorageSection } from './StorageSection';
import './system.css';

/** /system: the instance as its administrators see it. Others get a plain refusal, not a page of errors. */
export default function SystemPage() {
  // The page can mount before the caller's /auth/me answer is in (a reload, a workspace switch).
  const { me } = useSession();
  if (!me) return <Loading />;
  if (!me.user.instanceAdmin)
    return (
      <>
        <PageHeader title="System" />
        <Empty title="For instance administrators only">
          <p className="muted">
            Health, storage and platform statistics are shown to the administrators of this Weir instance. Ask one if
            you need something here.
          </p>
        </Empty>
      </>
    );
  return (
    <>
      <PageHeader title="System" subtitle="Health, storage and statistics of this Weir instance." />
      <div className="stack">
        <HealthSection />
        <StorageSection />
        <PlatformSection />
      </div>
    </>
  );
}
