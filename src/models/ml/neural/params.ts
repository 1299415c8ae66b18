/**
 * Validation of algorithm hyper-parameters (FitOptions.params): unknown keys are refused and every value is checked
 * against its range, so a typo fails the training request instead of being silently ignored.
 */

import { TrainingInputError } from '../errors.js';

/**
 * A hyper-parameter the user must fix; `pointer` is a JSON pointer into the request (e.g. /params/epochs). It is a
 * TrainingInputError, so training answers it as the user's mistake (400 with the pointer), never as a failure.
 */
export class InvalidParamError extends TrainingInputError {
  constructor(pointer: string, message: string) {
    super(pointer, message);
    this.name = 'InvalidParamError';
  }
}

export interface IntSpec {
  kind: 'int';
  min: number;
  max: number;
}
export interface NumberSpec {
  kind: 'number';
  min: number;
  max: number;
}
export interface IntListSpec {
  kind: 'ints';
  min: number;
  max: number;
  maxLength: number;
}
export interface ChoiceSpec {
  kind: 'choice';
  values: readonly string[];
}
export type ParamSpec = IntSpec | NumberSpec | IntListSpec | ChoiceSpec;

type ValueOf<S extends ParamSpec> = S extends IntListSpec ? number[] : S extends ChoiceSpec ? string : number;

/** Returns the given params checked against `specs`, without defaults: absent keys stay absent. */
export function readParams<S extends Record<string, ParamSpec>>(
  params: Record<string, unknown> | undefined,
  specs: S,
): Partial<{ [K in keyof S]: ValueOf<S[K]> }> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(params ?? {})) {
    const spec = specs[key];
    const pointer = `/params/${key}`;
    if (!spec)
      throw new InvalidParamError(pointer, `unknown parameter '${key}'; known: ${Object.keys(specs).join(', ')}`);
    if (value === undefined || value === null) continue;
    out[key] = readValue(pointer, value, spec);
  }
  return out as Partial<{ [K in keyof S]: ValueOf<S[K]> }>;
}

function readValue(pointer: string, value: unknown, spec: ParamSpec): unknown {
  switch (spec.kind) {
    case 'int':
    case 'number': {
      const ok =
        typeof value === 'number' && Number.isFinite(value) && (spec.kind === 'number' || Number.isInteger(value));
      if (!ok || value < spec.min || value > spec.max) {
        throw new InvalidParamError(
          pointer,
          `must be ${spec.kind === 'int' ? 'an integer' : 'a number'} in [${spec.min}, ${spec.max}]`,
        );
      }
      return value;
    }
    case 'ints': {
      if (!Array.isArray(value) || value.length > spec.maxLength) {
        throw new InvalidParamError(pointer, `must be an array of at most ${spec.maxLength} integers`);
      }
      return value.map((v: unknown, i) =>
        readValue(`${pointer}/${i}`, v, { kind: 'int', min: spec.min, max: spec.max }),
      );
    }
    case 'choice':
      if (typeof value !== 'string' || !spec.values.includes(value)) {
        throw new InvalidParamError(pointer, `must be one of ${spec.values.join(', ')}`);
      }
      return value;
  }
}
