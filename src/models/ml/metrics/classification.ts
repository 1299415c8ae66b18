/**
 * Classification metrics over class indices (0..classes-1) and row-major probabilities (rows × classes). Rows
 * whose actual class is NaN (missing) are skipped. A metric undefined for the data (AUC with one class present) is
 * null, like the point-error metrics, so it survives JSON.
 */

export interface ClassificationMetrics {
  accuracy: number | null;
  macroF1: number | null;
  logLoss: number | null;
  /** Binary: AUC of class 1; multiclass: macro one-vs-rest over the classes present with both outcomes. */
  rocAuc: number | null;
  count: number;
}

/** Probabilities are clipped away from 0 and 1 so one confident mistake gives a large but finite log loss. */
const PROBABILITY_FLOOR = 1e-15;

/** The predicted class of each row: the highest probability, the lowest index on ties. */
export function argmaxRows(probabilities: ArrayLike<number>, classes: number): Int32Array {
  const rows = Math.floor(probabilities.length / classes);
  const out = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    let best = 0;
    for (let c = 1; c < classes; c++) {
      if (probabilities[r * classes + c]! > probabilities[r * classes + best]!) best = c;
    }
    out[r] = best;
  }
  return out;
}

/** rows = actual, columns = predicted. */
export function confusionMatrix(actual: ArrayLike<number>, predicted: ArrayLike<number>, classes: number): number[][] {
  const m = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i]!;
    if (Number.isNaN(a)) continue;
    m[a]![predicted[i]!]!++;
  }
  return m;
}

export function accuracy(actual: ArrayLike<number>, predicted: ArrayLike<number>): number | null {
  let n = 0;
  let hit = 0;
  for (let i = 0; i < actual.length; i++) {
    if (Number.isNaN(actual[i])) continue;
    n++;
    if (actual[i] === predicted[i]) hit++;
  }
  return n === 0 ? null : hit / n;
}

/** Unweighted mean of per-class F1 over the classes that occur in the actual or the predicted values. */
export function macroF1(confusion: number[][]): number | null {
  let sum = 0;
  let counted = 0;
  for (let c = 0; c < confusion.length; c++) {
    const tp = confusion[c]![c]!;
    let actualC = 0;
    let predictedC = 0;
    for (let k = 0; k < confusion.length; k++) {
      actualC += confusion[c]![k]!;
      predictedC += confusion[k]![c]!;
    }
    if (actualC === 0 && predictedC === 0) continue;
    counted++;
    sum += (2 * tp) / (actualC + predictedC);
  }
  return counted === 0 ? null : sum / counted;
}

export function logLoss(actual: ArrayLike<number>, probabilities: ArrayLike<number>, classes: number): number | null {
  let n = 0;
  let sum = 0;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i]!;
    if (Number.isNaN(a)) continue;
    const p = Math.min(1 - PROBABILITY_FLOOR, Math.max(PROBABILITY_FLOOR, probabilities[i * classes + a]!));
    sum -= Math.log(p);
    n++;
  }
  return n === 0 ? null : sum / n;
}

/** AUC of scores for positives vs negatives (Mann–Whitney, ties count half). */
function binaryAuc(positive: boolean[], scores: number[]): number | null {
  const order = scores.map((s, i) => i).sort((a, b) => scores[a]! - scores[b]!);
  let pos = 0;
  let neg = 0;
  let rankSum = 0;
  let i = 0;
  while (i < order.length) {
    let j = i;
    while (j + 1 < order.length && scores[order[j + 1]!] === scores[order[i]!]) j++;
    const midRank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) {
      if (positive[order[k]!]) {
        pos++;
        rankSum += midRank;
      } else neg++;
    }
    i = j + 1;
  }
  if (pos === 0 || neg === 0) return null;
  return (rankSum - (pos * (pos + 1)) / 2) / (pos * neg);
}

export function rocAuc(actual: ArrayLike<number>, probabilities: ArrayLike<number>, classes: number): number | null {
  const rows: number[] = [];
  for (let i = 0; i < actual.length; i++) if (!Number.isNaN(actual[i])) rows.push(i);
  const aucOf = (c: number) =>
    binaryAuc(
      rows.map((r) => actual[r] === c),
      rows.map((r) => probabilities[r * classes + c]!),
    );
  if (classes === 2) return aucOf(1);
  let sum = 0;
  let counted = 0;
  for (let c = 0; c < classes; c++) {
    const auc = aucOf(c);
    if (auc === null) continue;
    sum += auc;
    counted++;
  }
  return counted === 0 ? null : sum / counted;
}

export function classificationMetrics(
  actual: ArrayLike<number>,
  probabilities: ArrayLike<number>,
  classes: number,
): { metrics: ClassificationMetrics; confusion: number[][] } {
  const predicted = argmaxRows(probabilities, classes);
  const confusion = confusionMatrix(actual, predicted, classes);
  let count = 0;
  for (let i = 0; i < actual.length; i++) if (!Number.isNaN(actual[i])) count++;
  return {
    metrics: {
      accuracy: accuracy(actual, predicted),
      macroF1: macroF1(confusion),
      logLoss: logLoss(actual, probabilities, classes),
      rocAuc: rocAuc(actual, probabilities, classes),
      count,
    },
    confusion,
  };
}
