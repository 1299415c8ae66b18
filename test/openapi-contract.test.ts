import { beforeAll, describe, expect, it } from 'vitest';
import { openapiDocument } from '../src/http/openapi-document.js';

/**
 * The OpenAPI document is a contract: the web dashboard's client is generated from it (openapi-typescript), and
 * names each call after its operationId. Redocly's recommended rules run over it in CI (`npm run lint:openapi`);
 * this test holds the parts a generated client depends on, and the one rule redocly.yaml turns off.
 */
interface Parameter {
  in: string;
  name: string;
  schema?: { pattern?: string };
}
interface Operation {
  operationId?: string;
  tags?: string[];
  security?: Record<string, string[]>[];
  parameters?: Parameter[];
  'x-weir-permission'?: string;
}
interface Document {
  servers?: { url: string }[];
  tags: { name: string }[];
  paths: Record<string, Record<string, Operation>>;
}

const METHODS = new Set(['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']);

/** The routes anyone may call: a change here changes who may call what (the access walk checks the rest). */
const PUBLIC_OPERATIONS = [
  'getLiveness',
  'getMetrics',
  'getReadiness',
  'getUploadCapabilities',
  'login',
  'pushConnectorRecords',
  'pushConnectorUpdate',
  'refreshSession',
];

let doc: Document;
let operations: { method: string; path: string; op: Operation; label: string }[];
beforeAll(async () => {
  doc = (await openapiDocument()) as unknown as Document;
  operations = Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([method]) => METHODS.has(method))
      .map(([method, op]) => ({ method, path, op, label: `${method.toUpperCase()} ${path}` })),
  );
});

describe('the OpenAPI document', () => {
  it('documents the API', () => {
    expect(operations.length).toBeGreaterThan(60);
  });

  it('names every operation once, in camelCase, verb first', () => {
    const missing = operations.filter(({ op }) => !op.operationId).map(({ label }) => label);
    expect(missing, 'operations without an operationId').toEqual([]);
    const ids = operations.map(({ op }) => op.operationId!);
    expect(
      ids.filter((id, i) => ids.indexOf(id) !== i),
      'operationIds used twice',
    ).toEqual([]);
    for (const { op, label } of operations) expect(op.operationId, label).toMatch(/^[a-z]+(?:[A-Z][a-z0-9]*)*$/);
  });

  it('tags every operation with a declared tag', () => {
    const declared = new Set(doc.tags.map((t) => t.name));
    for (const { op, label } of operations) {
      expect(op.tags?.length, `${label} has a tag`).toBeGreaterThan(0);
      for (const tag of op.tags!) expect(declared.has(tag), `${label}: tag ${tag} is declared`).toBe(true);
    }
  });

  it('declares security on every operation: none for public routes, the bearer scheme otherwise', () => {
    for (const { op, label } of operations) {
      expect(Array.isArray(op.security), `${label} declares security`).toBe(true);
      if (op.security!.length === 0) expect(op['x-weir-permission'], `${label} is public`).toBeUndefined();
      else {
        expect(op.security, label).toEqual([{ bearer: [] }]);
        expect(op['x-weir-permission'], `${label} names its permission`).toEqual(expect.any(String));
      }
    }
    const publicIds = operations.filter(({ op }) => op.security!.length === 0).map(({ op }) => op.operationId);
    expect(publicIds.sort()).toEqual(PUBLIC_OPERATIONS);
  });

  it('has relative servers and no trailing-slash twin of a path', () => {
    expect(doc.servers?.length).toBeGreaterThan(0);
    for (const server of doc.servers!) expect(server.url).toMatch(/^\//);
    expect(Object.keys(doc.paths).filter((p) => p !== '/' && p.endsWith('/'))).toEqual([]);
  });

  it('declares every path parameter', () => {
    for (const { path, op, label } of operations) {
      const inPath = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
      const declared = (op.parameters ?? []).filter((p) => p.in === 'path').map((p) => p.name);
      expect(declared.sort(), label).toEqual(inPath);
    }
  });

  // redocly.yaml turns no-ambiguous-paths off, as it ignores parameter patterns: this is the check it stands for.
  it('has no two paths that one URL could match, given the patterns of their parameters', () => {
    const patterns = new Map<string, Map<string, RegExp | null>>();
    for (const { path, op } of operations) {
      const known = patterns.get(path) ?? new Map<string, RegExp | null>();
      for (const p of op.parameters ?? [])
        if (p.in === 'path') known.set(p.name, p.schema?.pattern ? new RegExp(p.schema.pattern) : null);
      patterns.set(path, known);
    }
    /** Whether a path segment could be the literal segment `literal` of another path. */
    const admits = (path: string, segment: string, literal: string): boolean => {
      const name = /^\{(\w+)\}$/.exec(segment)?.[1];
      if (!name) return segment === literal;
      const pattern = patterns.get(path)?.get(name);
      return pattern ? pattern.test(literal) : true;
    };
    const isParam = (segment: string) => segment.startsWith('{');
    const paths = Object.keys(doc.paths);
    const overlapping: string[] = [];
    for (const [i, a] of paths.entries())
      for (const b of paths.slice(i + 1)) {
        const sa = a.split('/');
        const sb = b.split('/');
        if (sa.length !== sb.length) continue;
        const overlap = sa.every((x, k) => {
          const y = sb[k]!;
          if (isParam(x) && isParam(y)) return true;
          if (isParam(x)) return admits(a, x, y);
          if (isParam(y)) return admits(b, y, x);
          return x === y;
        });
        if (overlap) overlapping.push(`${a} ~ ${b}`);
      }
    expect(overlapping).toEqual([]);
  });

  it('is the same document each time it is built', async () => {
    expect(JSON.stringify(await openapiDocument())).toBe(JSON.stringify(doc));
  });
});
