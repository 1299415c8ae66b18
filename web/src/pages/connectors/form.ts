import type { ConnectorType, CreateBody, FieldSpec, FieldType, TestBody } from './api';

/**
 * The create form's state as typed (every input is text) and how it becomes a request body: pure, so it is tested
 * without a browser. Only what can be read off the text is checked here (a field list's syntax, a number); the
 * server checks the rest and its pointers are shown at the inputs (`pointerOf`).
 */
export interface FormValues {
  type: ConnectorType;
  name: string;
  description: string;
  schedule: string;
  /** `name:type` per line (or comma-separated); empty = inferred from a sample. */
  fields: string;
  // thingspeak
  channelId: string;
  apiKey: string;
  results: string;
  baseUrl: string;
  // http (url is mqtt's broker URL too)
  url: string;
  recordsPath: string;
  /** `name=$.path:type[:format]` per line. */
  mappings: string;
  keyPath: string;
  cursorPath: string;
  authName: string;
  authValue: string;
  pagination: 'none' | 'link' | 'cursor' | 'page';
  pageParam: string;
  nextPath: string;
  // mqtt
  topics: string;
  qos: '0' | '1';
  payload: 'auto' | 'json' | 'kv';
  username: string;
  password: string;
  timestampField: string;
  // mqtt, push
  keyField: string;
}

export const EMPTY_FORM: FormValues = {
  type: 'thingspeak',
  name: '',
  description: '',
  schedule: '*/5 * * * *',
  fields: '',
  channelId: '',
  apiKey: '',
  results: '',
  baseUrl: '',
  url: '',
  recordsPath: '$',
  mappings: '',
  keyPath: '',
  cursorPath: '',
  authName: '',
  authValue: '',
  pagination: 'none',
  pageParam: '',
  nextPath: '',
  topics: '',
  qos: '1',
  payload: 'auto',
  username: '',
  password: '',
  timestampField: '',
  keyField: '',
};

/** Polled sources run on a schedule and can be tried before they are created. */
export const isPolled = (type: ConnectorType) => type === 'thingspeak' || type === 'http';

const FIELD_TYPES = new Set<string>(['double', 'bigint', 'boolean', 'varchar', 'timestamp']);
const COLUMN = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Errors found in the text, keyed by the body pointer the server would use for them. */
export type LocalErrors = Record<string, string>;

const lines = (text: string) =>
  text
    .split(/[\n,]/)
    .map((s) => s.trim())
    .filter(Boolean);

export function parseFields(text: string): { fields: FieldSpec[] } | { error: string } {
  const fields: FieldSpec[] = [];
  for (const entry of lines(text)) {
    const m = /^(\S+?)\s*:\s*(\S+)$/.exec(entry);
    if (!m || !COLUMN.test(m[1]!))
      return { error: `"${entry}": write name:type, a name of letters, digits and _ (e.g. temp:double)` };
    if (!FIELD_TYPES.has(m[2]!)) return { error: `"${entry}": the type is one of ${[...FIELD_TYPES].join(', ')}` };
    if (fields.some((f) => f.name === m[1])) return { error: `"${m[1]}" is named twice` };
    fields.push({ name: m[1]!, type: m[2] as FieldType });
  }
  return { fields };
}

export const fieldsText = (fields: readonly FieldSpec[]) => fields.map((f) => `${f.name}:${f.type}`).join('\n');

type Mapping = { name: string; path: string; type: FieldType; format?: 'iso' | 'epoch_s' | 'epoch_ms' };

export function parseMappings(text: string): { mappings: Mapping[] } | { error: string } {
  const mappings: Mapping[] = [];
  for (const entry of text
    .split('\n')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(\$\S*?):([a-z]+)(?::(iso|epoch_s|epoch_ms))?$/.exec(entry);
    if (!m) return { error: `"${entry}": write name=$.json.path:type, e.g. temp=$.main.temp:double` };
    if (!FIELD_TYPES.has(m[3]!)) return { error: `"${entry}": the type is one of ${[...FIELD_TYPES].join(', ')}` };
    mappings.push({
      name: m[1]!,
      path: m[2]!,
      type: m[3] as FieldType,
      ...(m[4] ? { format: m[4] as Mapping['format'] } : {}),
    });
  }
  return { mappings };
}

function integer(text: string): number | undefined | typeof NaN {
  const t = text.trim();
  if (t === '') return undefined;
  return /^\d+$/.test(t) ? Number(t) : NaN;
}

/** The source config of the form's type (inputs left empty are left out: the server's defaults apply). */
export function configOf(v: FormValues): { config: Record<string, unknown>; errors: LocalErrors } {
  const errors: LocalErrors = {};
  const config: Record<string, unknown> = {};
  const text = (key: string, value: string) => {
    if (value.trim() !== '') config[key] = value.trim();
  };
  const int = (key: string, value: string) => {
    const n = integer(value);
    if (Number.isNaN(n)) errors[`/config/${key}`] = 'must be a whole number';
    else if (n !== undefined) config[key] = n;
  };
  switch (v.type) {
    case 'thingspeak':
      if (v.channelId.trim() === '') errors['/config/channelId'] = 'is required';
      int('channelId', v.channelId);
      int('results', v.results);
      text('baseUrl', v.baseUrl);
      // A secret is sent as typed: spaces may be part of it.
      if (v.apiKey !== '') config.apiKey = v.apiKey;
      break;
    case 'http': {
      text('url', v.url);
      text('recordsPath', v.recordsPath);
      const parsed = parseMappings(v.mappings);
      if ('error' in parsed) errors['/config/fields'] = parsed.error;
      else config.fields = parsed.mappings;
      text('keyPath', v.keyPath);
      text('cursorPath', v.cursorPath);
      if (v.authName.trim() !== '' || v.authValue !== '')
        config.authHeader = { name: v.authName.trim(), value: v.authValue };
      if (v.pagination === 'link') config.pagination = { kind: 'link' };
      else if (v.pagination === 'cursor')
        config.pagination = { kind: 'cursor', nextPath: v.nextPath.trim(), param: v.pageParam.trim() };
      else if (v.pagination === 'page') config.pagination = { kind: 'page', param: v.pageParam.trim() };
      break;
    }
    case 'mqtt':
      text('url', v.url);
      config.topics = lines(v.topics);
      config.qos = Number(v.qos);
      config.payload = v.payload;
      text('keyField', v.keyField);
      text('timestampField', v.timestampField);
      text('username', v.username);
      if (v.password !== '') config.password = v.password;
      break;
    case 'push':
      text('keyField', v.keyField);
      break;
  }
  return { config, errors };
}

/** The body of POST /connectors, or the errors the text already shows (keyed by pointer). */
export function createBody(v: FormValues): { body: CreateBody } | { errors: LocalErrors } {
  const { config, errors } = configOf(v);
  const parsed = parseFields(v.fields);
  if ('error' in parsed) errors['/fields'] = parsed.error;
  if (Object.keys(errors).length > 0) return { errors };
  const fields = 'fields' in parsed && parsed.fields.length > 0 ? parsed.fields : undefined;
  const body = {
    name: v.name,
    type: v.type,
    config,
    ...(v.description.trim() ? { description: v.description.trim() } : {}),
    ...(fields ? { fields } : {}),
    ...(isPolled(v.type) ? { schedule: v.schedule.trim() === '' ? null : v.schedule.trim() } : {}),
  };
  // The union's branch is chosen by `type`; the config's shape is the server's to check.
  return { body: body as CreateBody };
}

/** The body of POST /connectors/test (polled sources only). */
export function testBody(v: FormValues): { body: TestBody } | { errors: LocalErrors } {
  const { config, errors } = configOf(v);
  if (Object.keys(errors).length > 0) return { errors };
  return { body: { type: v.type, config } as TestBody };
}

/**
 * A server pointer (`/body/config/channelId`) as the form's key (`/config/channelId`). The body is a union of one
 * shape per type, so a refusal also lists what the other types' shapes would have wanted (a `type` that is not
 * theirs, their config's properties): those say nothing about the form and are dropped, keeping the first message
 * per input.
 */
export function serverErrors(errors: readonly { pointer: string; message: string }[]): LocalErrors {
  const out: LocalErrors = {};
  for (const e of errors) {
    const pointer = e.pointer.replace(/^\/body(?=\/|$)/, '');
    if (
      pointer === '/type' ||
      /must be equal to constant|is not an allowed property|must match a schema in anyOf/.test(e.message)
    )
      continue;
    if (pointer === '' || out[pointer] !== undefined) continue;
    out[pointer] = e.message;
  }
  return out;
}
