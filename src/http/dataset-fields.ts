/**
 * Where a route's request names a dataset, read from its schema: every string whose pattern is a dataset id
 * (`^ds_…`), as a pointer into the request (`/params/id`, `/body/definition/output/datasetId`; `*` stands for any
 * array index or map key). app.ts holds these against the route's `config.datasets` declaration, so a route that
 * could write to a dataset a client names cannot be registered without saying what it does with it.
 */

/** The request parts of a Fastify route schema, and where they sit in a request pointer. */
const PARTS = { params: '/params', querystring: '/query', body: '/body', headers: '/headers' } as const;

type Schema = Record<string, unknown>;

/** `resolve` answers a schema registered with addSchema by its `$id`, or undefined. */
export function datasetIdFields(
  schema: Partial<Record<keyof typeof PARTS, unknown>> | undefined,
  resolve: (id: string) => unknown,
): string[] {
  const found = new Set<string>();
  const visit = (node: unknown, pointer: string, seen: ReadonlySet<string>): void => {
    if (!isSchema(node)) return;
    if (typeof node.$ref === 'string') {
      // A reference to a registered schema (`PipelineDefinition`), followed once per path: a schema that contains
      // itself is reported at its first level only. Local `#/…` references name nothing registered.
      const id = node.$ref.split('#')[0]!;
      if (id !== '' && !seen.has(id)) visit(resolve(id), pointer, new Set([...seen, id]));
    }
    if (typeof node.pattern === 'string' && node.pattern.startsWith('^ds_')) found.add(pointer);
    if (isSchema(node.properties))
      for (const [key, child] of Object.entries(node.properties)) visit(child, `${pointer}/${key}`, seen);
    const patterned = isSchema(node.patternProperties) ? Object.values(node.patternProperties) : [];
    for (const child of [node.items, node.additionalProperties, ...patterned].flat())
      visit(child, `${pointer}/*`, seen);
    for (const key of ['anyOf', 'oneOf', 'allOf'] as const)
      if (Array.isArray(node[key])) for (const child of node[key]) visit(child, pointer, seen);
  };
  for (const [part, prefix] of Object.entries(PARTS)) visit(schema?.[part as keyof typeof PARTS], prefix, new Set());
  return [...found];
}

function isSchema(v: unknown): v is Schema {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
