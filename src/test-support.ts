import { AppError } from './errors.js';

/** TEST ONLY: the AppError `fn` throws (anything else it throws is rethrown; not throwing fails the test). */
export function rejection(fn: () => unknown): AppError {
  try {
    fn();
  } catch (e) {
    if (e instanceof AppError) return e;
    throw e;
  }
  throw new Error('expected a rejection');
}
