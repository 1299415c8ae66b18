/**
 * Parser of the pipeline expression language (filter and derive steps, the analytics query endpoint).
 *
 * Grammar, lowest precedence first (keywords are case-insensitive; `[ ]` optional, `( )*` repeated):
 *
 *   expression     := or
 *   or             := and ( 'or' and )*
 *   and            := not ( 'and' not )*
 *   not            := 'not' not | is
 *   is             := comparison ( 'is' [ 'not' ] 'null' )*
 *   comparison     := predicate [ ( '=' | '!=' | '<>' | '<' | '<=' | '>' | '>=' ) predicate ]   -- no chaining: a < b < c is an error
 *   predicate      := concat [ [ 'not' ] ( 'in' '(' expression ( ',' expression )* ')'
 *                                        | 'between' concat 'and' concat
 *                                        | ( 'like' | 'ilike' ) concat ) ]
 *   concat         := additive ( '||' additive )*
 *   additive       := multiplicative ( ( '+' | '-' ) multiplicative )*
 *   multiplicative := unary ( ( '*' | '/' | '%' ) unary )*
 *   unary          := '-' unary | primary
 *   primary        := number | text | 'true' | 'false' | 'null'
 *                   | name '(' [ expression ( ',' expression )* ] ')'                 -- function call
 *                   | name | quoted                                                 -- column reference
 *                   | variable                                                      -- template parameter
 *                   | '(' expression ')'
 *                   | 'case' ( 'when' expression 'then' expression )+ [ 'else' expression ] 'end'
 *
 * Tokens: number := digits [ '.' digits ] [ ( 'e' | 'E' ) [ '+' | '-' ] digits ] (also '.' digits ...);
 * text := "'" any characters, '' for a quote "'"; name := [A-Za-z_][A-Za-z0-9_]* that is not a keyword;
 * quoted := '`' any characters, `` for a backquote '`' (for names with spaces, dots, keywords, unicode);
 * variable := '$' [A-Za-z_][A-Za-z0-9_]* (a template parameter, keywords allowed: `$end`).
 * Whitespace is space, tab, CR, LF. Comments (`--`, `/*`), double quotes, `;` and every other character are errors.
 *
 * The precedence follows PostgreSQL/DuckDB, so an expression means here what it would mean in SQL. Left-associative
 * operators: or, and, ||, + -, * / %. Binary operators build left-deep trees; `-` before a number literal is folded
 * into the literal. Limits (EXPR_LIMITS): 10,000 characters, 1,000 nodes, and 64 levels of nesting, counted twice:
 * syntactically (parentheses, calls, case, in-lists, unary operators: bounds this parser's recursion before any node
 * exists) and in the tree, where each operator of a chain like `a + b + c` is a level but a chain of `and` (or of
 * `or`) is one. The tree depth bounds DuckDB: binding a 500-deep chain of `+` or `||` takes it seconds (measured with
 * DuckDB 1.5: 5 s), while `and`/`or` chains it flattens itself. Errors are ExprErrors carrying the 0-based offset of
 * the offending token. Spellings of other SQL dialects (CAST, `::`, IF(), DATE '…', IS TRUE, …) are refused with the
 * spelling to use here (sql-habits.ts).
 */
import { children, type BinaryOp, type ComparisonOp, type Expr, type NumberLiteral } from './ast.js';
import { DEFAULT_POINTER, EXPR_LIMITS, ExprError, quoteForMessage } from './errors.js';
import { tokenize, type Token } from './lexer.js';
import { callHabit, isForeignCall, typedLiteralHabit, wordHint } from './sql-habits.js';

export interface ParseOptions {
  /** JSON pointer of the expression in the request, for `errors[]`. */
  pointer?: string;
}

const COMPARISONS: Readonly<Record<string, ComparisonOp>> = {
  '=': '=',
  '!=': '<>',
  '<>': '<>',
  '<': '<',
  '<=': '<=',
  '>': '>',
  '>=': '>=',
};
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

export function parseExpression(source: string, options: ParseOptions = {}): Expr {
  return new Parser(source, tokenize(source, options.pointer), options.pointer ?? DEFAULT_POINTER).parse();
}

/** A number literal's value: exact integers within int64 (number when safe, else bigint), otherwise a double. */
export function numberValue(
  digits: string,
  negative: boolean,
): { value: number | bigint; integer: boolean } | undefined {
  if (/^\d+$/.test(digits)) {
    const n = negative ? -BigInt(digits) : BigInt(digits);
    if (n >= INT64_MIN && n <= INT64_MAX) {
      return {
        value: n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n,
        integer: true,
      };
    }
  }
  const value = Number(digits) * (negative ? -1 : 1);
  return Number.isFinite(value) ? { value, integer: false } : undefined;
}

function describe(token: Token): string {
  switch (token.kind) {
    case 'eof':
      return 'end of expression';
    case 'number':
      return `number ${token.raw.length > 40 ? `${token.raw.slice(0, 40)}…` : token.raw}`;
    case 'text':
      return `text ${quoteForMessage(token.value)}`;
    case 'quoted':
      return `column ${quoteForMessage(token.value)}`;
    case 'variable':
      return `parameter ${quoteForMessage(`$${token.value}`)}`;
    default:
      return `'${token.raw}'`;
  }
}

class Parser {
  private position = 0;
  private depth = 0;
  private nodes = 0;
  /** Tree depth of each node built so far (see the limits above). */
  private readonly depths = new WeakMap<Expr, number>();

  constructor(
    private readonly source: string,
    private readonly tokens: Token[],
    private readonly pointer: string,
  ) {}

  parse(): Expr {
    const expr = this.expression();
    const next = this.peek();
    if (next.kind === 'op' && next.value in COMPARISONS)
      this.fail('comparisons cannot be chained', next.offset, "combine them with 'and'");
    if (next.kind !== 'eof') this.unexpected(next, 'an operator or the end of the expression');
    return expr;
  }

  private expression(): Expr {
    return this.or();
  }

  private or(): Expr {
    let left = this.and();
    while (this.isKeyword('or')) {
      const op = this.next();
      left = this.binary('or', op, left, this.and());
    }
    return left;
  }

  private and(): Expr {
    let left = this.not();
    while (this.isKeyword('and')) {
      const op = this.next();
      left = this.binary('and', op, left, this.not());
    }
    return left;
  }

  private not(): Expr {
    if (!this.isKeyword('not')) return this.is();
    const op = this.next();
    return this.nested(op, () => this.node({ kind: 'unary', op: 'not', operand: this.not(), offset: op.offset }));
  }

  private is(): Expr {
    let operand = this.comparison();
    while (this.isKeyword('is')) {
      const op = this.next();
      const negated = this.isKeyword('not');
      if (negated) this.next();
      const what = this.peek();
      if (what.kind === 'keyword' && (what.value === 'true' || what.value === 'false')) {
        this.fail(
          `unexpected ${describe(what)}`,
          what.offset,
          "'is' tests only for null: compare with = true or = false",
        );
      }
      this.expectKeyword('null');
      operand = this.node({ kind: 'isNull', negated, operand, opOffset: op.offset, offset: operand.offset });
    }
    return operand;
  }

  private comparison(): Expr {
    const left = this.predicate();
    const token = this.peek();
    const op = token.kind === 'op' ? COMPARISONS[token.value] : undefined;
    if (op === undefined) return left;
    this.next();
    return this.binary(op, token, left, this.predicate());
  }

  private predicate(): Expr {
    const operand = this.concat();
    const start = this.peek();
    const negated = this.isKeyword('not');
    const keyword = negated ? this.peek(1) : start;
    if (keyword.kind !== 'keyword' || !['in', 'between', 'like', 'ilike'].includes(keyword.value)) {
      if (negated && keyword.kind === 'keyword' && keyword.value === 'null')
        this.fail(`unexpected ${describe(keyword)}`, keyword.offset, "write 'is not null'");
      if (negated) this.unexpected(keyword, "'in', 'between', 'like' or 'ilike' after 'not'");
      return operand;
    }
    if (negated) this.next();
    this.next();
    const common = { negated, operand, opOffset: start.offset, offset: operand.offset };
    switch (keyword.value) {
      case 'in':
        return this.nested(keyword, () => {
          this.expectOp('(', "'(' after 'in'");
          const items = [this.expression()];
          while (this.isOp(',')) {
            this.next();
            items.push(this.expression());
          }
          this.expectOp(')', "',' or ')'");
          return this.node({ kind: 'in', ...common, items });
        });
      case 'between': {
        const low = this.concat();
        this.expectKeyword('and');
        return this.node({ kind: 'between', ...common, low, high: this.concat() });
      }
      default:
        return this.node({
          kind: 'like',
          ...common,
          caseInsensitive: keyword.value === 'ilike',
          pattern: this.concat(),
        });
    }
  }

  private concat(): Expr {
    let left = this.additive();
    while (this.isOp('||')) {
      const op = this.next();
      left = this.binary('||', op, left, this.additive());
    }
    return left;
  }

  private additive(): Expr {
    let left = this.multiplicative();
    while (this.isOp('+') || this.isOp('-')) {
      const op = this.next();
      left = this.binary(op.value as BinaryOp, op, left, this.multiplicative());
    }
    return left;
  }

  private multiplicative(): Expr {
    let left = this.unary();
    while (this.isOp('*') || this.isOp('/') || this.isOp('%')) {
      const op = this.next();
      left = this.binary(op.value as BinaryOp, op, left, this.unary());
    }
    return left;
  }

  private unary(): Expr {
    if (!this.isOp('-')) return this.primary();
    const op = this.next();
    const operand = this.peek();
    if (operand.kind === 'number') {
      this.next();
      return this.number(operand, true, op.offset);
    }
    return this.nested(op, () => this.node({ kind: 'unary', op: '-', operand: this.unary(), offset: op.offset }));
  }

  private primary(): Expr {
    const token = this.peek();
    switch (token.kind) {
      case 'number':
        this.next();
        return this.number(token, false, token.offset);
      case 'text':
        this.next();
        return this.node({ kind: 'text', value: token.value, offset: token.offset });
      case 'quoted':
        this.next();
        return this.node({ kind: 'column', name: token.value, offset: token.offset });
      case 'variable':
        this.next();
        return this.node({ kind: 'variable', name: token.value, offset: token.offset });
      case 'ident':
        this.next();
        return this.isOp('(')
          ? this.call(token)
          : this.node({ kind: 'column', name: token.value, offset: token.offset });
      case 'keyword':
        if (token.value === 'true' || token.value === 'false') {
          this.next();
          return this.node({ kind: 'boolean', value: token.value === 'true', offset: token.offset });
        }
        if (token.value === 'null') {
          this.next();
          return this.node({ kind: 'null', offset: token.offset });
        }
        if (token.value === 'case') return this.caseExpression();
        break;
      case 'op':
        if (token.value === '(') {
          this.next();
          return this.nested(token, () => {
            const inner = this.expression();
            this.expectOp(')', "')'");
            return inner;
          });
        }
        break;
      default:
        break;
    }
    return this.unexpected(token, 'an expression');
  }

  private call(name: Token): Expr {
    if (isForeignCall(name.value)) {
      const habit = this.foreignCall(name);
      if (habit) this.fail(habit.reason, name.offset, habit.hint);
    }
    return this.nested(name, () => {
      this.next();
      const args: Expr[] = [];
      if (!this.isOp(')')) {
        args.push(this.expression());
        while (this.isOp(',')) {
          this.next();
          args.push(this.expression());
        }
      }
      this.expectOp(')', "',' or ')'");
      return this.node({ kind: 'call', name: name.value.toLowerCase(), args, offset: name.offset });
    });
  }

  private caseExpression(): Expr {
    const start = this.next();
    const first = this.peek();
    if (!this.isKeyword('when') && first.kind !== 'eof') {
      this.fail(
        `unexpected ${describe(first)}`,
        first.offset,
        "expected 'when': write each test out in full, as in case when x = 1 then 'a' when x = 2 then 'b' end",
      );
    }
    return this.nested(start, () => {
      const whens: { when: Expr; then: Expr }[] = [];
      do {
        this.expectKeyword('when');
        const when = this.expression();
        this.expectKeyword('then');
        whens.push({ when, then: this.expression() });
      } while (this.isKeyword('when'));
      let otherwise: Expr | null = null;
      if (this.isKeyword('else')) {
        this.next();
        otherwise = this.expression();
      }
      this.expectKeyword('end');
      return this.node({ kind: 'case', whens, else: otherwise, offset: start.offset });
    });
  }

  private number(token: Token, negative: boolean, offset: number): NumberLiteral {
    const parsed = numberValue(token.value, negative);
    if (parsed === undefined) this.fail('number out of range', token.offset);
    return this.node({ kind: 'number', ...parsed, offset });
  }

  private binary(op: BinaryOp, token: Token, left: Expr, right: Expr): Expr {
    return this.node({ kind: 'binary', op, opOffset: token.offset, left, right, offset: left.offset });
  }

  /** Counts every node against the node limit and measures its depth against the depth limit. */
  private node<T extends Expr>(node: T): T {
    this.nodes++;
    if (this.nodes > EXPR_LIMITS.maxNodes)
      this.fail(`expression is too complex (more than ${EXPR_LIMITS.maxNodes} nodes)`, node.offset);
    const flat = (child: Expr) =>
      node.kind === 'binary' &&
      (node.op === 'and' || node.op === 'or') &&
      child.kind === 'binary' &&
      child.op === node.op;
    // Leaves are level 0, so 64 nested calls or a chain of 64 operators is the most allowed, as for the syntax.
    const levels = children(node).map((child) => (this.depths.get(child) ?? 0) - (flat(child) ? 1 : 0));
    const depth = levels.length === 0 ? 0 : 1 + Math.max(...levels);
    if (depth > EXPR_LIMITS.maxDepth) {
      this.fail(
        `expression is nested deeper than ${EXPR_LIMITS.maxDepth} levels`,
        'opOffset' in node ? node.opOffset : node.offset,
        'split long chains of operators, or use in (…) for many alternatives',
      );
    }
    this.depths.set(node, depth);
    return node;
  }

  /** Runs one level of syntactic nesting; the depth limit also bounds this parser's recursion. */
  private nested<T>(at: Token, parse: () => T): T {
    this.depth++;
    if (this.depth > EXPR_LIMITS.maxDepth)
      this.fail(`expression is nested deeper than ${EXPR_LIMITS.maxDepth} levels`, at.offset);
    const result = parse();
    this.depth--;
    return result;
  }

  private peek(ahead = 0): Token {
    return this.tokens[Math.min(this.position + ahead, this.tokens.length - 1)] as Token;
  }

  private next(): Token {
    const token = this.peek();
    if (token.kind !== 'eof') this.position++;
    return token;
  }

  private isKeyword(word: string): boolean {
    const t = this.peek();
    return t.kind === 'keyword' && t.value === word;
  }

  private isOp(op: string): boolean {
    const t = this.peek();
    return t.kind === 'op' && t.value === op;
  }

  private expectKeyword(word: string): void {
    if (!this.isKeyword(word)) this.unexpected(this.peek(), `'${word}'`);
    this.next();
  }

  private expectOp(op: string, expected: string): void {
    if (!this.isOp(op)) this.unexpected(this.peek(), expected);
    this.next();
  }

  private unexpected(token: Token, expected: string): never {
    const previous = this.tokens[this.tokens.indexOf(token) - 1];
    if (previous?.kind === 'ident' && (token.kind === 'text' || token.kind === 'number')) {
      const typed = typedLiteralHabit(previous.raw, { raw: token.raw, text: token.kind === 'text' });
      if (typed) this.fail(typed.reason, previous.offset, typed.hint);
    }
    const habit = token.kind === 'ident' ? wordHint(token.value) : undefined;
    return this.fail(`unexpected ${describe(token)}`, token.offset, habit ?? `expected ${expected}`);
  }

  /**
   * A call spelt as in another SQL dialect (`CAST(x AS INT)`, `ifnull(a, b)`, `count(*)`), read ahead without
   * parsing its arguments, which may not parse (`AS`, `FROM`, `*`). `this.peek()` is the call's '('.
   */
  private foreignCall(name: Token): ReturnType<typeof callHabit> {
    const open = this.position;
    let depth = 0;
    let as: number | undefined;
    let comma: number | undefined;
    let close: number | undefined;
    for (let i = open + 1; i < this.tokens.length && close === undefined; i++) {
      const t = this.tokens[i] as Token;
      if (t.kind === 'op' && t.value === '(') depth++;
      else if (t.kind === 'op' && t.value === ')') {
        if (depth === 0) close = i;
        depth--;
      } else if (depth === 0 && as === undefined && t.kind === 'ident' && t.value.toLowerCase() === 'as') as = i;
      else if (depth === 0 && comma === undefined && t.kind === 'op' && t.value === ',') comma = i;
    }
    const end = this.tokens[as ?? comma ?? close ?? this.tokens.length - 1] as Token;
    const operand = this.source.slice((this.tokens[open] as Token).offset + 1, end.offset).trim();
    const type = as === undefined ? undefined : this.tokens[as + 1];
    return callHabit(name.value, type?.kind === 'ident' ? type.value : undefined, operand === '' ? undefined : operand);
  }

  private fail(reason: string, offset: number, hint?: string): never {
    throw new ExprError(reason, offset, this.pointer, hint);
  }
}
