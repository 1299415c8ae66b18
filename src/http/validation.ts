import AjvCompiler from '@fastify/ajv-compiler';
import { SerializerSelector } from '@fastify/fast-json-stringify-compiler';
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

type Validate = ((...args: unknown[]) => unknown) & { errors?: unknown };
type Serialize = (doc: unknown) => string;

/**
 * Route schemas are compiled on their route's first request, not at start-up: compiling the validators and
 * response serializers of every route up front took most of `weir serve`'s start-up time (about 1 s of CPU) and
 * kept code in memory for routes an instance may never serve. A route's first request pays its own compilation
 * (milliseconds); an invalid schema fails that route's requests (500) rather than start-up (TypeBox types them).
 */
export function schemaController(): NonNullable<FastifyServerOptions['schemaController']> {
  const factory = AjvCompiler();
  const serializerFactory = SerializerSelector();
  return {
    compilersFactory: {
      buildValidator(externalSchemas: unknown, ajvServerOption: unknown) {
        const plugins = (ajvServerOption as { plugins?: unknown[] } | undefined)?.plugins ?? [];
        const ajv = (coerceTypes: false | 'array') =>
          factory(externalSchemas as never, { customOptions: { ...BASE, coerceTypes }, plugins } as never);
        let strict: ReturnType<typeof ajv> | undefined;
        let coercing: ReturnType<typeof ajv> | undefined;
        return (route: { httpPart?: string }) =>
          onFirstCallValidator(() =>
            route.httpPart === 'body'
              ? (strict ??= ajv(false))(route as never)
              : (coercing ??= ajv('array'))(route as never),
          );
      },
      buildSerializer(externalSchemas: unknown, serializerOpts: unknown) {
        let compile: ReturnType<typeof serializerFactory> | undefined;
        return (route: unknown) => {
          let serialize: Serialize | undefined;
          return (doc: unknown) =>
            (serialize ??= (compile ??= serializerFactory(externalSchemas as never, serializerOpts as never))(
              route as never,
            ))(doc);
        };
      },
    },
  } as NonNullable<FastifyServerOptions['schemaController']>;
}

/** A validator compiled on its first call; Ajv reports errors through the function's own `errors`, copied here. */
function onFirstCallValidator(compile: () => unknown): Validate {
  let validate: Validate | undefined;
  const first: Validate = (...args: unknown[]) => {
    validate ??= compile() as Validate;
    const result = validate(...args);
    first.errors = validate.errors;
    return result;
  };
  return first;
}
