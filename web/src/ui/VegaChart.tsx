import { useEffect, useId, useRef, useState } from 'react';
import type { Result } from 'vega-embed';
import { ErrorState, Loading } from './states';
import { datetime } from './vega-datetime';
import './vega-chart.css';

/** A Vega-Lite spec as the API answers it (`?format=vega-lite`): plain JSON with its data inlined. */
export type VegaLiteSpec = Record<string, unknown>;

/** A column of the "show data" table: a field of the spec's inline rows, and its header. */
export interface ChartTableColumn {
  field: string;
  label: string;
  format?: (value: unknown) => string;
}

/**
 * vega-embed and the expression interpreter are about 300 kB gzip: loaded the first time a chart is drawn, never
 * with the first page. One promise, so every chart on a page waits for the same download.
 */
let vegaModules: Promise<[typeof import('vega-embed'), typeof import('vega-interpreter')]> | null = null;
function loadVega() {
  vegaModules ??= Promise.all([import('vega-embed'), import('vega-interpreter')]);
  vegaModules.catch(() => (vegaModules = null));
  return vegaModules;
}

/**
 * The spec as drawn in the app: a transparent background (the card's colour shows through, in either theme) and the
 * description that becomes the SVG's accessible name. Axis, title and legend colours come from vega-chart.css, which
 * follows the theme's CSS variables: CSS rules outrank the SVG's presentation attributes, so a theme change
 * recolours a drawn chart at once, without drawing it again.
 */
function forApp(spec: VegaLiteSpec, label: string): VegaLiteSpec {
  const config = (spec.config ?? {}) as Record<string, unknown>;
  return { ...spec, description: label, config: { ...config, background: 'transparent' } };
}

export interface VegaChartProps {
  spec: VegaLiteSpec;
  /** What the chart shows, in words: its accessible name and its caption. */
  label: string;
  /** Columns of the table the chart can be shown as, read from the spec's inline rows (`data.values`). */
  table?: ChartTableColumn[];
  /** Signals to watch (e.g. an interval selection's), called with their value on every change. */
  signals?: Record<string, (value: unknown) => void>;
  /** A change to the compiled Vega spec before it is drawn (a stable function: a new one draws again). */
  patch?: <S extends object>(vegaSpec: S) => S;
}

/**
 * A Vega-Lite chart drawn in the browser under the app's CSP (no `unsafe-eval`): expressions are parsed to an AST
 * and run by vega-interpreter instead of being compiled with `new Function`; vega-embed's and vega-tooltip's
 * default styles (which they would inject as <style> elements, refused by `style-src 'self'`) are replaced by
 * vega-chart.css. SVG renderer: marks are elements a screen reader (and a test) can find.
 */
export function VegaChart({ spec, label, table, signals, patch }: VegaChartProps) {
  const host = useRef<HTMLDivElement>(null);
  const [state, setState] = useState<'drawing' | 'drawn' | Error>('drawing');
  const [showTable, setShowTable] = useState(false);
  const tableId = useId();
  // The latest handlers, read when a signal fires: a new handler does not redraw the chart.
  const handlers = useRef(signals);
  handlers.current = signals;
  const signalNames = Object.keys(signals ?? {}).join(',');

  useEffect(() => {
    const element = host.current;
    if (!element) return;
    let result: Result | null = null;
    let cancelled = false;
    setState('drawing');
    loadVega()
      .then(async ([{ default: embed }, { expressionInterpreter }]) => {
        if (cancelled) return;
        const drawn = await embed(element, forApp(spec, label) as never, {
          renderer: 'svg',
          actions: false,
          ast: true,
          expr: expressionInterpreter,
          defaultStyle: false,
          tooltip: { disableDefaultStyle: true },
          expressionFunctions: { datetime },
          ...(patch ? { patch: patch as (spec: object) => never } : {}),
          logLevel: 2,
        });
        if (cancelled) {
          drawn.finalize();
          return;
        }
        result = drawn;
        for (const name of signalNames ? signalNames.split(',') : []) {
          drawn.view.addSignalListener(name, (_name, value: unknown) => handlers.current?.[name]?.(value));
        }
        setState('drawn');
      })
      .catch((error: unknown) => {
        if (!cancelled) setState(error instanceof Error ? error : new Error(String(error)));
      });
    return () => {
      cancelled = true;
      result?.finalize();
    };
  }, [spec, label, signalNames, patch]);

  const rows = inlineRows(spec);
  return (
    <figure className="vega-chart">
      {state instanceof Error && <ErrorState error={state} title="The chart could not be drawn" />}
      {state === 'drawing' && <Loading label="Drawing the chart…" />}
      <div ref={host} className="vega-chart-host" data-state={state instanceof Error ? 'error' : state} />
      <figcaption className="vega-chart-caption">
        <span className="muted">{label}</span>
        {table && rows.length > 0 && (
          <button
            type="button"
            className="btn btn-small btn-ghost"
            aria-expanded={showTable}
            aria-controls={tableId}
            onClick={() => setShowTable((shown) => !shown)}
          >
            {showTable ? 'Hide data table' : 'Show data as table'}
          </button>
        )}
      </figcaption>
      {table && showTable && (
        // Focusable, so the table scrolls by keyboard too.
        <div
          className="table-wrap vega-chart-table"
          id={tableId}
          tabIndex={0}
          role="region"
          aria-label={`Data of: ${label}`}
        >
          <table className="table">
            <caption className="visually-hidden">{label}</caption>
            <thead>
              <tr>
                {table.map((c) => (
                  <th key={c.field} scope="col">
                    {c.label}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {rows.map((row, i) => (
                <tr key={i}>
                  {table.map((c) => {
                    const value = row[c.field];
                    return (
                      <td key={c.field} className={typeof value === 'number' ? 'num' : undefined}>
                        {c.format ? c.format(value) : value === null || value === undefined ? '—' : String(value)}
                      </td>
                    );
                  })}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </figure>
  );
}

/** The spec's top-level inline rows (the API's specs carry their data as `data.values`). */
function inlineRows(spec: VegaLiteSpec): Record<string, unknown>[] {
  const data = spec.data as { values?: unknown } | undefined;
  return Array.isArray(data?.values) ? (data.values as Record<string, unknown>[]) : [];
}
