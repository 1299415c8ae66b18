import { clean, formatNumber, keyValues, table, truncate, formatDate } from './format.js';

/** Models as the API answers them (written out by hand: the CLI depends on the wire format only). */
export interface ModelWire {
  id: string;
  name: string;
  description: string;
  task: 'forecast' | 'regression' | 'classification';
  target: string;
  datasetId: string;
  spec: {
    algorithm: string;
    horizon: number | null;
    timeColumn: string | null;
    features: { name: string; kind: string }[];
  };
  currentVersionId: string | null;
  currentVersion: number | null;
  versionCount: number;
  training: { jobId: string; status: string } | null;
  createdAt: string;
  updatedAt: string;
}

type Metrics = Record<string, number | null>;

export interface ReportWire {
  task: string;
  algorithm: string;
  params: Record<string, unknown>;
  leaderboard: { algorithm: string; validation: Metrics; trainMs: number; status: string; reason?: string }[];
  metrics: Record<string, { original: Metrics; normalized: Metrics; skill?: number | null }>;
  data: { rows: number; train: number; validation: number; test: number };
}

export interface ModelVersionWire {
  id: string;
  number: number;
  algorithm: string;
  datasetVersionId: string;
  report: ReportWire;
  trainingMs: number;
  jobId: string;
  current: boolean;
  createdAt: string;
}

/** Metric columns in a fixed order per task (others the report has follow, sorted). */
const METRIC_ORDER: Record<string, string[]> = {
  forecast: ['mse', 'mae', 'rmse', 'mape', 'smape', 'mase'],
  regression: ['mse', 'rmse', 'mae', 'r2'],
  classification: ['accuracy', 'macroF1', 'logLoss', 'rocAuc'],
};

const cell = (v: number | null | undefined): string => (v === null || v === undefined ? '-' : formatNumber(v));

/**
 * The test-part metrics of the chosen model and every baseline, one row each, the chosen one first and marked `*`
 * (forecasts add the skill against repeat-last).
 */
export function metricsTable(report: ReportWire): string {
  const algorithms = Object.keys(report.metrics).sort((a, b) =>
    a === report.algorithm ? -1 : b === report.algorithm ? 1 : a.localeCompare(b),
  );
  const present = new Set(algorithms.flatMap((a) => Object.keys(report.metrics[a]!.original)));
  const order = METRIC_ORDER[report.task] ?? [];
  const metrics = [...order.filter((m) => present.has(m)), ...[...present].filter((m) => !order.includes(m)).sort()];
  const skill = report.task === 'forecast';
  const headers = ['ALGORITHM', ...metrics.map((m) => m.toUpperCase()), ...(skill ? ['SKILL'] : [])];
  const rows = algorithms.map((a) => {
    const m = report.metrics[a]!;
    return [
      `${a === report.algorithm ? '* ' : '  '}${truncate(clean(a), 30)}`,
      ...metrics.map((k) => cell(m.original[k])),
      ...(skill ? [cell(m.skill)] : []),
    ];
  });
  return table(headers, rows, ['left', ...headers.slice(1).map(() => 'right' as const)]);
}

export function leaderboardTable(report: ReportWire): string {
  const keys = [...new Set(report.leaderboard.flatMap((l) => Object.keys(l.validation)))].sort();
  const rows = report.leaderboard.map((l) => [
    truncate(clean(l.algorithm), 30),
    l.status + (l.reason ? ` (${truncate(clean(l.reason), 40)})` : ''),
    ...keys.map((k) => cell(l.validation[k])),
    `${l.trainMs} ms`,
  ]);
  const headers = ['ALGORITHM', 'STATUS', ...keys.map((k) => `VALID ${k.toUpperCase()}`), 'TRAIN'];
  return table(headers, rows, ['left', 'left', ...keys.map(() => 'right' as const), 'right']);
}

export function describeModel(m: ModelWire, v: ModelVersionWire | null): string {
  const pairs: [string, string][] = [
    ['id', m.id],
    ['name', clean(m.name)],
    ['task', m.task + (m.spec.horizon !== null ? ` (horizon ${m.spec.horizon})` : '')],
    ['target', clean(m.target)],
    ['dataset', m.datasetId],
    ['versions', `${m.versionCount}${m.currentVersion !== null ? `, current v${m.currentVersion}` : ''}`],
    ['training', m.training ? `${m.training.status} (${m.training.jobId})` : '-'],
    ['created', formatDate(m.createdAt)],
  ];
  if (v) {
    const d = v.report.data;
    pairs.push(
      ['version', `v${v.number} ${v.id}${v.current ? ' (current)' : ''}`],
      ['algorithm', clean(v.algorithm)],
      [
        'trained on',
        `${v.datasetVersionId}: ${d.rows} rows (train ${d.train}, validation ${d.validation}, test ${d.test})`,
      ],
      ['training time', `${v.trainingMs} ms`],
    );
  }
  return keyValues(pairs);
}

/** One line of live training progress from the `model.fit` progress data. */
export interface FitProgressWire {
  phase?: string;
  algorithm?: string;
  iteration?: number;
  of?: number;
  trainLoss?: number;
  validLoss?: number;
  etaMs?: number | null;
}

export function progressLine(p: FitProgressWire | null | undefined, message: string | null): string {
  if (!p || typeof p !== 'object' || !p.phase) return clean(message ?? '');
  const parts = [clean(p.phase), clean(p.algorithm ?? '')];
  if (p.iteration !== undefined) parts.push(p.of ? `${p.iteration}/${p.of}` : `#${p.iteration}`);
  if (p.trainLoss !== undefined) parts.push(`train ${formatNumber(p.trainLoss)}`);
  if (p.validLoss !== undefined) parts.push(`valid ${formatNumber(p.validLoss)}`);
  if (p.etaMs !== undefined && p.etaMs !== null) parts.push(`ETA ${Math.ceil(p.etaMs / 1000)} s`);
  return parts.filter(Boolean).join(' ');
}
