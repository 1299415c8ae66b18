import { Type } from 'typebox';

/*
 * Enums and nullable strings are written as plain JSON Schema (`enum`, `type: [..., 'null']`) rather than TypeBox
 * unions: fast-json-stringify serializes those directly, while an anyOf makes it run Ajv on every value of every
 * item of a listing.
 */
export const StringEnum = <T extends string>(values: readonly T[], options: Record<string, unknown> = {}) =>
  Type.Unsafe<T>({ type: 'string', enum: [...values], ...options });
export const NullableString = (options: Record<string, unknown> = {}) => Type.Unsafe<string | null>({ type: ['string', 'null'], ...options });

/** A prefixed ULID (`ds_01J…`). */
export const Id = (prefix: string, description: string) => Type.String({ pattern: `^${prefix}_[0-9A-HJKMNP-TV-Z]{26}$`, description });
