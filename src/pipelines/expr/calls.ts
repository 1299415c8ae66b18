import type { Call } from './ast.js';
import type { Compiled, Compiler } from './compile.js';
import { quoteForMessage } from './errors.js';
import { FUNCTIONS, type ArgSpec, type FunctionDef } from './functions.js';
import { didYouMean, nearMatches } from './suggest.js';
import { badFormatSpecifier } from './temporal.js';
import { describeType, SQL_TYPE, type ConcreteType, type ValueType } from './types.js';

/** Checks a call against the function table and builds its SQL. */
export function compileCall(c: Compiler, node: Call): Compiled {
  const def = FUNCTIONS.get(node.name);
  if (def === undefined) {
    const hint =
      didYouMean(nearMatches(node.name, FUNCTIONS.keys()), quoteForMessage) ??
      `the functions are ${[...FUNCTIONS.keys()].join(', ')}`;
    return c.fail(`unknown function ${quoteForMessage(node.name)}`, node.offset, hint);
  }
  const n = node.args.length;
  if (n < def.min || (!def.variadic && n > def.args.length)) {
    c.fail(`${node.name}() takes ${arity(def)}, got ${n}`, node.offset, `usage: ${def.usage}`);
  }

  const args: Compiled[] = [];
  const types: ValueType[] = [];
  node.args.forEach((arg, i) => {
    const spec = def.args[Math.min(i, def.args.length - 1)] as ArgSpec;
    const what = `argument ${i + 1} of ${node.name}()`;
    const literal = (kind: string): string => {
      if (arg.kind !== 'text')
        return c.fail(`${what} must be ${kind} written as text in quotes`, arg.offset, `usage: ${def.usage}`);
      return arg.value;
    };
    let item: Compiled;
    let type: ValueType;
    switch (spec.kind) {
      case 'unit': {
        const value = literal('a unit').toLowerCase();
        if (!spec.units.includes(value))
          c.fail(`${what} must be one of ${spec.units.map((u) => `'${u}'`).join(', ')}`, arg.offset);
        item = { node: arg, type: 'text', sql: c.param(value, 'VARCHAR').sql };
        type = 'text';
        break;
      }
      case 'format': {
        const format = literal('a strftime format');
        const bad = badFormatSpecifier(format);
        if (bad !== undefined)
          c.fail(
            `${what} uses ${quoteForMessage(bad)}, which strftime does not support`,
            arg.offset,
            "use specifiers such as %Y %m %d %H %M %S, and %% for '%'",
          );
        item = { node: arg, type: 'text', sql: c.param(format, 'VARCHAR').sql };
        type = 'text';
        break;
      }
      case 'digits': {
        if (arg.kind !== 'number' || !arg.integer || Number(arg.value) < -38 || Number(arg.value) > 38) {
          c.fail(
            `${what} must be a whole number from -38 to 38 written as a literal`,
            arg.offset,
            `usage: ${def.usage}`,
          );
        }
        item = { node: arg, type: 'number', sql: c.param(Number(arg.value), 'INTEGER').sql };
        type = 'number';
        break;
      }
      case 'same':
        item = c.compile(arg);
        type = item.type;
        break;
      case 'value': {
        item = c.compile(arg);
        const wantsTime = spec.types.includes('timestamp') || spec.types.includes('date');
        if (wantsTime && !spec.types.includes('text'))
          item = c.asTemporal(item, spec.types.includes('date') ? 'date' : 'timestamp');
        c.expectType(item, spec.types, what, `usage: ${def.usage}`);
        type = item.type;
        // An untyped NULL leaves DuckDB unable to pick an overload (year(NULL)): give it the first accepted type.
        const first = spec.types[0] as ConcreteType | undefined;
        if (item.type === 'null' && first !== undefined) {
          item = { ...item, sql: `CAST(NULL AS ${SQL_TYPE[first]})` };
          type = first;
        }
        break;
      }
    }
    args.push(item);
    types.push(type);
  });

  // `same` arguments (coalesce, least, greatest, nullif) share one type, which text literals may be read as.
  const same = node.args.map((_, i) => i).filter((i) => def.args[Math.min(i, def.args.length - 1)]?.kind === 'same');
  const unified = c.unifyAll(
    same.map((i) => args[i] as Compiled),
    (item, earlier) =>
      c.fail(
        `arguments of ${node.name}() must share one type, but this one is ${describeType(item.type)} and an earlier one is ${describeType(earlier)}`,
        item.node.offset,
      ),
  );
  unified.items.forEach((item, k) => {
    const i = same[k] as number;
    args[i] = item;
    types[i] = item.type;
  });
  const sameType = unified.type;
  return {
    node,
    type: def.returns === 'same' ? sameType : def.returns,
    sql: def.sql(
      args.map((a) => a.sql),
      types,
    ),
  };
}

function arity(def: FunctionDef): string {
  const count = (k: number) => `${k} argument${k === 1 ? '' : 's'}`;
  if (def.variadic) return `at least ${count(def.min)}`;
  if (def.min === def.args.length) return count(def.min);
  return def.args.length - def.min === 1
    ? `${def.min} or ${count(def.args.length)}`
    : `${def.min} to ${count(def.args.length)}`;
}
