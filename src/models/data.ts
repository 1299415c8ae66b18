import type { DatasetService } from '../datasets/service.js';
import type { Engine } from '../engine/duckdb.js';
import { ident, typeFamily } from '../engine/sql.js';
import type { StoredVersion } from '../datasets/model.js';
import { TrainingInputError } from './ml/errors.js';
import type { ForecastTrainingInput } from './ml/forecast/train.js';
import type { TabularTrainingInput } from './ml/tabular/train.js';
import type { ModelSpec } from './model.js';

/** What the `model.fit` thread receives: the training input as typed arrays, and the seed. */
export type FitInput =
  | { kind: 'tabular'; input: TabularTrainingInput; seed: number }
  | { kind: 'forecast'; input: ForecastTrainingInput; seed: number };

/** A column as a number: timestamps and dates as epoch ms, booleans as 0/1, decimals as doubles. */
function numericExpr(name: string, type: string): string {
  const c = ident(name);
  switch (typeFamily(type)) {
    case 'timestamp':
    case 'date':
      return `CAST(epoch_ms(CAST(${c} AS TIMESTAMP)) AS DOUBLE)`;
    case 'boolean':
      return `CAST(CAST(${c} AS INTEGER) AS DOUBLE)`;
    default:
      return `CAST(${c} AS DOUBLE)`;
  }
}

const toNumber = (v: unknown): number => (typeof v === 'number' ? v : v === null || v === undefined ? NaN : Number(v));

function splitOf(spec: ModelSpec, rows: number): { trainEnd: number; validEnd: number } | undefined {
  return spec.split
    ? { trainEnd: Math.floor(rows * spec.split.train), validEnd: Math.floor(rows * spec.split.validation) }
    : undefined;
}

/**
 * Reads the columns a training needs from a dataset version (through DuckDB) into typed arrays, in row order for
 * tabular tasks and in time order (one series per series id) for forecasts. Refuses a version over the row cap.
 */
export async function loadTrainingData(
  deps: { engine: Engine; datasets: Pick<DatasetService, 'openFile'> },
  spec: ModelSpec,
  version: StoredVersion,
  maxRows: number,
  signal: AbortSignal,
): Promise<FitInput> {
  if (version.rowCount > maxRows)
    throw new TrainingInputError(
      '/datasetId',
      `The version has ${version.rowCount} rows; models train on at most ${maxRows} (WEIR_MODEL_MAX_ROWS)`,
    );
  const typeOf = new Map(version.schema.map((c) => [c.name, c.type]));
  const need = (name: string) => {
    const type = typeOf.get(name);
    if (type === undefined)
      throw new TrainingInputError('/target', `Column '${name}' is no longer in the dataset version`);
    return type;
  };
  const file = await deps.datasets.openFile(version);
  try {
    const from = file.source;
    const budgetMs = spec.budgetSeconds === null ? undefined : spec.budgetSeconds * 1000;
    if (spec.task === 'forecast') {
      const time = numericExpr(spec.timeColumn!, need(spec.timeColumn!));
      const series = spec.seriesColumn ? `CAST(${ident(spec.seriesColumn)} AS VARCHAR)` : `''`;
      need(spec.seriesColumn ?? spec.target);
      // Feature columns of a forecast are past covariates (exogenous series), read beside the target.
      const covariates = spec.features.map((f, i) => `${numericExpr(f.name, need(f.name))} AS x${i}`);
      const rows = await deps.engine.all(
        `SELECT ${[`${series} AS s`, `${time} AS t`, `${numericExpr(spec.target, need(spec.target))} AS y`, ...covariates].join(', ')} FROM ${from} WHERE ${ident(spec.timeColumn!)} IS NOT NULL ORDER BY s, t`,
        undefined,
        signal,
      );
      const bySeries = new Map<string, { t: number[]; y: number[]; x: number[][] }>();
      for (const r of rows) {
        const key = String(r.s ?? '');
        let s = bySeries.get(key);
        if (!s) bySeries.set(key, (s = { t: [], y: [], x: spec.features.map(() => []) }));
        s.t.push(toNumber(r.t));
        s.y.push(toNumber(r.y));
        s.x.forEach((values, i) => values.push(toNumber(r[`x${i}`])));
      }
      const all = [...bySeries.values()];
      const first = all[0];
      if (!first) throw new TrainingInputError('/timeColumn', 'The dataset version has no rows with a time');
      for (const [name, s] of bySeries)
        if (s.t.length !== first.t.length || s.t.some((t, i) => t !== first.t[i]))
          throw new TrainingInputError(
            '/seriesColumn',
            `Series '${name}' is not on the same times as the first series`,
          );
      const step = first.t.length > 1 ? first.t[1]! - first.t[0]! : null;
      for (let i = 2; i < first.t.length; i++)
        if (first.t[i]! - first.t[i - 1]! !== step)
          throw new TrainingInputError(
            '/timeColumn',
            `The time column is not on a regular step (row ${i + 1} of the sorted series breaks it)`,
          );
      const family = typeFamily(need(spec.timeColumn!));
      const isTime = family === 'timestamp' || family === 'date';
      const input: ForecastTrainingInput = {
        series: all.map((s) => Float64Array.from(s.y)),
        seriesNames: [...bySeries.keys()].map((k) => k || spec.target),
        // One set of covariates serves every series: the spec allows them only without a series column.
        ...(spec.features.length > 0
          ? { exogenous: spec.features.map((f, i) => ({ name: f.name, values: Float64Array.from(first.x[i]!) })) }
          : {}),
        times: isTime ? Float64Array.from(first.t) : null,
        stepMs: isTime ? step : null,
        horizon: spec.horizon!,
        ...(spec.lookback !== null ? { lookback: spec.lookback } : {}),
        split: splitOf(spec, first.t.length),
        algorithm: spec.algorithm,
        scaling: spec.scaling,
        params: spec.params,
        budgetMs,
      };
      return { kind: 'forecast', input, seed: spec.seed };
    }

    const projections = spec.features.map((f, i) =>
      f.kind === 'categorical'
        ? `CAST(${ident(f.name)} AS VARCHAR) AS f${i}`
        : `${numericExpr(f.name, need(f.name))} AS f${i}`,
    );
    const targetType = need(spec.target);
    const targetExpr =
      spec.task === 'classification' ? `CAST(${ident(spec.target)} AS VARCHAR)` : numericExpr(spec.target, targetType);
    const rows = await deps.engine.all(
      `SELECT ${[...projections, `${targetExpr} AS y`].join(', ')} FROM ${from}`,
      undefined,
      signal,
    );
    const input: TabularTrainingInput = {
      task: spec.task,
      features: spec.features.map((f, i) => ({
        name: f.name,
        kind: f.kind,
        values:
          f.kind === 'categorical'
            ? rows.map((r) => (r[`f${i}`] === null || r[`f${i}`] === undefined ? null : String(r[`f${i}`])))
            : Float64Array.from(rows, (r) => toNumber(r[`f${i}`])),
      })),
      target: {
        name: spec.target,
        values:
          spec.task === 'classification'
            ? rows.map((r) => (r.y === null || r.y === undefined ? null : String(r.y)))
            : Float64Array.from(rows, (r) => toNumber(r.y)),
      },
      // Fractions of the rows that have a target: trainTabular drops the others before it splits.
      split: splitOf(spec, rows.filter((r) => r.y !== null && r.y !== undefined).length),
      algorithm: spec.algorithm,
      scaling: spec.scaling,
      params: spec.params,
      budgetMs,
    };
    return { kind: 'tabular', input, seed: spec.seed };
  } finally {
    await file.release();
  }
}
