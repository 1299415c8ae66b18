import { applyScaler } from './scaling.js';
import { encodeValue } from './encoding.js';
import { tabularAlgorithm } from './algorithms.js';
import type { TabularModelArtifact } from './train.js';

export interface FieldProblem {
  pointer: string;
  message: string;
}

export type TabularPrediction = { prediction: number } | { prediction: string; probabilities: Record<string, number> };

export class PredictInputError extends Error {
  constructor(readonly errors: FieldProblem[]) {
    super(`${errors.length} field(s) do not fit the model's features`);
    this.name = 'PredictInputError';
  }
}

const MAX_REPORTED = 50;

/** A row value as the encoder takes it, or a problem. Null (or a missing key) is a missing value. */
function readValue(kind: string, v: unknown): number | string | null | { error: string } {
  if (v === null || v === undefined) return null;
  switch (kind) {
    case 'numeric':
      return typeof v === 'number' && Number.isFinite(v) ? v : { error: 'expected a number' };
    case 'boolean':
      return typeof v === 'boolean' ? (v ? 1 : 0) : { error: 'expected true or false' };
    case 'time': {
      const ms = typeof v === 'number' ? v : typeof v === 'string' ? Date.parse(v) : NaN;
      return Number.isFinite(ms) ? ms : { error: 'expected a date-time (ISO 8601) or epoch milliseconds' };
    }
    default:
      return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean'
        ? String(v)
        : { error: 'expected a string' };
  }
}

/**
 * Predicts JSON rows with a tabular artifact. Every row is checked against the feature schema first; any bad
 * field throws PredictInputError with one pointer per field (`/rows/3/temperature: expected a number`).
 * Fields the model does not use (the target, say) are ignored; a feature left out is a missing value.
 */
export function predictRows(artifact: TabularModelArtifact, rows: Record<string, unknown>[]): TabularPrediction[] {
  const algorithm = tabularAlgorithm(artifact.algorithm);
  if (!algorithm) throw new Error(`algorithm '${artifact.algorithm}' is not available in this server`);
  const errors: FieldProblem[] = [];
  const cells: number[][] = rows.map((row, r) => {
    const out: number[] = [];
    if (typeof row !== 'object' || row === null || Array.isArray(row)) {
      errors.push({ pointer: `/rows/${r}`, message: 'expected an object of feature values' });
      return out;
    }
    artifact.features.forEach((f, i) => {
      const v = readValue(f.kind, row[f.name]);
      if (v !== null && typeof v === 'object') {
        errors.push({ pointer: `/rows/${r}/${f.name.replace(/~/g, '~0').replace(/\//g, '~1')}`, message: v.error });
        return;
      }
      encodeValue(artifact.encoders[i]!, v, out);
    });
    return out;
  });
  if (errors.length > 0) throw new PredictInputError(errors.slice(0, MAX_REPORTED));
  const width = artifact.scaler.center.length;
  const x = applyScaler(artifact.scaler, {
    rows: rows.length,
    columns: Array.from({ length: width }, (_, c) => Float64Array.from(cells, (row) => row[c]!)),
  });
  const classes = artifact.target.classes.length;
  const out = algorithm.predict(artifact.model, x, artifact.task, classes);
  if (artifact.task === 'regression')
    return rows.map((_, r) => ({ prediction: out[r]! * artifact.target.std + artifact.target.mean }));
  return rows.map((_, r) => {
    const probabilities: Record<string, number> = {};
    let best = 0;
    for (let c = 0; c < classes; c++) {
      probabilities[artifact.target.classes[c]!] = out[r * classes + c]!;
      if (out[r * classes + c]! > out[r * classes + best]!) best = c;
    }
    return { prediction: artifact.target.classes[best]!, probabilities };
  });
}
