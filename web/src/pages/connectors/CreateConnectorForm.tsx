import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { useLocation } from 'wouter';
import { api, call } from '../../api/client';
import { ProblemError } from '../../api/problem';
import { RowsTable } from '../../ui/RowsTable';
import { Button, SelectField, TextAreaField, TextField } from '../../ui/controls';
import { ErrorState } from '../../ui/states';
import {
  CONNECTOR_TYPES,
  connectorKeys,
  type ConnectorType,
  type CreateBody,
  type TestBody,
  type TestResult,
} from './api';
import {
  createBody,
  EMPTY_FORM,
  fieldsText,
  isPolled,
  serverErrors,
  testBody,
  type FormValues,
  type LocalErrors,
} from './form';

/** The inputs each type shows, by the pointer their errors come at: errors elsewhere are the other types'. */
const INPUTS: Record<ConnectorType, string[]> = {
  thingspeak: ['/config/channelId', '/config/apiKey', '/config/results', '/config/baseUrl'],
  http: [
    '/config/url',
    '/config/recordsPath',
    '/config/fields',
    '/config/keyPath',
    '/config/cursorPath',
    '/config/authHeader',
    '/config/pagination',
  ],
  mqtt: [
    '/config/url',
    '/config/topics',
    '/config/qos',
    '/config/payload',
    '/config/keyField',
    '/config/timestampField',
    '/config/username',
    '/config/password',
  ],
  push: ['/config/keyField'],
};
const COMMON = ['/name', '/description', '/fields', '/schedule'];

/** The message for the input at `pointer`, or for anything under it (`/fields/0/name` shows at the fields). */
function errorFor(errors: LocalErrors, pointer: string): string | undefined {
  if (errors[pointer]) return errors[pointer];
  const under = Object.keys(errors).find((p) => p.startsWith(`${pointer}/`));
  return under ? `${under.slice(pointer.length + 1)}: ${errors[under]}` : undefined;
}

/**
 * Creates a connector: the type picks the source's inputs; "Test connection" (polled sources) fetches a sample
 * and shows the fields it would infer and the records, storing nothing; Create makes the connector and its live
 * dataset and opens its page (a push connector's key is handed to that page once, in the history entry's state,
 * so a reload does not show it again).
 */
export function CreateConnectorForm({ onCancel }: { onCancel: () => void }) {
  const [, navigate] = useLocation();
  const queryClient = useQueryClient();
  const [values, setValues] = useState<FormValues>(EMPTY_FORM);
  const [local, setLocal] = useState<LocalErrors>({});
  const set = <K extends keyof FormValues>(key: K, value: FormValues[K]) => setValues((v) => ({ ...v, [key]: value }));

  const test = useMutation({
    mutationFn: (body: TestBody) => call(api.POST('/api/v1/connectors/test', { body })),
  });
  const create = useMutation({
    mutationFn: (body: CreateBody) => call(api.POST('/api/v1/connectors', { body })),
    onSuccess: (created) => {
      void queryClient.invalidateQueries({ queryKey: connectorKeys.lists });
      navigate(`/connectors/${created.connector.id}`, {
        state: created.pushKey ? { pushKey: created.pushKey } : null,
      });
    },
  });

  const failed = create.error ?? test.error;
  const problem = failed instanceof ProblemError ? failed : null;
  const visible = [...COMMON, ...INPUTS[values.type]];
  const fromServer = problem ? serverErrors(problem.fieldErrors) : {};
  const errors: LocalErrors = { ...fromServer, ...local };
  const at = (pointer: string) => errorFor(errors, pointer);
  const shownAtInputs = Object.keys(errors).some((p) => visible.some((v) => p === v || p.startsWith(`${v}/`)));

  const chooseType = (type: ConnectorType) => {
    setValues((v) => ({ ...v, type, url: v.type === 'http' || v.type === 'mqtt' ? '' : v.url }));
    setLocal({});
    test.reset();
    create.reset();
  };
  const runTest = () => {
    create.reset();
    const built = testBody(values);
    if ('errors' in built) return setLocal(built.errors);
    setLocal({});
    test.mutate(built.body);
  };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    test.reset();
    const built = createBody(values);
    if ('errors' in built) return setLocal(built.errors);
    setLocal({});
    create.mutate(built.body);
  };

  const polled = isPolled(values.type);
  return (
    <form className="card stack connector-form" aria-label="Create a connector" onSubmit={submit} noValidate>
      <h2>Create a connector</h2>
      <div className="grid-2">
        <SelectField
          label="Source type"
          value={values.type}
          onChange={(e) => chooseType(e.target.value as ConnectorType)}
          options={CONNECTOR_TYPES}
        />
        <TextField
          label="Name"
          hint="Its live dataset is named after it"
          required
          value={values.name}
          onChange={(e) => set('name', e.target.value)}
          error={at('/name')}
        />
      </div>
      <fieldset className="connector-source">
        <legend>{CONNECTOR_TYPES.find((t) => t.value === values.type)?.label}</legend>
        <SourceInputs values={values} set={set} at={at} />
      </fieldset>
      <div className="grid-2">
        <TextAreaField
          label="Fields"
          hint={
            polled
              ? 'One name:type a line (double, bigint, boolean, varchar, timestamp). Empty: inferred from a sample.'
              : 'One name:type a line (double, bigint, boolean, varchar, timestamp): the columns records are typed to.'
          }
          required={!polled}
          rows={3}
          value={values.fields}
          onChange={(e) => set('fields', e.target.value)}
          error={at('/fields')}
        />
        <div className="stack">
          {polled && (
            <TextField
              label="Schedule"
              hint="A 5-field cron expression in UTC; empty: only on demand"
              value={values.schedule}
              onChange={(e) => set('schedule', e.target.value)}
              error={at('/schedule')}
            />
          )}
          <TextField
            label="Description"
            value={values.description}
            onChange={(e) => set('description', e.target.value)}
            error={at('/description')}
          />
        </div>
      </div>
      {failed && !shownAtInputs ? (
        <ErrorState error={failed} title={create.error ? 'Not created' : 'The test failed'} />
      ) : null}
      {test.data && <TestResultView result={test.data} onUseFields={(f) => set('fields', f)} />}
      <div className="row">
        {polled && (
          <Button onClick={runTest} busy={test.isPending}>
            Test connection
          </Button>
        )}
        <Button type="submit" variant="primary" busy={create.isPending}>
          Create
        </Button>
        <Button variant="ghost" onClick={onCancel}>
          Cancel
        </Button>
      </div>
    </form>
  );
}

type Setter = <K extends keyof FormValues>(key: K, value: FormValues[K]) => void;

function SourceInputs({
  values: v,
  set,
  at,
}: {
  values: FormValues;
  set: Setter;
  at: (pointer: string) => string | undefined;
}) {
  switch (v.type) {
    case 'thingspeak':
      return (
        <div className="grid-2">
          <TextField
            label="Channel id"
            inputMode="numeric"
            required
            value={v.channelId}
            onChange={(e) => set('channelId', e.target.value)}
            error={at('/config/channelId')}
          />
          <TextField
            label="Read API key"
            hint="Private channels only; stored encrypted, never shown again"
            type="password"
            autoComplete="off"
            value={v.apiKey}
            onChange={(e) => set('apiKey', e.target.value)}
            error={at('/config/apiKey')}
          />
          <TextField
            label="Entries per poll"
            hint="At most 8000"
            inputMode="numeric"
            value={v.results}
            onChange={(e) => set('results', e.target.value)}
            error={at('/config/results')}
          />
          <TextField
            label="Server"
            hint="Default https://api.thingspeak.com"
            type="url"
            value={v.baseUrl}
            onChange={(e) => set('baseUrl', e.target.value)}
            error={at('/config/baseUrl')}
          />
        </div>
      );
    case 'http':
      return (
        <div className="stack">
          <div className="grid-2">
            <TextField
              label="URL"
              hint="May hold {cursor}, replaced by the last cursor"
              type="url"
              required
              value={v.url}
              onChange={(e) => set('url', e.target.value)}
              error={at('/config/url')}
            />
            <TextField
              label="Records path"
              hint="JSON path of the records array, e.g. $.data"
              value={v.recordsPath}
              onChange={(e) => set('recordsPath', e.target.value)}
              error={at('/config/recordsPath')}
            />
          </div>
          <TextAreaField
            label="Field mapping"
            hint="One name=$.json.path:type a line; timestamps may add :iso, :epoch_s or :epoch_ms"
            rows={3}
            value={v.mappings}
            onChange={(e) => set('mappings', e.target.value)}
            error={at('/config/fields')}
          />
          <div className="grid-2">
            <TextField
              label="Key path"
              hint="A record's dedupe key"
              value={v.keyPath}
              onChange={(e) => set('keyPath', e.target.value)}
              error={at('/config/keyPath')}
            />
            <TextField
              label="Cursor path"
              hint="A record's cursor (where the next poll resumes)"
              value={v.cursorPath}
              onChange={(e) => set('cursorPath', e.target.value)}
              error={at('/config/cursorPath')}
            />
            <TextField
              label="Auth header name"
              placeholder="Authorization"
              value={v.authName}
              onChange={(e) => set('authName', e.target.value)}
              error={at('/config/authHeader')}
            />
            <TextField
              label="Auth header value"
              hint="Stored encrypted, never shown again"
              type="password"
              autoComplete="off"
              value={v.authValue}
              onChange={(e) => set('authValue', e.target.value)}
            />
            <SelectField
              label="Pagination"
              value={v.pagination}
              onChange={(e) => set('pagination', e.target.value as FormValues['pagination'])}
              error={at('/config/pagination')}
              options={[
                { value: 'none', label: 'None' },
                { value: 'link', label: 'Link header' },
                { value: 'cursor', label: 'Next cursor in the body' },
                { value: 'page', label: 'Page number' },
              ]}
            />
            {(v.pagination === 'cursor' || v.pagination === 'page') && (
              <TextField
                label="Query parameter"
                value={v.pageParam}
                onChange={(e) => set('pageParam', e.target.value)}
              />
            )}
            {v.pagination === 'cursor' && (
              <TextField
                label="Next cursor path"
                value={v.nextPath}
                onChange={(e) => set('nextPath', e.target.value)}
              />
            )}
          </div>
        </div>
      );
    case 'mqtt':
      return (
        <div className="grid-2">
          <TextField
            label="Broker URL"
            placeholder="mqtt://broker:1883"
            required
            value={v.url}
            onChange={(e) => set('url', e.target.value)}
            error={at('/config/url')}
          />
          <TextAreaField
            label="Topics"
            hint="One topic filter a line; + and # allowed"
            rows={2}
            value={v.topics}
            onChange={(e) => set('topics', e.target.value)}
            error={at('/config/topics')}
          />
          <SelectField
            label="QoS"
            value={v.qos}
            onChange={(e) => set('qos', e.target.value as FormValues['qos'])}
            options={[
              { value: '1', label: '1 (at least once, persistent session)' },
              { value: '0', label: '0 (at most once)' },
            ]}
          />
          <SelectField
            label="Payload"
            value={v.payload}
            onChange={(e) => set('payload', e.target.value as FormValues['payload'])}
            options={[
              { value: 'auto', label: 'Detect (JSON or key=value)' },
              { value: 'json', label: 'JSON' },
              { value: 'kv', label: 'key=value' },
            ]}
          />
          <TextField
            label="Key field"
            hint="Identifies a record: duplicates are dropped"
            value={v.keyField}
            onChange={(e) => set('keyField', e.target.value)}
            error={at('/config/keyField')}
          />
          <TextField
            label="Timestamp field"
            value={v.timestampField}
            onChange={(e) => set('timestampField', e.target.value)}
            error={at('/config/timestampField')}
          />
          <TextField
            label="User name"
            autoComplete="off"
            value={v.username}
            onChange={(e) => set('username', e.target.value)}
            error={at('/config/username')}
          />
          <TextField
            label="Password"
            hint="Stored encrypted, never shown again"
            type="password"
            autoComplete="off"
            value={v.password}
            onChange={(e) => set('password', e.target.value)}
            error={at('/config/password')}
          />
        </div>
      );
    case 'push':
      return (
        <div className="stack">
          <p className="muted">
            Devices send records to this connector&apos;s address with its own key (shown once, when it is created).
          </p>
          <TextField
            label="Key field"
            hint="Optional: the field that identifies a record; duplicates are dropped"
            value={v.keyField}
            onChange={(e) => set('keyField', e.target.value)}
            error={at('/config/keyField')}
          />
        </div>
      );
  }
}

function TestResultView({ result, onUseFields }: { result: TestResult; onUseFields: (text: string) => void }) {
  const names = result.fields.map((f) => f.name);
  for (const r of result.sample) for (const k of Object.keys(r)) if (!names.includes(k)) names.push(k);
  const types = new Map(result.fields.map((f) => [f.name, f.type]));
  const columns = names.map((name) => ({ name, type: types.get(name) ?? 'varchar' }));
  const rows = result.sample.map((r) => names.map((n) => (r as Record<string, unknown>)[n] ?? null));
  return (
    <section className="stack connector-test" aria-labelledby="connector-test-title">
      <h3 id="connector-test-title">
        Sample: {result.sample.length} record{result.sample.length === 1 ? '' : 's'}, nothing stored
      </h3>
      <div className="table-wrap">
        <table className="table" aria-label="Inferred fields">
          <thead>
            <tr>
              <th scope="col">Field</th>
              <th scope="col">Type</th>
            </tr>
          </thead>
          <tbody>
            {result.fields.map((f) => (
              <tr key={f.name}>
                <td>
                  <code>{f.name}</code>
                </td>
                <td>{f.type}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {result.sample.length > 0 && <RowsTable columns={columns} rows={rows} label="Sample records" />}
      {result.rejected.length > 0 && (
        <div className="state-error" role="status">
          <strong>{result.rejected.length} rejected</strong>
          <ul>
            {result.rejected.slice(0, 10).map((r, i) => (
              <li key={i}>
                {r.reason}
                {r.sample && <code> {r.sample}</code>}
              </li>
            ))}
          </ul>
        </div>
      )}
      <div className="row">
        <Button small onClick={() => onUseFields(fieldsText(result.fields))} disabled={result.fields.length === 0}>
          Use these fields
        </Button>
        {result.cursor !== null && <span className="muted">Cursor after the sample: {result.cursor}</span>}
      </div>
    </section>
  );
}
