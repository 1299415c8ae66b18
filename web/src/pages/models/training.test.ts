import { describe, expect, it } from 'vitest';
import { applyProgress, NO_TRAINING } from './training';

const event = (jobId: string, extra: Record<string, unknown>) => ({
  modelId: 'mdl_1',
  jobId,
  phase: 'fitting',
  algorithm: 'gbdt',
  ...extra,
});

describe('the live training view', () => {
  it('collects train and validation loss per iteration, and starts over for a new job', () => {
    let view = applyProgress(NO_TRAINING, event('job_a', { phase: 'loading' }));
    expect(view).toEqual({ progress: event('job_a', { phase: 'loading' }), points: [] });
    view = applyProgress(view, event('job_a', { iteration: 1, of: 3, trainLoss: 0.5, validLoss: 0.6 }));
    view = applyProgress(view, event('job_a', { iteration: 2, of: 3, trainLoss: 0.25 }));
    view = applyProgress(view, event('job_a', { iteration: 2, of: 3, trainLoss: 0.2, validLoss: 0.3 }));
    expect(view.points).toEqual([
      { iteration: 1, part: 'train', loss: 0.5 },
      { iteration: 1, part: 'validation', loss: 0.6 },
      { iteration: 2, part: 'train', loss: 0.2 },
      { iteration: 2, part: 'validation', loss: 0.3 },
    ]);
    expect(view.progress).toMatchObject({ iteration: 2, of: 3 });
    view = applyProgress(view, event('job_b', { iteration: 1, trainLoss: 0.9 }));
    expect(view.points).toEqual([{ iteration: 1, part: 'train', loss: 0.9 }]);
  });
});
