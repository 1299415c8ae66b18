import * as vega from 'vega';
import { compile } from 'vega-lite';
import { expressionInterpreter } from 'vega-interpreter';
import { describe, expect, it } from 'vitest';
import { datetime } from './vega-datetime';

/** A time axis with explicit ticks, as the API's time series specs have (src/analytics/chart-specs.ts). */
const spec = {
  data: { values: [0, 1, 2, 3].map((h) => ({ time: `2024-01-01T0${h}:00:00Z`, value: h })) },
  mark: 'line',
  encoding: {
    x: {
      field: 'time',
      type: 'temporal',
      scale: { type: 'utc' },
      axis: { values: [1704067200000, 1704074400000], labelExpr: "utcFormat(datum.value, '%H:%M')" },
    },
    y: { field: 'value', type: 'quantitative' },
  },
} as const;

async function axisLabels(withFix: boolean): Promise<string[]> {
  if (withFix) vega.expressionFunction('datetime', datetime);
  const view = new vega.View(vega.parse(compile(spec as never).spec, undefined, { ast: true }), {
    renderer: 'none',
    expr: expressionInterpreter,
  } as never);
  const svg = await view.toSVG();
  view.finalize();
  return [...svg.matchAll(/<text[^>]*>(\d\d:\d\d)<\/text>/g)].map((m) => m[1]!);
}

describe('datetime', () => {
  it('is new Date(...) with the same arguments', () => {
    expect(datetime(1704067200000).toISOString()).toBe('2024-01-01T00:00:00.000Z');
    expect(datetime('2024-01-01T00:00:00Z').getTime()).toBe(1704067200000);
    expect(datetime(2024, 0, 2).getDate()).toBe(2);
  });

  // Unfixed first: once registered, the function stays in Vega's table for the process.
  it('gives interpreted time axes their explicit ticks back', async () => {
    expect(await axisLabels(false)).toEqual([]);
    expect(await axisLabels(true)).toEqual(['00:00', '02:00']);
  });
});
