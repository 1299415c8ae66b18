import { Type } from 'typebox';

/*
 * Enums and nullable strings are written as plain JSON Schema (`enum`, `type: [..., 'null']`) rather than TypeBox
 * unions: fast-json-stringify serializes those directly, while an anyOf makes it run Ajv on every value of every
 * item of a listing.
 */
export const StringEnum = <T extends string>(values: readonly T[], options: Record<string, unknown> = {}) =>
  Type.Unsafe<T>({ type: 'string', enum: [...values], ...options });
export const NullableString = (options: Record<string, unknown> = {}) =>
  Type.Unsafe<string | null>({ type: ['string', 'null'], ...options });

/** A prefixed ULID (`ds_01J…`). */
export const Id = (prefix: string, description: string) =>
  Type.String({ pattern: `^${prefix}_[0-9A-HJKMNP-TV-Z]{26}$`, description });

/** Text without control characters (C0 and DEL), as a JSON Schema pattern: column names in step fields and analytics parameters. */
export const NO_CONTROL_CHARACTERS = '^[^\\u0000-\\u001f\\u007f]*$';

/** What a validation error says for NO_CONTROL_CHARACTERS, instead of the pattern itself. */
export const NO_CONTROL_CHARACTERS_MESSAGE = 'must not contain control characters (such as NUL, tab or a line break)';
