/**
 * The syntax tree of a pipeline expression. Every node keeps `offset`, the 0-based UTF-16 index in the source
 * where it starts, so later stages (type checking) can point at the exact spot of a problem.
 */

export type ArithmeticOp = '+' | '-' | '*' | '/' | '%';
/** `!=` is read as `<>`. */
export type ComparisonOp = '=' | '<>' | '<' | '<=' | '>' | '>=';
export type BinaryOp = ArithmeticOp | ComparisonOp | '||' | 'and' | 'or';

interface At {
  offset: number;
}

/** Integers that fit a signed 64-bit integer are exact (`bigint` beyond 2^53); anything else is a double. */
export interface NumberLiteral extends At {
  kind: 'number';
  value: number | bigint;
  integer: boolean;
}
export interface TextLiteral extends At {
  kind: 'text';
  value: string;
}
export interface BooleanLiteral extends At {
  kind: 'boolean';
  value: boolean;
}
export interface NullLiteral extends At {
  kind: 'null';
}
export interface ColumnRef extends At {
  kind: 'column';
  name: string;
}
/** `$name`: a value of the template's parameters, bound at compile time. */
export interface VariableRef extends At {
  kind: 'variable';
  name: string;
}
export interface Unary extends At {
  kind: 'unary';
  op: '-' | 'not';
  operand: Expr;
}
export interface Binary extends At {
  kind: 'binary';
  op: BinaryOp;
  /** Where the operator itself is. */
  opOffset: number;
  left: Expr;
  right: Expr;
}
export interface IsNull extends At {
  kind: 'isNull';
  negated: boolean;
  opOffset: number;
  operand: Expr;
}
export interface InList extends At {
  kind: 'in';
  negated: boolean;
  opOffset: number;
  operand: Expr;
  items: Expr[];
}
export interface Between extends At {
  kind: 'between';
  negated: boolean;
  opOffset: number;
  operand: Expr;
  low: Expr;
  high: Expr;
}
export interface Like extends At {
  kind: 'like';
  negated: boolean;
  caseInsensitive: boolean;
  opOffset: number;
  operand: Expr;
  pattern: Expr;
}
export interface Case extends At {
  kind: 'case';
  whens: { when: Expr; then: Expr }[];
  else: Expr | null;
}
export interface Call extends At {
  kind: 'call';
  /** Lower-cased: function names are case-insensitive. */
  name: string;
  args: Expr[];
}

export type Expr =
  | NumberLiteral
  | TextLiteral
  | BooleanLiteral
  | NullLiteral
  | ColumnRef
  | VariableRef
  | Unary
  | Binary
  | IsNull
  | InList
  | Between
  | Like
  | Case
  | Call;

/** The direct sub-expressions of a node, in source order. */
export function children(node: Expr): Expr[] {
  switch (node.kind) {
    case 'unary':
    case 'isNull':
      return [node.operand];
    case 'binary':
      return [node.left, node.right];
    case 'in':
      return [node.operand, ...node.items];
    case 'between':
      return [node.operand, node.low, node.high];
    case 'like':
      return [node.operand, node.pattern];
    case 'case':
      return [...node.whens.flatMap((w) => [w.when, w.then]), ...(node.else ? [node.else] : [])];
    case 'call':
      return node.args;
    default:
      return [];
  }
}
