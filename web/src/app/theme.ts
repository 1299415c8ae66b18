import { useCallback, useEffect, useSyncExternalStore } from 'react';

/**
 * Light, dark or the system's choice, remembered in localStorage. Applied as `data-theme` on <html>; before the
 * script runs (and with "system") the stylesheet follows `prefers-color-scheme`, so the first paint is right.
 */
export type ThemeChoice = 'light' | 'dark' | 'system';

const KEY = 'weir.theme';
const listeners = new Set<() => void>();

function stored(): ThemeChoice {
  try {
    const value = localStorage.getItem(KEY);
    return value === 'light' || value === 'dark' ? value : 'system';
  } catch {
    return 'system';
  }
}

let current: ThemeChoice = stored();

/** Sets `data-theme` from the choice: none for "system" (the stylesheet's media query decides). */
export function applyTheme(choice: ThemeChoice = current): void {
  const root = document.documentElement;
  if (choice === 'system') root.removeAttribute('data-theme');
  else root.setAttribute('data-theme', choice);
}

export function useTheme(): [ThemeChoice, (choice: ThemeChoice) => void] {
  const choice = useSyncExternalStore(
    (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    () => current,
  );
  const set = useCallback((next: ThemeChoice) => {
    current = next;
    try {
      if (next === 'system') localStorage.removeItem(KEY);
      else localStorage.setItem(KEY, next);
    } catch {
      // storage disabled: the choice lasts for this page
    }
    applyTheme(next);
    for (const listener of listeners) listener();
  }, []);
  // Another tab changed it.
  useEffect(() => {
    const onStorage = (event: StorageEvent) => {
      if (event.key !== KEY) return;
      current = stored();
      applyTheme();
      for (const listener of listeners) listener();
    };
    window.addEventListener('storage', onStorage);
    return () => window.removeEventListener('storage', onStorage);
  }, []);
  return [choice, set];
}

/** The theme in effect, resolved against the system's preference: what charts pick their colours by. */
export function useResolvedTheme(): 'light' | 'dark' {
  const [choice] = useTheme();
  const systemDark = useSyncExternalStore(
    (listener) => {
      const query = window.matchMedia('(prefers-color-scheme: dark)');
      query.addEventListener('change', listener);
      return () => query.removeEventListener('change', listener);
    },
    () => window.matchMedia('(prefers-color-scheme: dark)').matches,
  );
  return choice === 'system' ? (systemDark ? 'dark' : 'light') : choice;
}
