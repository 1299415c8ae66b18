import { Tabs as RadixTabs } from 'radix-ui';
import type { ReactNode } from 'react';

/** Tabs whose selection lives where the caller keeps it (usually the URL, so a tab can be linked to). */
export function Tabs({
  value,
  onValueChange,
  tabs,
  label,
}: {
  value: string;
  onValueChange: (value: string) => void;
  tabs: readonly { value: string; label: string; content: () => ReactNode }[];
  label: string;
}) {
  return (
    <RadixTabs.Root value={value} onValueChange={onValueChange}>
      <RadixTabs.List className="tabs-list" aria-label={label}>
        {tabs.map((t) => (
          <RadixTabs.Trigger key={t.value} value={t.value} className="tabs-trigger">
            {t.label}
          </RadixTabs.Trigger>
        ))}
      </RadixTabs.List>
      {tabs.map((t) => (
        <RadixTabs.Content key={t.value} value={t.value}>
          {t.value === value ? t.content() : null}
        </RadixTabs.Content>
      ))}
    </RadixTabs.Root>
  );
}
