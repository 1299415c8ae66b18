import { Type } from 'typebox';
import { JobFailure } from '../jobs/errors.js';
import type { JobDefinition } from '../jobs/types.js';
import type { FitInput } from './data.js';
import { TrainingInputError } from './ml/errors.js';
import type { ForecastModelArtifact } from './ml/forecast/train.js';
import type { TrainingReport } from './ml/report.js';
import type { TabularModelArtifact } from './ml/tabular/train.js';
import type { FitProgress } from './ml/types.js';

export const MODEL_FIT_KIND = 'model.fit';

export interface FitOutput {
  report: TrainingReport;
  artifact: TabularModelArtifact | ForecastModelArtifact;
  trainingMs: number;
}

/** Progress of a fit as it crosses from the thread: the fit's own report (phase, algorithm, iteration, losses). */
export interface FitProgressData extends FitProgress {
  elapsedMs: number;
  /** Estimated ms left, from iterations done and to do, when the fit says how many there are. */
  etaMs: number | null;
}

/** Forwarded at most this often (a GBDT reports every tree). */
const PROGRESS_EVERY_MS = 100;

/**
 * The CPU part of `model.train`, run in a job thread (src/jobs/threads/definitions.ts): the thread receives the
 * training data as typed arrays in its payload and answers the report and the artifact. It is never queued on
 * its own; the `model.train` handler hands it to the pool, which terminates the thread on cancel.
 */
export const modelFitThread: JobDefinition<FitInput, FitOutput> = {
  kind: MODEL_FIT_KIND,
  // Never enqueued: the payload comes from loadTrainingData in the worker, not from a client.
  payload: Type.Unknown(),
  thread: true,
  async handler(payload, ctx) {
    const started = performance.now();
    let lastSent = 0;
    const progress = (p: FitProgress) => {
      const now = performance.now();
      if (now - lastSent < PROGRESS_EVERY_MS && p.iteration !== p.of) return;
      lastSent = now;
      const elapsedMs = Math.round(now - started);
      const share = p.iteration !== undefined && p.of ? p.iteration / p.of : null;
      const etaMs = share && share > 0 ? Math.round((elapsedMs / share) * (1 - share)) : null;
      const data: FitProgressData = { ...p, elapsedMs, etaMs };
      ctx.progress(10 + 80 * (share ?? 0), `${p.phase} ${p.algorithm}`, data);
    };
    const opts = { seed: payload.seed, signal: ctx.signal, progress };
    try {
      const out =
        payload.kind === 'tabular'
          ? await (await import('./ml/tabular/train.js')).trainTabular(payload.input, opts)
          : await (await import('./ml/forecast/train.js')).trainForecast(payload.input, opts);
      return { ...out, trainingMs: Math.round(performance.now() - started) };
    } catch (e) {
      // Input the user must fix fails the job for good, with the pointer into the training request.
      if (e instanceof TrainingInputError)
        throw new JobFailure('model_input_invalid', e.message, false, [{ pointer: e.pointer, message: e.message }]);
      throw e;
    }
  },
};
