import type { DatasetProfile } from '../engine/profile.js';
import { typeFamily, type ColumnSchema } from '../engine/sql.js';
import { errors, type FieldError } from '../errors.js';
import type { FeatureKind } from './ml/tabular/encoding.js';
import type { Task } from './ml/types.js';
import type { ModelSpec } from './model.js';

/** What POST /models (and, as overrides, POST /models/:id/versions) carries about training. */
export interface TrainingRequest {
  datasetId: string;
  versionId?: string;
  task: Task;
  target: string;
  features?: string[];
  timeColumn?: string;
  seriesColumn?: string;
  horizon?: number;
  lookback?: number;
  algorithm?: string;
  params?: Record<string, unknown>;
  split?: { train: number; validation: number };
  scaling?: ModelSpec['scaling'];
  budgetSeconds?: number;
  seed?: number;
}

/** How a column of a dataset version can feed a model; null when it cannot (binary, nested, ...). */
export function featureKindOf(type: string): FeatureKind | null {
  switch (typeFamily(type)) {
    case 'integer':
    case 'float':
    case 'decimal':
      return 'numeric';
    case 'boolean':
      return 'boolean';
    case 'text':
      return 'categorical';
    case 'timestamp':
    case 'date':
      return 'time';
    default:
      return null;
  }
}

/** The share of rows that goes to the test part by default (70/10/20). */
const DEFAULT_TEST_SHARE = 0.2;

/**
 * Checks a training request against the dataset version it trains on and resolves it into a ModelSpec: every
 * problem is a 400 with a pointer into the request body (`/target`, `/features/2`, `/horizon`), never a 500.
 */
export function resolveSpec(
  req: TrainingRequest,
  version: { id: string; schema: ColumnSchema[]; rowCount: number; profile: DatasetProfile },
  opts: { pinned: boolean; maxRows: number; algorithms: readonly string[] },
): ModelSpec {
  const problems: FieldError[] = [];
  const columns = new Map(version.schema.map((c) => [c.name, c]));
  const kindOf = (name: string) => {
    const c = columns.get(name);
    return c ? featureKindOf(c.type) : null;
  };
  const column = (pointer: string, name: string | undefined): ColumnSchema | null => {
    if (name === undefined) return null;
    const c = columns.get(name);
    if (!c) problems.push({ pointer, message: `no column '${name}' in the dataset version` });
    return c ?? null;
  };

  const target = column('/target', req.target);
  const targetProfile = version.profile.columns.find((c) => c.name === req.target);
  if (target && targetProfile?.count === 0) {
    problems.push({ pointer: '/target', message: `'${req.target}' has no values (all null)` });
  } else if (target) {
    const kind = featureKindOf(target.type);
    const family = typeFamily(target.type);
    if ((req.task === 'regression' || req.task === 'forecast') && kind !== 'numeric')
      problems.push({
        pointer: '/target',
        message: `a ${req.task} target must be numeric; '${req.target}' is ${target.type}`,
      });
    if (req.task === 'classification' && !['text', 'boolean', 'integer'].includes(family))
      problems.push({
        pointer: '/target',
        message: `a classification target must be text, boolean or integer; '${req.target}' is ${target.type}`,
      });
  }

  const timeColumn = column('/timeColumn', req.timeColumn);
  if (timeColumn && featureKindOf(timeColumn.type) !== 'time' && typeFamily(timeColumn.type) !== 'integer')
    problems.push({
      pointer: '/timeColumn',
      message: `the time column must be a timestamp, date or integer; '${timeColumn.name}' is ${timeColumn.type}`,
    });
  const seriesColumn = column('/seriesColumn', req.seriesColumn);

  if (req.task === 'forecast') {
    if (req.timeColumn === undefined)
      problems.push({ pointer: '/timeColumn', message: 'a forecast needs the time column' });
    if (req.horizon === undefined)
      problems.push({ pointer: '/horizon', message: 'a forecast needs a horizon (steps ahead)' });
    else if (!seriesColumn && req.horizon >= Math.floor(version.rowCount * DEFAULT_TEST_SHARE))
      problems.push({
        pointer: '/horizon',
        message: `the horizon (${req.horizon}) is longer than the test part of the data (${Math.floor(version.rowCount * DEFAULT_TEST_SHARE)} of ${version.rowCount} rows)`,
      });
  } else {
    for (const field of ['horizon', 'lookback', 'timeColumn', 'seriesColumn'] as const)
      if (req[field] !== undefined) problems.push({ pointer: `/${field}`, message: `only a forecast takes ${field}` });
  }

  const reserved = new Set([req.target, req.timeColumn, req.seriesColumn].filter((n): n is string => n !== undefined));
  let features: { name: string; kind: FeatureKind }[] = [];
  if (req.features) {
    const seen = new Set<string>();
    req.features.forEach((name, i) => {
      const pointer = `/features/${i}`;
      if (!column(pointer, name)) return;
      if (name === req.target)
        problems.push({ pointer, message: `'${name}' is the target; a model cannot learn from its own answer` });
      else if (req.task === 'forecast' && reserved.has(name))
        problems.push({ pointer, message: `'${name}' is the time or series column` });
      else if (seen.has(name)) problems.push({ pointer, message: `'${name}' is listed twice` });
      else {
        const kind = kindOf(name);
        if (!kind) problems.push({ pointer, message: `'${name}' (${columns.get(name)!.type}) cannot be a feature` });
        else features.push({ name, kind });
      }
      seen.add(name);
    });
  } else if (req.task !== 'forecast') {
    features = version.schema
      .filter((c) => c.name !== req.target)
      .flatMap((c) => {
        const kind = featureKindOf(c.type);
        return kind ? [{ name: c.name, kind }] : [];
      });
  }
  if (req.task === 'forecast' && features.length > 0) {
    // A forecast's features are past covariates: numbers, one set shared by the series.
    if (seriesColumn)
      problems.push({
        pointer: '/features',
        message: 'covariates are shared by every series: a forecast with a series column takes no features',
      });
    features.forEach((f) => {
      if (f.kind !== 'numeric' && f.kind !== 'boolean')
        problems.push({
          pointer: `/features/${req.features!.indexOf(f.name)}`,
          message: `'${f.name}' is ${f.kind}: a forecast's covariates are numbers`,
        });
    });
  }
  if (req.task !== 'forecast' && features.length === 0 && problems.length === 0)
    problems.push({ pointer: '/features', message: 'the model needs at least one feature column' });

  const algorithm = req.algorithm ?? 'auto';
  if (algorithm !== 'auto' && !opts.algorithms.includes(algorithm))
    problems.push({
      pointer: '/algorithm',
      message: `unknown algorithm '${algorithm}' for ${req.task} (known: auto, ${opts.algorithms.join(', ')})`,
    });
  if (req.split && !(req.split.train > 0 && req.split.validation > req.split.train && req.split.validation < 1))
    problems.push({
      pointer: '/split',
      message: 'expected 0 < train < validation < 1 (fractions of the rows: train, then train + validation)',
    });
  if (version.rowCount > opts.maxRows)
    problems.push({
      pointer: '/datasetId',
      message: `the version has ${version.rowCount} rows; models train on at most ${opts.maxRows} (WEIR_MODEL_MAX_ROWS)`,
    });

  if (problems.length > 0) throw errors.validation('The training request does not fit the dataset', problems);
  return {
    datasetId: req.datasetId,
    versionId: opts.pinned ? version.id : null,
    task: req.task,
    target: req.target,
    features,
    timeColumn: req.timeColumn ?? null,
    seriesColumn: req.seriesColumn ?? null,
    horizon: req.horizon ?? null,
    lookback: req.lookback ?? null,
    algorithm,
    params: req.params ?? {},
    split: req.split ?? null,
    scaling: req.scaling ?? 'standard',
    budgetSeconds: req.budgetSeconds ?? null,
    seed: req.seed ?? 42,
  };
}
