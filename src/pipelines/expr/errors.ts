import { AppError } from '../../errors.js';

/**
 * The limits every expression must stay within: they bound parse time, SQL size and DuckDB's bind time (which grows
 * steeply with tree depth; see parser.ts for how depth is counted). Length is in UTF-16 code units.
 */
export const EXPR_LIMITS = { maxLength: 10_000, maxDepth: 64, maxNodes: 1_000 } as const;

export const DEFAULT_POINTER = '/expression';

/**
 * A rejected expression: 400 `validation_failed` with one `errors[]` entry at the caller's JSON pointer. The
 * message ends with `at <offset>` (0-based UTF-16 index into the source) and then, when there is one, a hint:
 * `unknown column 'nmae' at 0; did you mean 'name'?`.
 */
export class ExprError extends AppError {
  readonly offset: number;
  readonly reason: string;

  constructor(reason: string, offset: number, pointer: string = DEFAULT_POINTER, hint?: string) {
    const message = `${reason} at ${offset}${hint ? `; ${hint}` : ''}`;
    super('validation_failed', `Invalid expression: ${message}`, [{ pointer, message }], { offset });
    this.name = 'ExprError';
    this.offset = offset;
    this.reason = reason;
  }
}

/** Two lines for terminals and logs: the source line holding `offset` and a caret under it. */
export function caret(source: string, offset: number): string {
  const start = source.lastIndexOf('\n', offset - 1) + 1;
  const end = source.indexOf('\n', offset);
  const line = source.slice(start, end === -1 ? undefined : end);
  return `${line}\n${' '.repeat(Math.max(0, offset - start))}^`;
}

/** Quotes a user-supplied name for a message, shortened so a 10,000-character name does not flood the response. */
export function quoteForMessage(text: string, max = 40): string {
  const shown = text.length > max ? `${text.slice(0, max)}…` : text;
  return `'${shown}'`;
}
