import { typeFamily } from '../../engine/sql.js';

/**
 * The types the checker reasons about. `null` is the type of the literal `null` (fits anywhere); `any` is a
 * column whose DuckDB type the language has no operators for (TIME, BLOB, LIST, STRUCT…): checks pass and
 * DuckDB has the last word.
 */
export type ValueType = 'number' | 'text' | 'boolean' | 'timestamp' | 'date' | 'null' | 'any';
export type ConcreteType = Exclude<ValueType, 'null' | 'any'>;

/** The DuckDB type a value of each concrete type is cast to when the SQL must name one (literals, typed nulls). */
export const SQL_TYPE: Readonly<Record<ConcreteType, string>> = {
  number: 'DOUBLE',
  text: 'VARCHAR',
  boolean: 'BOOLEAN',
  timestamp: 'TIMESTAMPTZ',
  date: 'DATE',
};

export function columnType(duckdbType: string): ValueType {
  switch (typeFamily(duckdbType)) {
    case 'integer':
    case 'float':
    case 'decimal':
      return 'number';
    case 'text':
      return 'text';
    case 'boolean':
      return 'boolean';
    case 'timestamp':
      return 'timestamp';
    case 'date':
      return 'date';
    default:
      return 'any';
  }
}

export const isTemporal = (t: ValueType): t is 'timestamp' | 'date' => t === 'timestamp' || t === 'date';

/** Whether a value of type `actual` may stand where one of `wanted` is expected (`[]` wants every type). */
export const fits = (actual: ValueType, wanted: readonly ValueType[]): boolean =>
  actual === 'null' || actual === 'any' || wanted.length === 0 || wanted.includes(actual);

/** The common type of two values that are compared or merged, or undefined when they do not mix. Dates widen to timestamps. */
export function unify(a: ValueType, b: ValueType): ValueType | undefined {
  if (a === 'null') return b;
  if (b === 'null') return a;
  if (a === 'any' || b === 'any') return 'any';
  if (a === b) return a;
  if (isTemporal(a) && isTemporal(b)) return 'timestamp';
  return undefined;
}

/** A type as a noun for messages: "a number", "text", "true/false". */
export function describeType(t: ValueType): string {
  switch (t) {
    case 'number':
      return 'a number';
    case 'boolean':
      return 'true/false';
    case 'timestamp':
      return 'a timestamp';
    case 'date':
      return 'a date';
    case 'any':
      return 'a value of unknown type';
    default:
      return t;
  }
}
