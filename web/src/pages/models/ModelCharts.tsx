import { useMemo } from 'react';
import { VegaChart, type VegaLiteSpec } from '../../ui/VegaChart';
import { useChartWidth } from '../dataset/charts/useChartSpec';
import { SpecView } from '../dataset/charts/SpecView';
import { formatNumber } from '../../lib/format';
import { reportOf, useModelChart, type ModelChart, type ModelVersion } from './api';

/** Lazily loaded with vega: the version's charts, each drawn from the API's Vega-Lite spec. */

const LABELS: Record<ModelChart, string> = {
  forecast: 'Actual and forecast over the last window of the test part, with the interval band',
  residuals: 'Residuals (actual − predicted) on the test part',
  loss: 'Training and validation loss per iteration',
  importance: 'Feature importance',
  'horizon-error': 'Test error (MSE) per horizon step, model and baselines',
};

const TABLES: Partial<Record<ModelChart, { field: string; label: string; format?: (v: unknown) => string }[]>> = {
  importance: [
    { field: 'feature', label: 'Feature' },
    { field: 'value', label: 'Importance', format: (v) => formatNumber(v as number) },
  ],
  loss: [
    { field: 'iteration', label: 'Iteration' },
    { field: 'part', label: 'Part' },
    { field: 'loss', label: 'Loss', format: (v) => formatNumber(v as number) },
  ],
  residuals: [
    { field: 'x', label: 'Step or prediction', format: (v) => formatNumber(v as number) },
    { field: 'residual', label: 'Residual', format: (v) => formatNumber(v as number) },
  ],
  'horizon-error': [
    { field: 'step', label: 'Step' },
    { field: 'algorithm', label: 'Algorithm' },
    { field: 'mse', label: 'MSE', format: (v) => formatNumber(v as number) },
  ],
};

/** The charts that mean something for this version (a forecast's window, a curve when there is one, …). */
export function chartsFor(version: ModelVersion): ModelChart[] {
  const report = reportOf(version);
  const forecast = report.task === 'forecast';
  return [
    ...(forecast ? (['forecast'] as const) : []),
    ...(Object.values(report.metrics).some((m) => (m.perStep ?? []).length > 0) ? (['horizon-error'] as const) : []),
    ...(report.task !== 'classification' ? (['residuals'] as const) : []),
    ...(report.losses.length > 0 ? (['loss'] as const) : []),
    ...(report.importance.length > 0 ? (['importance'] as const) : []),
  ];
}

function ChartSlot({ modelId, version, chart }: { modelId: string; version: ModelVersion; chart: ModelChart }) {
  const [ref, width] = useChartWidth<HTMLDivElement>();
  const spec = useModelChart(modelId, version.id, chart, width);
  return (
    <section className="card stack model-chart" aria-label={LABELS[chart]}>
      <h3>{LABELS[chart]}</h3>
      <div ref={ref}>{width > 0 && <SpecView query={spec} label={LABELS[chart]} table={TABLES[chart]} />}</div>
    </section>
  );
}

export default function ModelCharts({ modelId, version }: { modelId: string; version: ModelVersion }) {
  return (
    <div className="model-charts">
      {chartsFor(version).map((chart) => (
        <ChartSlot key={`${version.id}-${chart}`} modelId={modelId} version={version} chart={chart} />
      ))}
    </div>
  );
}

/** The loss curve of a training still running, from the `model.progress` events (drawn in the browser). */
export function LiveLossChart({
  points,
}: {
  points: { iteration: number; part: 'train' | 'validation'; loss: number }[];
}) {
  const spec = useMemo<VegaLiteSpec>(
    () => ({
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      width: 'container',
      height: 200,
      data: { values: points },
      mark: { type: 'line', point: points.length < 50 ? { aria: false } : false },
      encoding: {
        x: { field: 'iteration', type: 'quantitative', title: 'Iteration', axis: { tickMinStep: 1 } },
        y: { field: 'loss', type: 'quantitative', title: 'Loss', scale: { zero: false } },
        color: {
          field: 'part',
          type: 'nominal',
          title: 'Part',
          scale: { domain: ['train', 'validation'], range: ['#4c78a8', '#f58518'] },
        },
      },
    }),
    [points],
  );
  return <VegaChart spec={spec} label="Live training loss" table={TABLES.loss} />;
}
