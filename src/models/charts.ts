import {
  ACCENT,
  CHART_CONFIG,
  CHART_PADDING,
  CHART_SIZE,
  MUTED,
  VEGA_LITE_SCHEMA,
  type VegaLiteSpec,
} from '../analytics/charts.js';
import type { TrainingReport } from './ml/report.js';

/**
 * The charts of a model version as data (`?format=json`) and as self-contained Vega-Lite specs, drawn in the house
 * style of the analytics charts (and rendered to SVG by the same renderer). As there, user text (feature, series
 * and algorithm names) is only ever a data value or the chart title, never an encoding title: see chart-specs.ts.
 */

export const MODEL_CHARTS = ['forecast', 'residuals', 'loss', 'importance', 'horizon-error'] as const;
export type ModelChartName = (typeof MODEL_CHARTS)[number];

/** At most this many features are drawn (the largest), so a wide table still gives a readable chart. */
export const MAX_IMPORTANCE_BARS = 30;

export type ModelChartData =
  | {
      kind: 'forecast';
      series: string;
      /** `x` is epoch ms when the model has a time step, else the row index. */
      temporal: boolean;
      /** Actual values of the window before the forecast origin and of the forecast window. */
      actual: { x: number; value: number | null }[];
      forecast: { x: number; value: number }[];
      /** The widest interval level the model has, or null without intervals. */
      level: number | null;
      band: { x: number; lower: number; upper: number }[];
    }
  | {
      kind: 'residuals';
      /** forecast: x = horizon step; regression: x = the prediction. residual = actual − predicted. */
      against: 'step' | 'prediction';
      points: { x: number; residual: number }[];
    }
  | { kind: 'loss'; points: { iteration: number; part: 'train' | 'validation'; loss: number }[] }
  | { kind: 'importance'; importance: 'gain' | 'permutation' | null; bars: { feature: string; value: number }[] }
  | { kind: 'horizon-error'; points: { step: number; algorithm: string; mse: number }[] };

export function lossChart(report: TrainingReport): ModelChartData {
  const points: { iteration: number; part: 'train' | 'validation'; loss: number }[] = [];
  for (const p of report.losses) {
    if (p.train !== null) points.push({ iteration: p.iteration, part: 'train', loss: p.train });
    if (p.validation !== null) points.push({ iteration: p.iteration, part: 'validation', loss: p.validation });
  }
  return { kind: 'loss', points };
}

export function importanceChart(report: TrainingReport): ModelChartData {
  const bars = [...report.importance]
    .sort((a, b) => b.value - a.value)
    .slice(0, MAX_IMPORTANCE_BARS)
    .map(({ feature, value }) => ({ feature, value }));
  return { kind: 'importance', importance: report.importance[0]?.kind ?? null, bars };
}

/** Test MSE per horizon step of the chosen model and of every baseline that reports it. */
export function horizonErrorChart(report: TrainingReport): ModelChartData {
  const points: { step: number; algorithm: string; mse: number }[] = [];
  for (const [algorithm, m] of Object.entries(report.metrics))
    (m.perStep ?? []).forEach((s, i) => {
      if (s.mse !== null) points.push({ step: i + 1, algorithm, mse: s.mse });
    });
  return { kind: 'horizon-error', points };
}

export interface ChartSize {
  width?: number;
  height?: number;
  title?: string;
}

const TITLES: Record<ModelChartName, string> = {
  forecast: 'Actual and forecast',
  residuals: 'Residuals',
  loss: 'Training loss',
  importance: 'Feature importance',
  'horizon-error': 'Test error per horizon step',
};

/** The default title: what is drawn, of which model and version. */
export function modelChartTitle(chart: ModelChartName, modelName: string, number: number): string {
  return `${TITLES[chart]} · ${modelName} v${number}`;
}

export function modelChartSpec(chart: ModelChartData, options: ChartSize = {}): VegaLiteSpec {
  const width = options.width ?? CHART_SIZE.defaultWidth;
  const height = options.height ?? CHART_SIZE.defaultHeight;
  return {
    $schema: VEGA_LITE_SCHEMA,
    ...(options.title ? { title: { text: options.title, limit: width - 2 * CHART_PADDING } } : {}),
    width,
    height,
    autosize: { type: 'fit', contains: 'padding' },
    config: CHART_CONFIG,
    ...body(chart),
  };
}

const ALGORITHM_COLOR = { field: 'algorithm', type: 'nominal', title: 'Algorithm' } as const;

function body(chart: ModelChartData): Record<string, unknown> {
  switch (chart.kind) {
    case 'forecast': {
      const x = chart.temporal
        ? ({ field: 'x', type: 'temporal', scale: { type: 'utc' }, title: 'Time' } as const)
        : ({ field: 'x', type: 'quantitative', title: 'Row' } as const);
      const lines = [
        ...chart.actual.map((p) => ({ x: p.x, value: p.value, line: 'actual' })),
        ...chart.forecast.map((p) => ({ x: p.x, value: p.value, line: 'forecast' })),
      ];
      return {
        layer: [
          {
            data: { values: chart.band },
            mark: { type: 'area', color: ACCENT, opacity: 0.2 },
            encoding: { x, y: { field: 'lower', type: 'quantitative', title: 'Value' }, y2: { field: 'upper' } },
          },
          {
            data: { values: lines },
            mark: { type: 'line', strokeWidth: 1.5 },
            encoding: {
              x,
              y: { field: 'value', type: 'quantitative', title: 'Value' },
              color: {
                field: 'line',
                type: 'nominal',
                title: 'Line',
                scale: { domain: ['actual', 'forecast'], range: ['#323f4b', ACCENT] },
              },
              strokeDash: {
                field: 'line',
                type: 'nominal',
                legend: null,
                scale: {
                  domain: ['actual', 'forecast'],
                  range: [
                    [1, 0],
                    [4, 2],
                  ],
                },
              },
            },
          },
        ],
      };
    }
    case 'residuals':
      return {
        data: { values: chart.points },
        layer: [
          // aria: false — the zero line is a guide, not data; a mark without a description fails WCAG's image rule.
          { mark: { type: 'rule', color: MUTED, aria: false }, encoding: { y: { datum: 0, type: 'quantitative' } } },
          {
            // aria: false — a scatter of hundreds of unlabelled symbols is noise to a screen reader, and Vega leaves their
            // container an image without a name (axe: svg-img-alt); the chart's description and data table speak for it.
            mark: { type: 'point', color: ACCENT, filled: true, size: 20, opacity: 0.7, aria: false },
            encoding: {
              x: { field: 'x', type: 'quantitative', title: chart.against === 'step' ? 'Horizon step' : 'Prediction' },
              y: { field: 'residual', type: 'quantitative', title: 'Actual − predicted' },
            },
          },
        ],
      };
    case 'loss':
      return {
        data: { values: chart.points },
        mark: { type: 'line', point: chart.points.length < 50 ? { aria: false } : false },
        encoding: {
          x: { field: 'iteration', type: 'quantitative', title: 'Iteration', axis: { tickMinStep: 1 } },
          y: { field: 'loss', type: 'quantitative', title: 'Loss', scale: { zero: false } },
          color: {
            field: 'part',
            type: 'nominal',
            title: 'Part',
            scale: { domain: ['train', 'validation'], range: [ACCENT, '#f58518'] },
          },
        },
      };
    case 'importance':
      return {
        data: { values: chart.bars },
        mark: { type: 'bar', color: ACCENT },
        encoding: {
          y: { field: 'feature', type: 'nominal', sort: null, title: 'Feature' },
          x: {
            field: 'value',
            type: 'quantitative',
            title: chart.importance === 'permutation' ? 'Permutation importance' : 'Gain',
          },
        },
      };
    case 'horizon-error':
      return {
        data: { values: chart.points },
        mark: { type: 'line', point: { aria: false } },
        encoding: {
          x: { field: 'step', type: 'quantitative', title: 'Horizon step', axis: { tickMinStep: 1 } },
          y: { field: 'mse', type: 'quantitative', title: 'MSE' },
          color: ALGORITHM_COLOR,
        },
      };
  }
}
