import { DropdownMenu } from 'radix-ui';
import type { ReactNode } from 'react';
import { Link, useLocation } from 'wouter';
import { useSession, type Permission } from './session';
import { useTheme, type ThemeChoice } from './theme';

interface NavItem {
  href: string;
  label: string;
  /** Shown only to callers with this permission (instance administrators for System). */
  needs?: Permission;
}

/** The top-level pages. Later domains (models, connectors, alerts) add theirs here. */
export const NAV: readonly NavItem[] = [
  { href: '/datasets', label: 'Datasets', needs: 'datasets:read' },
  { href: '/pipelines', label: 'Pipelines', needs: 'pipelines:read' },
  { href: '/models', label: 'Models', needs: 'models:read' },
  { href: '/connectors', label: 'Connectors', needs: 'connectors:read' },
  { href: '/jobs', label: 'Jobs', needs: 'jobs:read' },
  { href: '/settings', label: 'Settings' },
  { href: '/system', label: 'System', needs: 'system:admin' },
];

export function Layout({ children }: { children: ReactNode }) {
  const { me } = useSession();
  const [location] = useLocation();
  const permissions: string[] = [...(me?.workspace.permissions ?? [])];
  if (me?.user.instanceAdmin) permissions.push('system:admin');
  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="app-header">
        <Link href="/datasets" className="brand">
          <img src="/favicon.svg" alt="" />
          Weir
        </Link>
        <nav className="app-nav" aria-label="Main">
          {NAV.filter((item) => !item.needs || permissions.includes(item.needs)).map((item) => (
            <Link
              key={item.href}
              href={item.href}
              aria-current={location === item.href || location.startsWith(`${item.href}/`) ? 'page' : undefined}
            >
              {item.label}
            </Link>
          ))}
        </nav>
        <div className="header-tools">
          <WorkspaceSwitcher />
          <ThemeMenu />
          <UserMenu />
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {children}
      </main>
    </>
  );
}

function WorkspaceSwitcher() {
  const { me, switchWorkspace } = useSession();
  if (!me) return null;
  const current = me.workspaces.find((w) => w.id === me.workspace.id);
  return (
    <DropdownMenu.Root>
      <DropdownMenu.Trigger className="btn">
        <span aria-hidden="true">▦</span>
        <span className="visually-hidden">Workspace: </span>
        <span>{current?.name ?? me.workspace.id}</span>
      </DropdownMenu.Trigger>
      <DropdownMenu.Portal>
        <DropdownMenu.Content className="menu" align="end" sideOffset={4}>
          <DropdownMenu.Label className="menu-label">Workspaces</DropdownMenu.Label>
          <DropdownMenu.RadioGroup value={me.workspace.id} onValueChange={switchWorkspace}>
            {me.workspaces.map((w) => (
              <DropdownMenu.RadioItem key={w.id} value={w.id} className="menu-item">
                <DropdownMenu.ItemIndicator>✓</DropdownMenu.ItemIndicator>
                <span>{w.name}</span>
                <span className="muted">{w.role}</span>
              </DropdownMenu.RadioItem>
            ))}
          </DropdownMenu.RadioGroup>
        </DropdownMenu.Content>
      </DropdownMenu.Portal>
    </DropdownMenu.Root>
  );
}

const THEMES: { value: ThemeChoice; label: string }[] = [
  { value: 'light', label: 'Light' },
  { value: 'dark', label: 'Dark' },
  { value: 'system', label: 'System' },
];

export function ThemeMenu() {
  const [theme, setTheme] = useTheme();
  return (
    <DropdownMenu.Root>
      <DropdownMenu.Trigger className="btn" aria-label={`Theme: ${theme}`}>
        <span aria-hidden="true">{theme === 'dark' ? '☾' : theme === 'light' ? '☀' : '◐'}</span>
        <span className="visually-hidden">Theme</span>
      </DropdownMenu.Trigger>
      <DropdownMenu.Portal>
        <DropdownMenu.Content className="menu" align="end" sideOffset={4}>
          <DropdownMenu.Label className="menu-label">Theme</DropdownMenu.Label>
          <DropdownMenu.RadioGroup value={theme} onValueChange={(v) => setTheme(v as ThemeChoice)}>
            {THEMES.map((t) => (
              <DropdownMenu.RadioItem key={t.value} value={t.value} className="menu-item">
                <DropdownMenu.ItemIndicator>✓</DropdownMenu.ItemIndicator>
                {t.label}
              </DropdownMenu.RadioItem>
            ))}
          </DropdownMenu.RadioGroup>
        </DropdownMenu.Content>
      </DropdownMenu.Portal>
    </DropdownMenu.Root>
  );
}

function UserMenu() {
  const { me, signOut } = useSession();
  if (!me) return null;
  return (
    <DropdownMenu.Root>
      <DropdownMenu.Trigger className="btn" title={me.user.email}>
        <span aria-hidden="true">●</span>
        <span className="visually-hidden">Account: </span>
        <span>{me.user.displayName || me.user.email}</span>
      </DropdownMenu.Trigger>
      <DropdownMenu.Portal>
        <DropdownMenu.Content className="menu" align="end" sideOffset={4}>
          <DropdownMenu.Label className="menu-label">
            {me.user.email}
            <br />
            {me.workspace.role ?? 'no role'} in this workspace
          </DropdownMenu.Label>
          <DropdownMenu.Separator className="menu-separator" />
          <DropdownMenu.Item className="menu-item" onSelect={() => void signOut()}>
            Sign out
          </DropdownMenu.Item>
        </DropdownMenu.Content>
      </DropdownMenu.Portal>
    </DropdownMenu.Root>
  );
}
