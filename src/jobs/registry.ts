import { Compile } from 'typebox/compile';
import type { FieldError } from '../errors.js';
import type { JobDefinition } from './types.js';

/** A registered kind with its defaults filled in and its payload validator compiled once. */
export interface JobKind {
  definition: JobDefinition;
  kind: string;
  maxAttempts: number;
  timeoutMs: number;
  concurrency: number;
  backoffMs: number;
  /** Empty when the payload is valid. Pointers are relative to the payload (`/payload/ms`). */
  validate(payload: unknown): FieldError[];
}

export const JOB_DEFAULTS = { maxAttempts: 3, timeoutMs: 10 * 60_000, concurrency: 2, backoffMs: 1000 } as const;

const KIND_PATTERN = /^[a-z][a-z0-9_-]*(\.[a-z0-9_-]+)*$/;

/**
 * Every job kind of a process mapped to its payload schema and exactly one handler. Built once at start-up;
 * a duplicate kind, a missing handler or a malformed kind name stops start-up.
 */
export class JobRegistry {
  private readonly byKind = new Map<string, JobKind>();

  constructor(definitions: readonly JobDefinition[] = []) {
    for (const d of definitions) this.register(d);
  }

  register(definition: JobDefinition): void {
    const { kind } = definition;
    if (!KIND_PATTERN.test(kind) || kind.length > 64)
      throw new Error(`job kind '${kind}' is not a valid kind name (${KIND_PATTERN.source})`);
    if (this.byKind.has(kind))
      throw new Error(`job kind '${kind}' is registered twice: a kind has exactly one handler`);
    if (typeof definition.handler !== 'function') throw new Error(`job kind '${kind}' has no handler`);
    const check = Compile(definition.payload);
    this.byKind.set(kind, {
      definition,
      kind,
      maxAttempts: positive(definition.maxAttempts, JOB_DEFAULTS.maxAttempts, kind, 'maxAttempts'),
      timeoutMs: positive(definition.timeoutMs, JOB_DEFAULTS.timeoutMs, kind, 'timeoutMs'),
      concurrency: positive(definition.concurrency, JOB_DEFAULTS.concurrency, kind, 'concurrency'),
      backoffMs: definition.backoffMs ?? JOB_DEFAULTS.backoffMs,
      validate: (payload) =>
        check.Check(payload)
          ? []
          : [...check.Errors(payload)]
              .slice(0, 20)
              .map((e) => ({ pointer: `/payload${e.instancePath}`, message: e.message })),
    });
  }

  get(kind: string): JobKind | undefined {
    return this.byKind.get(kind);
  }

  all(): JobKind[] {
    return [...this.byKind.values()];
  }
}

function positive(value: number | undefined, fallback: number, kind: string, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1)
    throw new Error(`job kind '${kind}': ${name} must be a positive integer`);
  return value;
}
