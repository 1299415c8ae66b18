/**
 * The GBDT hyper-parameters: defaults, validation and the resolved set recorded in the artifact. Unknown keys are
 * refused rather than ignored, so a typo (`learning_rate`) cannot silently train with the default.
 */

import { TrainingInputError } from '../errors.js';

export interface GbdtParams {
  /** Boosting rounds (one tree per round, or one per class per round for multiclass). */
  rounds: number;
  learningRate: number;
  maxDepth: number;
  /** Minimum hessian sum in a child (XGBoost's min_child_weight; for squared error, the row count). */
  minChildWeight: number;
  /** L2 regularisation of leaf values. */
  lambda: number;
  /** Fraction of training rows drawn (without replacement, seeded) for each round. */
  subsample: number;
  /** Fraction of features drawn (seeded) for each tree. */
  colsampleByTree: number;
  /** Value bins per feature (missing values have one more bin of their own). */
  maxBins: number;
  /** Stop when the validation loss has not improved for this many rounds and keep the best round; 0 = never. */
  earlyStoppingRounds: number;
}

export const DEFAULT_GBDT_PARAMS: Readonly<GbdtParams> = Object.freeze({
  rounds: 100,
  learningRate: 0.1,
  maxDepth: 6,
  minChildWeight: 1,
  lambda: 1,
  subsample: 1,
  colsampleByTree: 1,
  maxBins: 255,
  earlyStoppingRounds: 20,
});

/**
 * A hyper-parameter the user must fix; `pointer` is a JSON pointer into the training request (`/params/<key>`). It is
 * a TrainingInputError, so training answers it as the user's mistake (400 with the pointer), never as a failure.
 */
export class GbdtParamError extends TrainingInputError {
  constructor(pointer: string, message: string) {
    super(pointer, message);
    this.name = 'GbdtParamError';
  }
}

interface Rule {
  integer: boolean;
  min: number;
  max: number;
  /** Whether `min` itself is refused (learning rate 0 trains nothing). */
  minExclusive?: boolean;
}

const RULES: Record<keyof GbdtParams, Rule> = {
  rounds: { integer: true, min: 1, max: 100_000 },
  learningRate: { integer: false, min: 0, max: 1, minExclusive: true },
  maxDepth: { integer: true, min: 1, max: 20 },
  minChildWeight: { integer: false, min: 0, max: Number.MAX_SAFE_INTEGER },
  lambda: { integer: false, min: 0, max: Number.MAX_SAFE_INTEGER },
  subsample: { integer: false, min: 0, max: 1, minExclusive: true },
  colsampleByTree: { integer: false, min: 0, max: 1, minExclusive: true },
  maxBins: { integer: true, min: 2, max: 255 },
  earlyStoppingRounds: { integer: true, min: 0, max: 100_000 },
};

export function resolveGbdtParams(given: Record<string, unknown> | undefined): GbdtParams {
  const params: GbdtParams = { ...DEFAULT_GBDT_PARAMS };
  for (const [key, value] of Object.entries(given ?? {})) {
    if (!Object.hasOwn(RULES, key)) {
      throw new GbdtParamError(
        `/params/${key}`,
        `unknown gbdt parameter '${key}'; expected one of ${Object.keys(RULES).join(', ')}`,
      );
    }
    const name = key as keyof GbdtParams;
    const rule = RULES[name];
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw new GbdtParamError(`/params/${key}`, `gbdt parameter '${key}' must be a finite number`);
    }
    if (rule.integer && !Number.isInteger(value)) {
      throw new GbdtParamError(`/params/${key}`, `gbdt parameter '${key}' must be an integer`);
    }
    const tooSmall = rule.minExclusive ? value <= rule.min : value < rule.min;
    if (tooSmall || value > rule.max) {
      const low = rule.minExclusive ? `(${rule.min}` : `[${rule.min}`;
      throw new GbdtParamError(`/params/${key}`, `gbdt parameter '${key}' must be in ${low}, ${rule.max}]`);
    }
    params[name] = value;
  }
  return params;
}
