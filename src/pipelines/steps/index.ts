/** Every kind of pipeline step, by its `type`. */
import { aggregateStep } from './aggregate.js';
import { castStep } from './cast.js';
import { dedupeStep } from './dedupe.js';
import { deriveStep } from './derive.js';
import { dropNullsStep } from './drop-nulls.js';
import { fillNullsStep } from './fill-nulls.js';
import { filterStep } from './filter.js';
import { joinStep } from './join.js';
import { outliersStep } from './outliers.js';
import { renameStep } from './rename.js';
import { resampleStep } from './resample.js';
import { sampleStep } from './sample.js';
import { selectStep } from './select.js';
import { sortStep } from './sort.js';
import type { StepKind } from './types.js';
import { windowStep } from './window.js';

export type { CompiledStep, DatasetRef, ResolvedDataset, StepInput, StepKind } from './types.js';

export const STEP_KINDS: readonly StepKind[] = [
  selectStep,
  renameStep,
  castStep,
  filterStep,
  deriveStep,
  dropNullsStep,
  fillNullsStep,
  dedupeStep,
  sortStep,
  sampleStep,
  outliersStep,
  resampleStep,
  aggregateStep,
  joinStep,
  windowStep,
];

const BY_TYPE: ReadonlyMap<string, StepKind> = new Map(STEP_KINDS.map((k) => [k.type, k]));

/** The kind of step called `type`, or undefined. */
export function stepKind(type: string): StepKind | undefined {
  return BY_TYPE.get(type);
}
