import { useMemo } from 'react';
import { formatDateTime, formatNumber } from '../../lib/format';
import { VegaChart, type ChartTableColumn, type VegaLiteSpec } from '../../ui/VegaChart';
import type { LivePoint } from './live';

/** Lazily loaded with vega: the incoming series, one line per numeric field, drawn in the browser. */

const TABLE: ChartTableColumn[] = [
  { field: 't', label: 'Time', format: (v) => formatDateTime(new Date(v as number).toISOString()) },
  { field: 'field', label: 'Field' },
  { field: 'value', label: 'Value', format: (v) => formatNumber(v as number) },
];

export default function LiveChart({ points }: { points: LivePoint[] }) {
  const spec = useMemo<VegaLiteSpec>(
    () => ({
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      width: 'container',
      height: 220,
      data: { values: points },
      mark: { type: 'line', point: points.length < 60 ? { aria: false } : false },
      encoding: {
        x: { field: 't', type: 'temporal', title: 'Time' },
        y: { field: 'value', type: 'quantitative', title: 'Value', scale: { zero: false } },
        color: { field: 'field', type: 'nominal', title: 'Field' },
      },
    }),
    [points],
  );
  return <VegaChart spec={spec} label="Live readings of the numeric fields" table={TABLE} />;
}
