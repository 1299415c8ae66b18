import AjvCompiler from '@fastify/ajv-compiler';
import type { FastifyServerOptions } from 'fastify';

/**
 * Ajv settings per request part. Query strings and path parameters arrive as text, so they are coerced
 * (`?limit=5` is the integer 5, a single `?tag=x` fits an array); JSON bodies are typed already and are
 * validated strictly: `"tags": "x"` is an error, not silently ["x"]. Unknown properties are rejected, never
 * stripped, wherever a schema says additionalProperties: false.
 */
// validateSchema: false skips compiling Ajv's meta-schema per instance (about 100 ms of start-up each): route schemas
// come from TypeBox and are checked by the type system, not by users.
const BASE = { removeAdditional: false, useDefaults: true, allErrors: true, validateSchema: false } as const;

export function schemaController(): NonNullable<FastifyServerOptions['schemaController']> {
  const factory = AjvCompiler();
  return {
    compilersFactory: {
      buildValidator(externalSchemas: unknown, ajvServerOption: unknown) {
        const plugins = (ajvServerOption as { plugins?: unknown[] } | undefined)?.plugins ?? [];
        const strict = factory(
          externalSchemas as never,
          { customOptions: { ...BASE, coerceTypes: false }, plugins } as never,
        );
        const coercing = factory(
          externalSchemas as never,
          { customOptions: { ...BASE, coerceTypes: 'array' }, plugins } as never,
        );
        return (route: { httpPart?: string }) =>
          route.httpPart === 'body' ? strict(route as never) : coercing(route as never);
      },
    },
  } as NonNullable<FastifyServerOptions['schemaController']>;
}
