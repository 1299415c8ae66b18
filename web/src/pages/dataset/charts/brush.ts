import type { VegaLiteSpec } from '../../../ui/VegaChart';

/** The name of the interval selection added to a time series: the signal VegaChart reports. */
export const BRUSH = 'brush';

/**
 * The API's time series spec with an interval selection along x on its line layer, so a drag selects a range of
 * time to zoom to. The spec is the server's (src/analytics/chart-specs.ts: band, line and tooltip layers); a spec
 * without a line layer is returned as it is and the chart simply cannot be brushed.
 */
export function withBrush(spec: VegaLiteSpec): VegaLiteSpec {
  const layers = spec.layer;
  if (!Array.isArray(layers)) return spec;
  const line = layers.findIndex((l: { mark?: { type?: string } }) => l.mark?.type === 'line');
  if (line < 0) return spec;
  const brushed = layers.map((layer: Record<string, unknown>, i) =>
    i === line ? { ...layer, params: [{ name: BRUSH, select: { type: 'interval', encodings: ['x'] } }] } : layer,
  );
  return { ...spec, layer: brushed };
}

interface VegaMark {
  name?: string;
  aria?: boolean;
  marks?: VegaMark[];
}

/**
 * The compiled Vega spec with the brush's rectangles kept out of the accessibility tree (`aria: false`): Vega-Lite
 * gives them no description, and a nameless graphic is noise to a screen reader (axe: svg-img-alt). The zoom is
 * reachable without them: the From/To form does the same.
 */
export function brushWithoutAria<S extends object>(spec: S): S {
  const walk = (marks: VegaMark[] | undefined): VegaMark[] | undefined =>
    marks?.map((m) => ({
      ...m,
      ...(m.name && new RegExp(`^${BRUSH}_brush(_bg)?$`).test(m.name) ? { aria: false } : {}),
      ...(m.marks ? { marks: walk(m.marks) } : {}),
    }));
  const { marks } = spec as { marks?: VegaMark[] };
  return marks ? { ...spec, marks: walk(marks) } : spec;
}
