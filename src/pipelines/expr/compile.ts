/**
 * Type checking and SQL generation in one walk over the syntax tree. Column names reach the SQL only through
 * `ident` (quoted); every literal of the source becomes a `$n` parameter cast to its type, so the SQL text is
 * made of this file's own constants, quoted identifiers and placeholders — never of user text. Every operator
 * is parenthesized, so the SQL's structure is the tree's whatever DuckDB's precedence, and no two `-` meet.
 */
import { ident } from '../../engine/sql.js';
import type { Binary, Expr } from './ast.js';
import { compileCall } from './calls.js';
import { ExprError, quoteForMessage } from './errors.js';
import { KEYWORDS } from './lexer.js';
import { FUNCTIONS } from './functions.js';
import { valueHint } from './sql-habits.js';
import { didYouMean, nearMatches } from './suggest.js';
import { temporalLiteral } from './temporal.js';
import { describeType, fits, isTemporal, SQL_TYPE, unify, type ConcreteType, type ValueType } from './types.js';

export type ExprParam = string | number | bigint | boolean;

export interface Compiled {
  sql: string;
  type: ValueType;
  node: Expr;
  /** For a text literal: its parameter number, so a comparison can re-cast it to a date or timestamp. */
  param?: number;
}

/** A template parameter's value, already checked against the template's declared type by the caller. */
export interface ExprVariable {
  type: ConcreteType;
  value: string | number | boolean | null;
}

export interface Scope {
  /** Column name → type of the language. */
  columns: ReadonlyMap<string, ValueType>;
  /** Template parameter name (without `$`) → value; none when the expression is not part of a template. */
  variables?: ReadonlyMap<string, ExprVariable>;
}

const SQL_OPERATOR: Readonly<Record<Binary['op'], string>> = {
  '+': '+',
  '-': '-',
  '*': '*',
  '/': '/',
  '%': '%',
  '||': '||',
  '=': '=',
  '<>': '<>',
  '<': '<',
  '<=': '<=',
  '>': '>',
  '>=': '>=',
  and: 'AND',
  or: 'OR',
};

/** How a column is written in this language: bare when it can be, else backquoted. */
export function columnSyntax(name: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) && !KEYWORDS.has(name.toLowerCase())
    ? quoteForMessage(name)
    : `\`${name.replaceAll('`', '``')}\``;
}

export class Compiler {
  readonly params: ExprParam[] = [];
  /** Referenced columns in order of first use. */
  readonly referenced = new Set<string>();
  private readonly lowerCase = new Map<string, string[]>();

  constructor(
    private readonly scope: Scope,
    readonly pointer: string,
    private readonly paramOffset = 0,
  ) {
    for (const name of scope.columns.keys()) {
      const key = name.toLowerCase();
      this.lowerCase.set(key, [...(this.lowerCase.get(key) ?? []), name]);
    }
  }

  fail(reason: string, offset: number, hint?: string): never {
    throw new ExprError(reason, offset, this.pointer, hint);
  }

  /** `CAST($n AS type)`: the parameter's type is fixed by the SQL, not guessed from the JS value. */
  param(value: ExprParam, sqlType: string): { sql: string; index: number } {
    this.params.push(value);
    const index = this.paramOffset + this.params.length;
    return { sql: `CAST($${index} AS ${sqlType})`, index };
  }

  compile(node: Expr): Compiled {
    switch (node.kind) {
      case 'number': {
        // @duckdb/node-api binds an integral JS number as INTEGER/BIGINT, which fails from 2^63 on: such doubles
        // (1e20) go as their text and the SQL cast reads them back exactly.
        const value = !node.integer && Math.abs(Number(node.value)) >= 2 ** 63 ? String(node.value) : node.value;
        return { node, type: 'number', sql: this.param(value, node.integer ? 'BIGINT' : 'DOUBLE').sql };
      }
      case 'text': {
        const { sql, index } = this.param(node.value, 'VARCHAR');
        return { node, type: 'text', sql, param: index };
      }
      case 'boolean':
        return { node, type: 'boolean', sql: this.param(node.value, 'BOOLEAN').sql };
      case 'null':
        return { node, type: 'null', sql: 'NULL' };
      case 'variable':
        return this.variable(node);
      case 'column': {
        const name = this.resolveColumn(node.name, node.offset);
        this.referenced.add(name);
        return { node, type: this.scope.columns.get(name) ?? 'any', sql: ident(name) };
      }
      case 'unary': {
        const operand = this.compile(node.operand);
        if (node.op === 'not') {
          this.expectType(operand, ['boolean'], "'not'");
          return { node, type: 'boolean', sql: `(NOT ${operand.sql})` };
        }
        this.expectType(operand, ['number'], "'-'");
        return { node, type: 'number', sql: `(- ${operand.sql})` };
      }
      case 'binary':
        return this.binary(node);
      case 'isNull': {
        const operand = this.compile(node.operand);
        return { node, type: 'boolean', sql: `(${operand.sql} IS ${node.negated ? 'NOT ' : ''}NULL)` };
      }
      case 'in': {
        const [operand, ...items] = this.comparable(
          [node.operand, ...node.items].map((n) => this.compile(n)),
          node.opOffset,
        );
        return {
          node,
          type: 'boolean',
          sql: `(${operand?.sql} ${node.negated ? 'NOT IN' : 'IN'} (${items.map((i) => i.sql).join(', ')}))`,
        };
      }
      case 'between': {
        const [operand, low, high] = this.comparable(
          [node.operand, node.low, node.high].map((n) => this.compile(n)),
          node.opOffset,
        );
        return {
          node,
          type: 'boolean',
          sql: `(${operand?.sql} ${node.negated ? 'NOT BETWEEN' : 'BETWEEN'} ${low?.sql} AND ${high?.sql})`,
        };
      }
      case 'like': {
        const keyword = `${node.negated ? 'NOT ' : ''}${node.caseInsensitive ? 'ILIKE' : 'LIKE'}`;
        const operand = this.expectType(this.compile(node.operand), ['text'], `'${keyword.toLowerCase()}'`);
        const pattern = this.expectType(this.compile(node.pattern), ['text'], `'${keyword.toLowerCase()}'`);
        return { node, type: 'boolean', sql: `(${operand.sql} ${keyword} ${pattern.sql})` };
      }
      case 'case':
        return this.caseExpression(node);
      case 'call':
        return compileCall(this, node);
    }
  }

  private binary(node: Binary): Compiled {
    const left = this.compile(node.left);
    const right = this.compile(node.right);
    const op = SQL_OPERATOR[node.op];
    const sql = (l: Compiled, r: Compiled) => `(${l.sql} ${op} ${r.sql})`;
    // DuckDB follows IEEE 754 (x / 0 is ±Infinity or NaN for doubles); the language promises null, as for integers.
    const divisor = (r: Compiled): Compiled => ({ ...r, sql: `NULLIF(${r.sql}, 0)` });
    switch (node.op) {
      case 'and':
      case 'or':
        for (const side of [left, right]) this.expectType(side, ['boolean'], `'${node.op}'`);
        return { node, type: 'boolean', sql: sql(left, right) };
      case '||':
        // `||` is concatenation, as in SQL; people coming from C or JavaScript mean `or` by it.
        for (const side of [left, right])
          this.expectType(
            side,
            ['text'],
            "'||'",
            side.type === 'boolean'
              ? "for a logical or write 'or'; '||' joins text"
              : 'convert it with to_text() or use concat()',
          );
        return { node, type: 'text', sql: sql(left, right) };
      case '+':
      case '-':
      case '*':
      case '/':
      case '%':
        for (const side of [left, right]) {
          const hint =
            side.type === 'text' && node.op === '+'
              ? 'join text with || or concat()'
              : isTemporal(side.type) && node.op === '-'
                ? 'use date_diff(unit, start, end)'
                : undefined;
          this.expectType(side, ['number'], `'${node.op}'`, hint);
        }
        return { node, type: 'number', sql: sql(left, node.op === '/' || node.op === '%' ? divisor(right) : right) };
      default: {
        const [l, r] = this.comparable([left, right], node.opOffset);
        return { node, type: 'boolean', sql: sql(l as Compiled, r as Compiled) };
      }
    }
  }

  private caseExpression(node: Extract<Expr, { kind: 'case' }>): Compiled {
    const conditions: string[] = [];
    const results: Compiled[] = [];
    for (const { when, then } of node.whens) {
      conditions.push(this.expectType(this.compile(when), ['boolean'], "'when'").sql);
      results.push(this.compile(then));
    }
    if (node.else) results.push(this.compile(node.else));
    // Results are emitted after unifying, which may re-cast text literals among them to dates or timestamps.
    const { items, type } = this.unifyAll(results, (item, earlier) =>
      this.fail(
        `case results must share one type, but this one is ${describeType(item.type)} and an earlier one is ${describeType(earlier)}`,
        item.node.offset,
      ),
    );
    const whens = conditions.map((condition, i) => `WHEN ${condition} THEN ${items[i]?.sql}`);
    const otherwise = node.else ? ` ELSE ${items[conditions.length]?.sql}` : '';
    return { node, type, sql: `(CASE ${whens.join(' ')}${otherwise} END)` };
  }

  /** Items that are compared with one another (=, in, between): one common type, text literals read as dates when needed. */
  comparable(items: Compiled[], opOffset: number): Compiled[] {
    return this.unifyAll(items, (item, earlier) =>
      this.fail(
        `cannot compare ${describeType(earlier)} with ${describeType(item.type)}`,
        items.length === 2 ? opOffset : item.node.offset,
      ),
    ).items;
  }

  /**
   * Finds the common type of `items`. When the others are dates or timestamps, text literals among them are
   * checked as ISO 8601 and cast (`ts > '2024-01-31'`), so a typo is a 400 now, not a DuckDB error mid-run.
   */
  unifyAll(
    items: Compiled[],
    mismatch: (item: Compiled, earlier: ValueType) => never,
  ): { items: Compiled[]; type: ValueType } {
    let target: ValueType = 'null';
    for (const item of items) {
      if (item.param !== undefined) continue;
      const next = unify(target, item.type);
      if (next === undefined) mismatch(item, target);
      target = next;
    }
    const coerced = isTemporal(target)
      ? items.map((item) => this.asTemporal(item, target as 'timestamp' | 'date'))
      : items;
    let type: ValueType = 'null';
    for (const item of coerced) {
      const next = unify(type, item.type);
      if (next === undefined) mismatch(item, type);
      type = next;
    }
    return { items: coerced, type };
  }

  /** A text literal re-cast to a date or timestamp; other items unchanged. */
  asTemporal(item: Compiled, target: 'timestamp' | 'date'): Compiled {
    if (item.param === undefined || item.node.kind !== 'text') return item;
    const form = temporalLiteral(item.node.value);
    if (form === undefined) {
      this.fail(
        `invalid ${target} ${quoteForMessage(item.node.value)}`,
        item.node.offset,
        "write it as ISO 8601, such as '2024-01-31' or '2024-01-31T12:00:00Z'",
      );
    }
    const type = target === 'date' && form === 'date' ? 'date' : 'timestamp';
    return { node: item.node, type, sql: `CAST($${item.param} AS ${type === 'date' ? 'DATE' : 'TIMESTAMPTZ'})` };
  }

  /** Fails unless `item` fits one of `types`; returns it for chaining. */
  expectType(item: Compiled, types: readonly ValueType[], what: string, hint?: string): Compiled {
    if (!fits(item.type, types)) {
      this.fail(
        `${what} expects ${types.map(describeType).join(' or ')}, but this is ${describeType(item.type)}`,
        item.node.offset,
        hint,
      );
    }
    return item;
  }

  /**
   * `$name` as a bound placeholder of the parameter's type, like a literal of that type; a null value is a typed
   * NULL so the expression keeps its type. Dates and timestamps are checked here as literals are, so a bad value is
   * a 400 rather than a DuckDB error mid-run.
   */
  private variable(node: Extract<Expr, { kind: 'variable' }>): Compiled {
    const variables = this.scope.variables ?? new Map<string, ExprVariable>();
    const variable = variables.get(node.name);
    if (variable === undefined) {
      const hint =
        didYouMean(nearMatches(node.name, variables.keys()), (n) => quoteForMessage(`$${n}`)) ??
        (variables.size === 0 ? 'no template parameters are declared' : undefined);
      return this.fail(`unknown parameter ${quoteForMessage(`$${node.name}`)}`, node.offset, hint);
    }
    const sqlType = SQL_TYPE[variable.type];
    if (variable.value === null) return { node, type: variable.type, sql: `CAST(NULL AS ${sqlType})` };
    const fitsType =
      variable.type === 'number'
        ? typeof variable.value === 'number' && Number.isFinite(variable.value)
        : variable.type === 'boolean'
          ? typeof variable.value === 'boolean'
          : variable.type === 'text'
            ? typeof variable.value === 'string'
            : typeof variable.value === 'string' && temporalLiteral(variable.value) !== undefined;
    if (!fitsType)
      this.fail(`parameter ${quoteForMessage(`$${node.name}`)} is not ${describeType(variable.type)}`, node.offset);
    // As for number literals: integral doubles from 2^63 on cannot be bound as a JS number, so they go as text.
    const value =
      typeof variable.value === 'number' && Math.abs(variable.value) >= 2 ** 63
        ? String(variable.value)
        : variable.value;
    return { node, type: variable.type, sql: this.param(value, sqlType).sql };
  }

  private resolveColumn(name: string, offset: number): string {
    if (this.scope.columns.has(name)) return name;
    const folded = this.lowerCase.get(name.toLowerCase()) ?? [];
    if (folded.length === 1) return folded[0] as string;
    if (folded.length > 1)
      this.fail(
        `column ${quoteForMessage(name)} is ambiguous`,
        offset,
        `it matches ${folded.map(columnSyntax).join(' and ')} ignoring case`,
      );
    const hint = FUNCTIONS.has(name.toLowerCase())
      ? `to call the function write ${name}(…)`
      : (didYouMean(nearMatches(name, this.scope.columns.keys()), columnSyntax) ??
        valueHint(name) ??
        (this.scope.columns.size === 0 ? 'the data has no columns' : undefined));
    return this.fail(`unknown column ${quoteForMessage(name)}`, offset, hint);
  }
}
