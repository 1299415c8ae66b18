import { Type, type Static } from 'typebox';

/** RFC 9457 problem details, as every error response of Weir carries them. */
export const ProblemSchema = Type.Object(
  {
    type: Type.String({ description: 'URI identifying the problem type: urn:weir:problem:<code>' }),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    code: Type.String({
      description: 'Stable machine-readable error code; docs/api.md lists each with its HTTP status',
    }),
    errors: Type.Array(
      Type.Object(
        {
          pointer: Type.String(),
          message: Type.String(),
          line: Type.Optional(Type.Integer()),
          row: Type.Optional(Type.Integer()),
        },
        { additionalProperties: true },
      ),
    ),
    requestId: Type.String(),
  },
  { $id: 'Problem', additionalProperties: true, description: 'RFC 9457 problem details (application/problem+json)' },
);
export type Problem = Static<typeof ProblemSchema>;

export const problemType = (code: string): string => `urn:weir:problem:${code}`;

/**
 * The error responses every route may give, added to each operation of the OpenAPI document. They are not put
 * in the route schemas themselves: the error handler serializes problems itself, and Fastify would otherwise
 * compile two unused serializers per route at start-up.
 */
export const problemResponses = {
  '4xx': { description: 'Client error', content: { 'application/problem+json': { schema: { $ref: 'Problem#' } } } },
  '5xx': { description: 'Server error', content: { 'application/problem+json': { schema: { $ref: 'Problem#' } } } },
};
