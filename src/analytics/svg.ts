import type { Loader } from 'vega';
import type { TopLevelSpec } from 'vega-lite';
import { TOOLTIP_LAYER, type VegaLiteSpec } from './chart-specs.js';

/**
 * Server-side SVG rendering of a Vega-Lite spec: compiled by vega-lite, run by a headless Vega View (renderer
 * `none`, so no canvas and no DOM). vega and vega-lite are imported on first use: together they take about 200 ms
 * to load, which every CLI start would otherwise pay.
 */

/**
 * Specs carry their data inline; every way for a URL to reach the network or the file system is closed, so that
 * rendering cannot be turned into a request for a local file or another host. Vega only warns when a data load
 * fails and renders on without the data, so each refused URL is recorded for `renderSvg` to fail on. `sanitize`
 * (image and link URLs) answers an empty href instead of rejecting: Vega's SVG link code does not handle a
 * rejection, and it would surface as an unhandled rejection, which ends the process.
 */
function closedLoader(refusedUrls: string[]): Loader {
  const refuse = (uri: string): Promise<never> => {
    refusedUrls.push(uri);
    return Promise.reject(new Error(`chart rendering loads nothing; refused '${uri}'`));
  };
  return {
    load: refuse,
    http: refuse,
    file: refuse,
    sanitize: (uri) => {
      refusedUrls.push(uri);
      return Promise.resolve({ href: '' });
    },
  };
}

const messageOf = (arg: unknown): string => (arg instanceof Error ? arg.message : String(arg));

/** An SVG shows no tooltips; their layer would add an invisible element per data row (most of a line chart's bytes). */
function withoutTooltipLayers(spec: VegaLiteSpec): VegaLiteSpec {
  if (!Array.isArray(spec.layer)) return spec;
  return { ...spec, layer: spec.layer.filter((layer: { name?: unknown }) => layer.name !== TOOLTIP_LAYER) };
}

/**
 * The chart as a standalone SVG document of the spec's width × height. Rejects when the spec refers to any URL or
 * when Vega reports an error, rather than answering a chart with missing parts. CPU-bound: about 70–80 ms for a
 * 1,000-point line on an idle 2-core machine, plus about 0.5 s for the first call, which imports vega.
 */
export async function renderSvg(spec: VegaLiteSpec): Promise<string> {
  const [vega, vegaLite] = await Promise.all([import('vega'), import('vega-lite')]);
  // Errors reported to Vega's logger (a failed transform, …) become a rejection. Warnings (an empty domain, …)
  // are routine and would flood the console.
  const problems: string[] = [];
  const refusedUrls: string[] = [];
  const logger = vega.logger(vega.Error, undefined, (_method, _level, args) =>
    problems.push(args.map(messageOf).join(' ')),
  );
  const { spec: vegaSpec } = vegaLite.compile(withoutTooltipLayers(spec) as unknown as TopLevelSpec, { logger });
  const view = new vega.View(vega.parse(vegaSpec), { renderer: 'none', loader: closedLoader(refusedUrls), logger });
  try {
    const svg = await view.toSVG();
    if (refusedUrls.length > 0)
      throw new Error(`renderSvg: the spec refers to URLs, and charts load nothing: ${refusedUrls.join(', ')}`);
    if (problems.length > 0) throw new Error(`renderSvg: ${problems.join('; ')}`);
    return svg;
  } finally {
    view.finalize();
  }
}
