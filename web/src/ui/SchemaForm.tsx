import { createContext, useContext, useEffect, useId, useMemo, useState, type ReactNode } from 'react';
import {
  emptyOf,
  escapePointer,
  fieldPointers,
  humanize,
  initialValue,
  isObject,
  kindOf,
  placeErrors,
  singular,
  variantIndex,
  variantLabel,
  type JsonSchema,
} from './json-schema';
import { Button } from './controls';
import './schema-form.css';

/**
 * A form generated from a JSON schema: one control per property (text, number, checkbox, choice), lists of values
 * or of sub-forms, nested objects, maps (key → value) and unions (pick a variant, then its form). Labels come from
 * titles or property names, hints from descriptions; required fields are marked. It edits a plain JSON value and
 * never invents one: an emptied optional field is removed, so what is sent is what the person wrote.
 *
 * Errors are API field errors with JSON pointers relative to the value (`/by/0/column`): each is shown at the field
 * it names, or at the nearest enclosing one the form shows.
 */
export interface SchemaFormProps {
  schema: JsonSchema;
  value: unknown;
  onChange: (value: unknown) => void;
  errors?: readonly { pointer: string; message: string }[];
  /** Values to offer in a text field (e.g. the column names a step can use), by its schema and pointer. */
  suggest?: (schema: JsonSchema, pointer: string) => readonly string[] | undefined;
  /** Makes the generated ids unique when several forms share a page. */
  idPrefix?: string;
  /** The label of a root value that is not an object (a list of parameters). */
  label?: string;
  /**
   * A Weir template's parameters: a single-value field may then take `{ "$param": name }` instead of a value, chosen
   * beside the field from the parameters whose values fit it (the server substitutes it at preview and run time).
   */
  parameters?: readonly FormParameter[];
}

interface FormContext {
  errorAt: (pointer: string) => string | undefined;
  parameters: readonly FormParameter[];
  suggest: SchemaFormProps['suggest'];
  id: (pointer: string) => string;
}

const Context = createContext<FormContext | null>(null);
const NO_PARAMETERS: readonly FormParameter[] = [];

export interface FormParameter {
  name: string;
  /** The JSON type of its values: it is offered to fields of that type (an integer to number fields too). */
  type: 'string' | 'number' | 'integer' | 'boolean';
}

/** The parameters whose values a field of `schema` accepts. */
function parametersFor(schema: JsonSchema, parameters: readonly FormParameter[]): FormParameter[] {
  const k = kindOf(schema);
  const wanted =
    k.kind === 'choice'
      ? 'string'
      : k.kind === 'number'
        ? ['number', 'integer']
        : k.kind === 'integer'
          ? 'integer'
          : k.kind;
  return parameters.filter((p) => (Array.isArray(wanted) ? wanted.includes(p.type) : p.type === wanted));
}

function useForm(): FormContext {
  const form = useContext(Context);
  if (!form) throw new Error('a schema field outside SchemaForm');
  return form;
}

export function SchemaForm({
  schema,
  value,
  onChange,
  errors = [],
  suggest,
  idPrefix,
  label = 'Value',
  parameters = NO_PARAMETERS,
}: SchemaFormProps) {
  const generated = useId();
  const prefix = idPrefix ?? generated;
  const placed = useMemo(() => placeErrors(errors, fieldPointers(schema, value)), [errors, schema, value]);
  const form = useMemo<FormContext>(
    () => ({
      errorAt: (pointer) => placed.get(pointer),
      parameters,
      suggest,
      id: (pointer) => `${prefix}-f${pointer.replace(/[^A-Za-z0-9_-]/g, (c) => `_${c.charCodeAt(0)}`)}`,
    }),
    [placed, suggest, prefix, parameters],
  );
  const k = kindOf(schema);
  // A root that is not an object shows its own error, as any field does.
  const rootError = k.kind === 'object' ? placed.get('') : undefined;
  return (
    <Context.Provider value={form}>
      <div className="schema-form">
        {rootError && (
          <p className="danger-text" role="alert">
            {rootError}
          </p>
        )}
        {k.kind === 'object' ? (
          <ObjectFields
            schema={schema}
            value={value}
            onChange={onChange}
            pointer=""
            properties={k.properties}
            requiredNames={k.required}
          />
        ) : (
          <SchemaField schema={schema} value={value} onChange={onChange} pointer="" label={label} required />
        )}
      </div>
    </Context.Provider>
  );
}

interface FieldProps {
  schema: JsonSchema;
  value: unknown;
  onChange: (value: unknown) => void;
  pointer: string;
  label: string;
  required?: boolean;
}

const SINGLE_VALUE = new Set(['string', 'number', 'integer', 'boolean', 'choice']);

/** One value of any kind, with its label, hint, required marker and error. */
export function SchemaField(props: FieldProps) {
  const form = useForm();
  if (SINGLE_VALUE.has(kindOf(props.schema).kind)) {
    const fitting = parametersFor(props.schema, form.parameters);
    // A field already holding a parameter keeps its selector, even if the parameter's type has changed since.
    if (fitting.length > 0 || parameterOf(props.value) !== null)
      return <ParameterizedField {...props} parameters={fitting} />;
  }
  return <PlainField {...props} />;
}

/** `{ "$param": name }`: the name, or null for any other value. */
function parameterOf(value: unknown): string | null {
  return isObject(value) && typeof value.$param === 'string' && Object.keys(value).length === 1 ? value.$param : null;
}

/** A single value, or a template parameter standing for it. */
function ParameterizedField({ parameters, ...props }: FieldProps & { parameters: readonly FormParameter[] }) {
  const { value, onChange, pointer, label } = props;
  const form = useForm();
  const parameter = parameterOf(value);
  return (
    <div className="schema-form-param">
      {parameter === null ? (
        <PlainField {...props} />
      ) : (
        <Frame {...props} id={form.id(pointer)}>
          {(aria) => <input {...aria} className="input" readOnly value={`$${parameter}`} />}
        </Frame>
      )}
      <select
        className="input schema-form-source"
        aria-label={`${label}: a value or a parameter`}
        value={parameter ?? ''}
        onChange={(e) => onChange(e.target.value ? { $param: e.target.value } : undefined)}
      >
        <option value="">a value</option>
        {parameter !== null && !parameters.some((p) => p.name === parameter) && (
          <option value={parameter}>${parameter}</option>
        )}
        {parameters.map(({ name }) => (
          <option key={name} value={name}>
            ${name}
          </option>
        ))}
      </select>
    </div>
  );
}

function PlainField(props: FieldProps) {
  const { schema, value, onChange, pointer, required } = props;
  const form = useForm();
  const k = kindOf(schema);
  switch (k.kind) {
    case 'hidden':
      return null;
    case 'object':
      return (
        <Group {...props}>
          <ObjectFields
            schema={schema}
            value={value}
            onChange={onChange}
            pointer={pointer}
            properties={k.properties}
            requiredNames={k.required}
          />
        </Group>
      );
    case 'map':
      return (
        <Group {...props}>
          <MapEntries {...props} values={k.values} />
        </Group>
      );
    case 'array':
      return (
        <Group {...props}>
          <ArrayItems {...props} items={k.items} />
        </Group>
      );
    case 'union':
      return <UnionField {...props} variants={k.variants} />;
    case 'boolean':
      return <CheckboxField {...props} />;
    case 'choice':
      return (
        <Frame {...props} id={form.id(pointer)}>
          {(aria) => (
            <select
              {...aria}
              className="input"
              value={k.options.findIndex((o) => o === value)}
              onChange={(e) => {
                const i = Number(e.target.value);
                onChange(i < 0 ? undefined : k.options[i]);
              }}
            >
              {(!required || value === undefined) && <option value={-1}>{required ? 'Choose…' : '(default)'}</option>}
              {k.options.map((o, i) => (
                <option key={String(o)} value={i}>
                  {String(o)}
                </option>
              ))}
            </select>
          )}
        </Frame>
      );
    case 'number':
    case 'integer':
      return (
        <Frame {...props} id={form.id(pointer)}>
          {(aria) => (
            <input
              {...aria}
              className="input"
              type="number"
              step={k.kind === 'integer' ? 1 : 'any'}
              min={schema.minimum}
              max={schema.maximum}
              placeholder={schema.default !== undefined ? String(schema.default) : undefined}
              value={typeof value === 'number' ? value : ''}
              onChange={(e) => onChange(e.target.value === '' ? undefined : e.target.valueAsNumber)}
            />
          )}
        </Frame>
      );
    case 'string':
      return <TextInput {...props} />;
    case 'json':
      return <JsonInput {...props} />;
  }
}

type AriaProps = {
  id: string;
  'aria-invalid'?: true;
  'aria-describedby'?: string;
  'aria-required'?: true;
};

/** Label, control, hint and error of a single control, wired for screen readers. */
function Frame({
  id,
  label,
  required,
  schema,
  pointer,
  children,
}: FieldProps & { id: string; children: (aria: AriaProps) => ReactNode }) {
  const form = useForm();
  const error = form.errorAt(pointer);
  const hint = schema.description;
  const describedBy = [hint && `${id}-hint`, error && `${id}-error`].filter(Boolean).join(' ') || undefined;
  return (
    <div className="field">
      <label htmlFor={id}>
        {label}
        {required && <RequiredMark />}
      </label>
      {children({
        id,
        ...(error ? { 'aria-invalid': true } : {}),
        ...(describedBy ? { 'aria-describedby': describedBy } : {}),
        ...(required ? { 'aria-required': true } : {}),
      })}
      {hint && (
        <span className="hint" id={`${id}-hint`}>
          {hint}
        </span>
      )}
      {error && <FieldErrorText id={`${id}-error`} message={error} />}
    </div>
  );
}

function RequiredMark() {
  return (
    <span className="required-mark" aria-hidden="true" title="required">
      {' *'}
    </span>
  );
}

function FieldErrorText({ id, message }: { id: string; message: string }) {
  return (
    <span className="error" id={id} role="alert">
      {message}
    </span>
  );
}

function TextInput(props: FieldProps) {
  const { schema, value, onChange, pointer, required } = props;
  const form = useForm();
  const id = form.id(pointer);
  const suggestions = form.suggest?.(schema, pointer);
  const long = (schema.maxLength ?? 0) > 1024;
  // A required text keeps '' (the API says what is missing); an optional one emptied is left out.
  const set = (text: string) => onChange(text === '' && !required ? undefined : text);
  return (
    <Frame {...props} id={id}>
      {(aria) =>
        long ? (
          <textarea
            {...aria}
            className="input schema-form-code"
            rows={2}
            spellCheck={false}
            value={typeof value === 'string' ? value : ''}
            onChange={(e) => set(e.target.value)}
          />
        ) : (
          <>
            <input
              {...aria}
              className="input"
              type="text"
              autoComplete="off"
              spellCheck={false}
              list={suggestions?.length ? `${id}-list` : undefined}
              placeholder={typeof schema.default === 'string' ? schema.default : undefined}
              value={typeof value === 'string' ? value : ''}
              onChange={(e) => set(e.target.value)}
            />
            <Suggestions id={`${id}-list`} values={suggestions} />
          </>
        )
      }
    </Frame>
  );
}

function CheckboxField({ schema, value, onChange, pointer, label, required }: FieldProps) {
  const form = useForm();
  const id = form.id(pointer);
  const error = form.errorAt(pointer);
  const hint = schema.description;
  return (
    <div className="field">
      <span className="schema-form-check">
        <input
          id={id}
          type="checkbox"
          checked={value === true}
          aria-invalid={error ? true : undefined}
          aria-describedby={[hint && `${id}-hint`, error && `${id}-error`].filter(Boolean).join(' ') || undefined}
          onChange={(e) => onChange(e.target.checked ? true : required ? false : undefined)}
        />
        <label htmlFor={id}>
          {label}
          {required && <RequiredMark />}
        </label>
      </span>
      {hint && (
        <span className="hint" id={`${id}-hint`}>
          {hint}
        </span>
      )}
      {error && <FieldErrorText id={`${id}-error`} message={error} />}
    </div>
  );
}

/** A value the subset does not describe, edited as JSON text; kept as text until it parses. */
function JsonInput(props: FieldProps) {
  const { value, onChange, pointer } = props;
  const form = useForm();
  const [text, setText] = useState(() => (value === undefined ? '' : JSON.stringify(value)));
  const [bad, setBad] = useState(false);
  return (
    <Frame {...props} id={form.id(pointer)}>
      {(aria) => (
        <>
          <input
            {...aria}
            className="input schema-form-code"
            value={text}
            onChange={(e) => {
              setText(e.target.value);
              if (e.target.value.trim() === '') {
                setBad(false);
                onChange(undefined);
                return;
              }
              try {
                onChange(JSON.parse(e.target.value));
                setBad(false);
              } catch {
                setBad(true);
              }
            }}
          />
          {bad && <span className="hint">Not JSON yet: the last valid value is kept.</span>}
        </>
      )}
    </Frame>
  );
}

/** A fieldset for a value made of parts (object, list, map), with its legend, hint and error. */
function Group({ schema, pointer, label, required, children }: FieldProps & { children: ReactNode }) {
  const form = useForm();
  const error = form.errorAt(pointer);
  const id = form.id(pointer);
  return (
    <fieldset className="schema-form-group" aria-describedby={error ? `${id}-error` : undefined}>
      <legend>
        {label}
        {required && <RequiredMark />}
      </legend>
      {schema.description && <p className="hint">{schema.description}</p>}
      {error && <FieldErrorText id={`${id}-error`} message={error} />}
      {children}
    </fieldset>
  );
}

function ObjectFields({
  value,
  onChange,
  pointer,
  properties,
  requiredNames,
}: Omit<FieldProps, 'label' | 'required'> & {
  properties: Record<string, JsonSchema>;
  requiredNames: ReadonlySet<string>;
}) {
  const object = isObject(value) ? value : {};
  const set = (name: string, next: unknown) => {
    const copy = { ...object };
    if (next === undefined) delete copy[name];
    else copy[name] = next;
    onChange(copy);
  };
  return (
    <div className="schema-form-fields">
      {Object.entries(properties).map(([name, property]) => (
        <SchemaField
          key={name}
          schema={property}
          value={object[name]}
          onChange={(next) => set(name, next)}
          pointer={`${pointer}/${escapePointer(name)}`}
          label={property.title ?? humanize(name)}
          required={requiredNames.has(name)}
        />
      ))}
    </div>
  );
}

/** A list: each item its own field (or sub-form), movable and removable; "Add" appends an empty one. */
function ArrayItems({ schema, value, onChange, pointer, label, items }: FieldProps & { items: JsonSchema }) {
  const list = Array.isArray(value) ? (value as unknown[]) : [];
  const itemLabel = items.title ?? singular(label);
  const set = (next: unknown[]) => onChange(next.length === 0 && (schema.minItems ?? 0) === 0 ? undefined : next);
  const full = schema.maxItems !== undefined && list.length >= schema.maxItems;
  const itemKind = kindOf(items).kind;
  const compound = itemKind === 'object' || itemKind === 'map' || itemKind === 'union' || itemKind === 'array';
  return (
    <div className="stack schema-form-list">
      {list.map((item, i) => (
        <div key={i} className={compound ? 'schema-form-item schema-form-item-compound' : 'schema-form-item'}>
          <div className="schema-form-item-body">
            <SchemaField
              schema={items}
              value={item}
              onChange={(next) => set(list.map((v, j) => (j === i ? next : v)))}
              pointer={`${pointer}/${i}`}
              label={`${itemLabel} ${i + 1}`}
            />
          </div>
          <div className="schema-form-item-actions">
            {list.length > 1 && i > 0 && (
              <Button
                small
                variant="ghost"
                aria-label={`Move ${itemLabel.toLowerCase()} ${i + 1} up`}
                onClick={() => set(swap(list, i, i - 1))}
              >
                ↑
              </Button>
            )}
            <Button
              small
              variant="ghost"
              aria-label={`Remove ${itemLabel.toLowerCase()} ${i + 1}`}
              onClick={() => set(list.filter((_, j) => j !== i))}
            >
              ✕
            </Button>
          </div>
        </div>
      ))}
      <div>
        <Button small disabled={full} onClick={() => set([...list, emptyOf(items)])}>
          Add {itemLabel.toLowerCase()}
        </Button>
      </div>
    </div>
  );
}

function swap<T>(list: readonly T[], a: number, b: number): T[] {
  const copy = [...list];
  [copy[a], copy[b]] = [copy[b]!, copy[a]!];
  return copy;
}

/**
 * Key → value entries (a rename's old → new names, a cast's column → type). Entries are held as a list while they
 * are edited, so a key being typed (or briefly equal to another) does not lose an entry.
 */
function MapEntries({ schema, value, onChange, pointer, label, values }: FieldProps & { values: JsonSchema }) {
  const form = useForm();
  const keySchema: JsonSchema = schema.propertyNames ?? {
    type: 'string',
    pattern: Object.keys(schema.patternProperties ?? {})[0],
  };
  const keySuggestions = form.suggest?.(keySchema, pointer);
  const object = isObject(value) ? value : {};
  const [entries, setEntries] = useState<[string, unknown][]>(() => Object.entries(object));
  const serialized = JSON.stringify(object);
  // A value changed from outside (another version loaded) replaces the entries being edited.
  useEffect(() => {
    setEntries((current) =>
      JSON.stringify(Object.fromEntries(current)) === serialized ? current : Object.entries(object),
    );
    // `object` is what `serialized` says: the effect depends on the content, not the identity.
  }, [serialized]);
  const set = (next: [string, unknown][]) => {
    setEntries(next);
    onChange(next.length === 0 ? undefined : Object.fromEntries(next));
  };
  const entryLabel = singular(label);
  const keyLabel = (i: number) => `${entryLabel} ${i + 1} ${values.title ? 'key' : 'name'}`;
  return (
    <div className="stack schema-form-list">
      {entries.map(([key, v], i) => {
        const keyId = form.id(`${pointer}/~key${i}`);
        return (
          <div key={i} className="schema-form-item schema-form-entry">
            <div className="field">
              <label htmlFor={keyId}>{keyLabel(i)}</label>
              <input
                id={keyId}
                className="input"
                type="text"
                autoComplete="off"
                spellCheck={false}
                list={keySuggestions?.length ? `${keyId}-list` : undefined}
                value={key}
                onChange={(e) => set(entries.map((entry, j) => (j === i ? [e.target.value, entry[1]] : entry)))}
              />
              <Suggestions id={`${keyId}-list`} values={keySuggestions} />
            </div>
            <div className="schema-form-item-body">
              <SchemaField
                schema={values}
                value={v}
                onChange={(next) => set(entries.map((entry, j) => (j === i ? [entry[0], next] : entry)))}
                pointer={`${pointer}/${escapePointer(key)}`}
                label={values.title ?? `${entryLabel} ${i + 1} value`}
                required
              />
            </div>
            <div className="schema-form-item-actions">
              <Button
                small
                variant="ghost"
                aria-label={`Remove ${entryLabel.toLowerCase()} ${i + 1}`}
                onClick={() => set(entries.filter((_, j) => j !== i))}
              >
                ✕
              </Button>
            </div>
          </div>
        );
      })}
      <div>
        <Button
          small
          disabled={entries.some(([key]) => key === '')}
          onClick={() => set([...entries, ['', emptyOf(values)]])}
        >
          Add {entryLabel.toLowerCase()}
        </Button>
      </div>
    </div>
  );
}

function Suggestions({ id, values }: { id: string; values: readonly string[] | undefined }) {
  if (!values?.length) return null;
  return (
    <datalist id={id}>
      {values.map((s) => (
        <option key={s} value={s} />
      ))}
    </datalist>
  );
}

/** One of several shapes (a join key: one name, or a left and a right column): pick the shape, then fill it in. */
function UnionField(props: FieldProps & { variants: JsonSchema[] }) {
  const { value, onChange, pointer, label, required, variants } = props;
  const form = useForm();
  // A variant picked before its value is written (a number not typed yet) is remembered here.
  const [picked, setPicked] = useState(0);
  const chosen = value === undefined ? picked : variantIndex(variants, value);
  const variant = variants[chosen] ?? {};
  const id = form.id(`${pointer}/~variant`);
  return (
    <div className="schema-form-union">
      <div className="field">
        <label htmlFor={id}>
          {label}: kind
          {required && <RequiredMark />}
        </label>
        <select
          id={id}
          className="input"
          value={chosen}
          onChange={(e) => {
            const next = variants[Number(e.target.value)] ?? {};
            setPicked(Number(e.target.value));
            onChange(initialValue(next) ?? emptyOf(next));
          }}
        >
          {variants.map((v, i) => (
            <option key={i} value={i}>
              {variantLabel(v)}
            </option>
          ))}
        </select>
      </div>
      <SchemaField
        schema={{ ...variant, description: variant.description ?? props.schema.description }}
        value={value}
        onChange={onChange}
        pointer={pointer}
        label={label}
        required={required}
      />
    </div>
  );
}
