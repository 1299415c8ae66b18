import type { ModelProgress } from './api';

export interface LossPoint {
  iteration: number;
  part: 'train' | 'validation';
  loss: number;
}

/** What the model page knows of the training it watches: the latest progress event and the loss curve so far. */
export interface TrainingView {
  progress: ModelProgress | null;
  points: LossPoint[];
}

export const NO_TRAINING: TrainingView = { progress: null, points: [] };

/**
 * Folds a `model.progress` event into the view: a new job (a retrain) starts a new curve; an iteration reported
 * again (a fit reports the same iteration as it refines it) replaces its points.
 */
export function applyProgress(view: TrainingView, p: ModelProgress): TrainingView {
  const points = view.progress && view.progress.jobId !== p.jobId ? [] : view.points;
  if (p.iteration === undefined || (p.trainLoss === undefined && p.validLoss === undefined))
    return { progress: p, points };
  const it = p.iteration;
  return {
    progress: p,
    points: [
      ...points.filter((q) => q.iteration !== it),
      ...(p.trainLoss !== undefined ? [{ iteration: it, part: 'train' as const, loss: p.trainLoss }] : []),
      ...(p.validLoss !== undefined ? [{ iteration: it, part: 'validation' as const, loss: p.validLoss }] : []),
    ],
  };
}
