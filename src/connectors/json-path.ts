/**
 * The small JSON path dialect connector mappings use: `$` (the value itself), `.key`, `[n]`, `['key']` and
 * `["key"]`, e.g. `$.data.items`, `$.rows[0]['temp °C']`. A leading `$` is optional (`data.items`). No wildcards,
 * filters or recursion: a mapping names one value, and a path that cannot be parsed is a configuration error.
 */

export type JsonPathSegment = string | number;

export class JsonPathError extends Error {
  override name = 'JsonPathError';
}

export function parseJsonPath(path: string): JsonPathSegment[] {
  const segments: JsonPathSegment[] = [];
  let i = 0;
  const fail = (what: string): never => {
    throw new JsonPathError(`JSON path '${path}': ${what} at position ${i}`);
  };
  if (path.startsWith('$')) i = 1;
  else if (path.length > 0 && path[0] !== '.' && path[0] !== '[') path = `.${path}`;
  while (i < path.length) {
    const ch = path[i];
    if (ch === '.') {
      const match = /^[^.[\]'"\s]+/.exec(path.slice(i + 1));
      if (!match) fail('a key is expected after "."');
      segments.push(match![0]);
      i += 1 + match![0].length;
    } else if (ch === '[') {
      const rest = path.slice(i + 1);
      const index = /^(\d+)\]/.exec(rest);
      const quoted = /^(['"])((?:\\.|(?!\1).)*)\1\]/.exec(rest);
      if (index) {
        segments.push(Number(index[1]));
        i += 1 + index[0].length;
      } else if (quoted) {
        segments.push(quoted[2]!.replace(/\\(.)/g, '$1'));
        i += 1 + quoted[0].length;
      } else {
        fail('an index or a quoted key is expected after "["');
      }
    } else {
      fail(`unexpected "${ch}"`);
    }
  }
  return segments;
}

/** The value at `segments` inside `root`; undefined when any step is missing or of the wrong shape. */
export function readJsonPath(root: unknown, segments: readonly JsonPathSegment[]): unknown {
  let value = root;
  for (const segment of segments) {
    if (typeof segment === 'number') {
      if (!Array.isArray(value)) return undefined;
      value = value[segment];
    } else {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
      if (!Object.hasOwn(value, segment)) return undefined;
      value = (value as Record<string, unknown>)[segment];
    }
  }
  return value;
}

/** Parses once, reads many times (a mapping is applied to every record of every page). */
export function compileJsonPath(path: string): (root: unknown) => unknown {
  const segments = parseJsonPath(path);
  return (root) => readJsonPath(root, segments);
}
