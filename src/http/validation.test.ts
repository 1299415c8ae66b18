import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { schemaController } from './validation.js';

describe('schemaController (schemas compiled on first use)', () => {
  it('validates strictly in bodies, coerces query strings and serializes responses by their schema', async () => {
    const app = Fastify({ schemaController: schemaController() });
    app.post(
      '/things',
      {
        schema: {
          querystring: {
            type: 'object',
            properties: { limit: { type: 'integer' }, tag: { type: 'array', items: { type: 'string' } } },
          },
          body: {
            type: 'object',
            required: ['name'],
            additionalProperties: false,
            properties: { name: { type: 'string' }, tags: { type: 'array', items: { type: 'string' } } },
          },
          response: { 200: { type: 'object', properties: { limit: { type: 'integer' }, tag: { type: 'array' } } } },
        },
      },
      async (request) => ({ ...(request.query as object), secret: 'not in the schema' }),
    );
    try {
      // Twice each: the first call compiles, the second uses what it compiled.
      for (let i = 0; i < 2; i++) {
        const ok = await app.inject({ method: 'POST', url: '/things?limit=5&tag=x', payload: { name: 'a' } });
        expect(ok.statusCode).toBe(200);
        expect(ok.json()).toEqual({ limit: 5, tag: ['x'] });

        const bad = await app.inject({ method: 'POST', url: '/things', payload: { tags: 'x', extra: 1 } });
        expect(bad.statusCode).toBe(400);
        const message = (bad.json() as { message: string }).message;
        expect(message).toContain("must have required property 'name'");
        expect(message).toContain('must NOT have additional properties');
        expect(message).toContain('must be array');
      }
    } finally {
      await app.close();
    }
  });
});
