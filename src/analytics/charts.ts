/**
 * Charts of the analytics endpoints: `vegaLiteSpec` turns query results into a self-contained Vega-Lite spec
 * (`?format=vega-lite`), `renderSvg` renders such a spec on the server (`?format=svg`).
 */
export {
  ACCENT,
  CHART_CONFIG,
  CHART_PADDING,
  CHART_SIZE,
  MAX_CHART_ROWS,
  MUTED,
  NULL_LABEL,
  VEGA_LITE_SCHEMA,
  vegaLiteSpec,
} from './chart-specs.js';
export type { ChartData, ChartOptions, VegaLiteSpec } from './chart-specs.js';
export { renderSvg } from './svg.js';
