import { useCallback, useMemo } from 'react';
import { useLocation, useSearch } from 'wouter';

/**
 * A page's filters, sort, page and tab kept in the URL's query string, so a view can be reloaded, linked and
 * navigated back to. Empty values are dropped from the URL; a change replaces the history entry unless `push`.
 */
export function useUrlState<K extends string>(
  defaults: Record<K, string>,
): [Record<K, string>, (changes: Partial<Record<K, string>>, options?: { push?: boolean }) => void] {
  const search = useSearch();
  const [location, navigate] = useLocation();
  const values = useMemo(() => {
    const params = new URLSearchParams(search);
    const out = { ...defaults };
    for (const key of Object.keys(defaults) as K[]) {
      const value = params.get(key);
      if (value !== null) out[key] = value;
    }
    return out;
    // defaults is a literal per call site; its content, not identity, matters
  }, [search]);
  const update = useCallback(
    (changes: Partial<Record<K, string>>, options?: { push?: boolean }) => {
      const params = new URLSearchParams(search);
      for (const [key, value] of Object.entries(changes) as [K, string | undefined][]) {
        if (value === undefined || value === '' || value === defaults[key]) params.delete(key);
        else params.set(key, value);
      }
      const query = params.toString();
      navigate(query ? `${location}?${query}` : location, { replace: !options?.push });
    },
    [search, location, navigate],
  );
  return [values, update];
}
