import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useEffect, useRef, useState } from 'react';
import type { VegaLiteSpec } from '../../../ui/VegaChart';

/**
 * A chart's Vega-Lite spec from the API (`?format=vega-lite`). The typed client describes the JSON form of these
 * endpoints, so the answer is re-typed here: it is the spec. The previous spec stays drawn while the next one loads
 * (a zoom or another column), so the chart does not collapse and jump.
 */
export function useChartSpec(key: readonly unknown[], fetch: () => Promise<unknown>, enabled = true) {
  return useQuery({
    queryKey: ['chart-spec', ...key],
    queryFn: async () => (await fetch()) as VegaLiteSpec,
    enabled,
    placeholderData: keepPreviousData,
    staleTime: 60_000,
  });
}

/** Chart widths are asked for in steps, so a few pixels of resizing do not fetch the spec again. */
const STEP_PX = 40;
/**
 * A smaller change is ignored: a page scrollbar (about 15 px) that a drawn chart makes appear would otherwise narrow
 * the slot, ask for a narrower chart, lose the scrollbar, widen the slot, and so on for ever.
 */
const HYSTERESIS_PX = 2 * STEP_PX;
/** Room left for a scrollbar, so that one appearing does not make the chart wider than its slot. */
const SCROLLBAR_PX = 20;
/** The API's bounds for `width` (CHART_SIZE in src/analytics/charts.ts). */
const MIN_PX = 100;
const MAX_PX = 4000;

/** The width, in px, a chart drawn in this element may take: 0 until measured. */
export function useChartWidth<E extends HTMLElement>() {
  const ref = useRef<E>(null);
  const [width, setWidth] = useState(0);
  useEffect(() => {
    const element = ref.current;
    if (!element) return;
    const measure = () => {
      const px = Math.min(
        MAX_PX,
        Math.max(MIN_PX, Math.floor((element.clientWidth - SCROLLBAR_PX) / STEP_PX) * STEP_PX),
      );
      setWidth((current) => (current === 0 || Math.abs(px - current) >= HYSTERESIS_PX ? px : current));
    };
    measure();
    const observer = new ResizeObserver(measure);
    observer.observe(element);
    return () => observer.disconnect();
  }, []);
  return [ref, width] as const;
}
