import { didYouMean, nearMatches } from '../../suggest.js';
import { quoteForMessage } from './errors.js';

// The hints live in src/suggest.ts, shared with the other domains; re-exported for the pipeline code that uses them.
export { didYouMean, nearMatches };

/** `no column named 'tmep'; did you mean 'temp'?`: what a step field or an analytics parameter naming no column is told. */
export function noSuchColumn(name: string, columns: Iterable<string>): string {
  const hint = didYouMean(nearMatches(name, columns), quoteForMessage);
  return `no column named ${quoteForMessage(name)}${hint ? `; ${hint}` : ''}`;
}
