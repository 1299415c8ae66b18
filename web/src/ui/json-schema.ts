/**
 * The subset of JSON Schema that Weir's APIs describe their inputs with (TypeBox output: pipeline steps, template
 * parameters), and what a form needs to know about a schema: which kind of control it becomes, its label, its
 * default value, and the JSON pointers a form renders (so an API error's pointer can be placed at its field).
 */
export interface JsonSchema {
  type?: string | string[];
  title?: string;
  description?: string;
  default?: unknown;
  const?: unknown;
  enum?: readonly unknown[];
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  properties?: Record<string, JsonSchema>;
  required?: readonly string[];
  patternProperties?: Record<string, JsonSchema>;
  additionalProperties?: boolean | JsonSchema;
  propertyNames?: JsonSchema;
  items?: JsonSchema;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  pattern?: string;
}

export type SchemaKind =
  | { kind: 'hidden' }
  | { kind: 'choice'; options: readonly unknown[] }
  | { kind: 'union'; variants: JsonSchema[] }
  | { kind: 'object'; properties: Record<string, JsonSchema>; required: ReadonlySet<string> }
  | { kind: 'map'; values: JsonSchema }
  | { kind: 'array'; items: JsonSchema }
  | { kind: 'string' | 'number' | 'integer' | 'boolean' }
  | { kind: 'json' };

/** What control a schema becomes. Anything this subset does not describe is edited as JSON text. */
export function kindOf(schema: JsonSchema): SchemaKind {
  if (schema.const !== undefined) return { kind: 'hidden' };
  if (schema.enum) return { kind: 'choice', options: schema.enum };
  const variants = schema.anyOf ?? schema.oneOf;
  if (variants) {
    // TypeBox writes a union of literals as anyOf of consts: a choice, not a union of forms.
    if (variants.every((v) => v.const !== undefined)) return { kind: 'choice', options: variants.map((v) => v.const) };
    return { kind: 'union', variants };
  }
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== 'null') : schema.type;
  switch (type) {
    case 'object':
      if (schema.properties)
        return { kind: 'object', properties: schema.properties, required: new Set(schema.required ?? []) };
      {
        const values =
          Object.values(schema.patternProperties ?? {})[0] ??
          (typeof schema.additionalProperties === 'object' ? schema.additionalProperties : undefined);
        return values ? { kind: 'map', values } : { kind: 'json' };
      }
    case 'array':
      return schema.items ? { kind: 'array', items: schema.items } : { kind: 'json' };
    case 'string':
    case 'number':
    case 'integer':
    case 'boolean':
      return { kind: type };
    default:
      return { kind: 'json' };
  }
}

/** "orderBy" → "Order by", "drop_nulls" → "Drop nulls": a label for a property that has no title. */
export function humanize(name: string): string {
  const words = name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/[_-]+/g, ' ')
    .trim()
    .toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** "Columns" → "Column", for the label of one item of a list. */
export function singular(label: string): string {
  return label.length > 3 && label.endsWith('s') && !label.endsWith('ss') ? label.slice(0, -1) : label;
}

/** The value a new field starts with: its default, its constant, and for an object its required parts. */
export function initialValue(schema: JsonSchema): unknown {
  if (schema.default !== undefined) return structuredClone(schema.default);
  if (schema.const !== undefined) return schema.const;
  const k = kindOf(schema);
  if (k.kind === 'object') {
    const out: Record<string, unknown> = {};
    for (const [name, property] of Object.entries(k.properties)) {
      if (!k.required.has(name) && property.default === undefined) continue;
      const value = initialValue(property);
      if (value !== undefined) out[name] = value;
    }
    return out;
  }
  if (k.kind === 'array' && (schema.minItems ?? 0) > 0) return [initialValue(k.items) ?? emptyOf(k.items)];
  return undefined;
}

/** An empty value of the schema's shape, for a new list item. */
export function emptyOf(schema: JsonSchema): unknown {
  const k = kindOf(schema);
  if (k.kind === 'object' || k.kind === 'map') return initialValue(schema) ?? {};
  if (k.kind === 'array') return [];
  if (k.kind === 'string') return '';
  if (k.kind === 'choice') return k.options[0];
  if (k.kind === 'union') return emptyOf(k.variants[0] ?? {});
  return initialValue(schema);
}

/** Whether `value` has the shape of `schema`'s type (how a union picks the variant a value belongs to). */
export function fits(schema: JsonSchema, value: unknown): boolean {
  const k = kindOf(schema);
  switch (k.kind) {
    case 'hidden':
      return value === schema.const;
    case 'choice':
      return k.options.includes(value);
    case 'union':
      return k.variants.some((v) => fits(v, value));
    case 'object':
    case 'map':
      return typeof value === 'object' && value !== null && !Array.isArray(value);
    case 'array':
      return Array.isArray(value);
    case 'string':
      return typeof value === 'string';
    case 'number':
      return typeof value === 'number';
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value);
    case 'boolean':
      return typeof value === 'boolean';
    case 'json':
      return true;
  }
}

/** The variant of a union `value` belongs to (the first that fits; the first one for a value not set yet). */
export function variantIndex(variants: JsonSchema[], value: unknown): number {
  if (value === undefined) return 0;
  const i = variants.findIndex((v) => fits(v, value));
  return i < 0 ? 0 : i;
}

/** A short name for a variant: its title, else what it is ("Text", "Number", "Left and right"). */
export function variantLabel(schema: JsonSchema): string {
  if (schema.title) return schema.title;
  const k = kindOf(schema);
  if (k.kind === 'object') {
    const names = Object.keys(k.properties).map((n) => humanize(n).toLowerCase());
    const listed = names.length > 1 ? `${names.slice(0, -1).join(', ')} and ${names.at(-1)}` : (names[0] ?? '');
    return listed.charAt(0).toUpperCase() + listed.slice(1);
  }
  const named: Record<string, string> = {
    string: 'Text',
    number: 'Number',
    integer: 'Whole number',
    boolean: 'True or false',
    array: 'List',
    map: 'Entries',
  };
  return named[k.kind] ?? humanize(k.kind);
}

export const escapePointer = (segment: string): string => segment.replaceAll('~', '~0').replaceAll('/', '~1');

/** Every JSON pointer (relative to the value) at which a form for `schema` shows a field, for `value` as it is. */
export function fieldPointers(schema: JsonSchema, value: unknown, at = ''): string[] {
  const k = kindOf(schema);
  const own = [at];
  switch (k.kind) {
    case 'hidden':
      return [];
    case 'object': {
      const object = isObject(value) ? value : {};
      const children = Object.entries(k.properties).flatMap(([name, property]) =>
        fieldPointers(property, object[name], `${at}/${escapePointer(name)}`),
      );
      return [...own, ...children];
    }
    case 'map':
      return [
        ...own,
        ...Object.entries(isObject(value) ? value : {}).flatMap(([key, v]) =>
          fieldPointers(k.values, v, `${at}/${escapePointer(key)}`),
        ),
      ];
    case 'array':
      return [
        ...own,
        ...(Array.isArray(value) ? value : []).flatMap((item, i) => fieldPointers(k.items, item, `${at}/${i}`)),
      ];
    case 'union':
      return [...own, ...fieldPointers(k.variants[variantIndex(k.variants, value)] ?? {}, value, at).slice(1)];
    default:
      return own;
  }
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Puts each error at the nearest field the form shows: the pointer itself, else its closest ancestor (an error
 * about `/by/3` when the list shows two items lands on the list). Several errors at one field are joined.
 */
export function placeErrors(
  errors: readonly { pointer: string; message: string }[],
  pointers: readonly string[],
): Map<string, string> {
  const shown = new Set(pointers);
  const placed = new Map<string, string>();
  for (const error of errors) {
    let at = error.pointer;
    while (at !== '' && !shown.has(at)) at = at.slice(0, Math.max(0, at.lastIndexOf('/')));
    const before = placed.get(at);
    placed.set(at, before ? `${before}; ${error.message}` : error.message);
  }
  return placed;
}
