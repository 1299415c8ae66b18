import { Redirect, useLocation, useParams } from 'wouter';
import type { ReactNode } from 'react';
import { useMe, useSession, type Permission } from '../../app/session';
import { PageHeader } from '../../ui/controls';
import { Empty, Loading } from '../../ui/states';
import { Tabs } from '../../ui/tabs';
import { AuditTab } from './AuditTab';
import { KeysTab } from './KeysTab';
import { MembersTab } from './MembersTab';
import { NetworkTab } from './NetworkTab';
import './settings.css';

interface SettingsTab {
  value: string;
  label: string;
  /** The tab is offered only to callers with this permission in the current workspace. */
  needs: Permission;
  content: () => ReactNode;
}

const TABS: readonly SettingsTab[] = [
  { value: 'members', label: 'Members and roles', needs: 'members:read', content: () => <MembersTab /> },
  { value: 'keys', label: 'API keys', needs: 'keys:manage', content: () => <KeysTab /> },
  { value: 'network', label: 'Network rules', needs: 'workspace:manage', content: () => <NetworkTab /> },
  { value: 'audit', label: 'Audit log', needs: 'audit:read', content: () => <AuditTab /> },
];

/**
 * /settings/:tab — members and roles, API keys, network rules and the audit log of the current workspace. Each tab
 * has its own address, so it can be linked to and reloaded; a tab the caller's role cannot use is not offered at
 * all, and /settings (or a tab not offered) opens the first one that is.
 */
export default function SettingsPage() {
  // The frame renders pages while the caller's account (`me`) is still loading, right after a page load and a
  // workspace switch; every tab needs it, to know what to offer.
  const { me } = useSession();
  if (!me) return <Loading label="Loading your account…" />;
  return <Settings />;
}

function Settings() {
  const { tab } = useParams<{ tab?: string }>();
  const [, navigate] = useLocation();
  const me = useMe();
  const tabs = TABS.filter((t) => me.workspace.permissions.includes(t.needs));

  const header = <PageHeader title="Settings" subtitle="The current workspace: people, keys, network and audit." />;
  const first = tabs[0];
  if (!first)
    return (
      <>
        {header}
        <Empty title="Nothing to manage here">Your role in this workspace has no settings to read or change.</Empty>
      </>
    );
  if (!tab || !tabs.some((t) => t.value === tab)) return <Redirect to={`/settings/${first.value}`} replace />;

  return (
    <>
      {header}
      <Tabs label="Settings" value={tab} onValueChange={(value) => navigate(`/settings/${value}`)} tabs={tabs} />
    </>
  );
}
