import { describe, expect, it } from 'vitest';
import { AppError } from '../errors.js';
import type { PipelineDefinition } from './definition.js';
import { applyDefaults, applyTemplate } from './template.js';

const INPUT = { datasetId: 'ds_01J00000000000000000000000' };

const template: PipelineDefinition = {
  input: INPUT,
  parameters: [
    { name: 'minAmount', type: 'number', default: 10 },
    { name: 'region', type: 'text' },
    { name: 'groupBy', type: 'column', default: 'city' },
    { name: 'since', type: 'date', default: '2024-01-01' },
  ],
  steps: [
    { type: 'filter', expression: 'amount >= $minAmount and region = $region' },
    {
      type: 'aggregate',
      groupBy: [{ $param: 'groupBy' }],
      aggregations: [{ column: 'amount', fn: 'sum', as: 'total' }],
    },
    { type: 'filter', expression: 'day >= $since', nested: { deep: [1, { $param: 'minAmount' }] } },
  ],
};

/** The AppError thrown by `fn`, so its code and pointers can be compared exactly. */
function errorOf(fn: () => unknown): AppError {
  try {
    fn();
  } catch (e) {
    if (e instanceof AppError) return e;
    throw e;
  }
  throw new Error('expected an AppError');
}

describe('applyTemplate', () => {
  it('substitutes $param values anywhere in the steps and binds the others as typed variables', () => {
    const applied = applyTemplate(template, { region: 'north', minAmount: 25 });
    expect(applied.definition).toEqual({
      input: INPUT,
      steps: [
        { type: 'filter', expression: 'amount >= $minAmount and region = $region' },
        { type: 'aggregate', groupBy: ['city'], aggregations: [{ column: 'amount', fn: 'sum', as: 'total' }] },
        { type: 'filter', expression: 'day >= $since', nested: { deep: [1, 25] } },
      ],
    });
    expect(applied.params).toEqual({ minAmount: 25, region: 'north', groupBy: 'city', since: '2024-01-01' });
    // Column parameters are identifiers: substituted, never bound as values.
    expect(applied.variables).toEqual({
      minAmount: { type: 'number', value: 25 },
      region: { type: 'text', value: 'north' },
      since: { type: 'date', value: '2024-01-01' },
    });
  });

  it('leaves a definition without parameters as it is', () => {
    const plain: PipelineDefinition = { input: INPUT, steps: [{ type: 'select', columns: ['a'] }] };
    expect(applyTemplate(plain)).toEqual({ definition: plain, params: {}, variables: {} });
  });

  it('refuses a missing required parameter at /params/<name>', () => {
    const e = errorOf(() => applyTemplate(template, {}));
    expect(e.status).toBe(400);
    expect(e.code).toBe('validation_failed');
    expect(e.errors).toEqual([
      { pointer: '/params/region', message: "parameter 'region' is required (it has no default)" },
    ]);
  });

  it('refuses an unknown parameter name', () => {
    const e = errorOf(() => applyTemplate(template, { region: 'x', regoin: 'y' }));
    expect(e.errors).toEqual([
      {
        pointer: '/params/regoin',
        message: "no parameter named 'regoin' (declared: 'minAmount', 'region', 'groupBy', 'since')",
      },
    ]);
  });

  it.each([
    ['minAmount', '10', 'parameter \'minAmount\' must be a number, got text "10"'],
    ['region', 5, "parameter 'region' must be text, got number 5"],
    ['groupBy', '', 'parameter \'groupBy\' must be a column name, got text ""'],
    ['groupBy', null, "parameter 'groupBy' must be a column name, got null"],
    ['since', '2024-02-30', 'parameter \'since\' must be a date (YYYY-MM-DD), got text "2024-02-30"'],
    ['since', ['2024-01-01'], "parameter 'since' must be a date (YYYY-MM-DD), got a list"],
  ])('refuses %s = %j (wrong type)', (name, value, message) => {
    const e = errorOf(() => applyTemplate(template, { region: 'r', [name]: value }));
    expect(e.status).toBe(400);
    expect(e.errors).toEqual([{ pointer: `/params/${name}`, message }]);
  });

  it('checks integers, booleans and timestamps; null is SQL NULL for value parameters', () => {
    const typed: PipelineDefinition = {
      input: INPUT,
      parameters: [
        { name: 'n', type: 'integer' },
        { name: 'flag', type: 'boolean' },
        { name: 'at', type: 'timestamp' },
      ],
      steps: [],
    };
    expect(applyTemplate(typed, { n: 3, flag: false, at: '2024-05-01T10:00:00Z' }).variables).toEqual({
      n: { type: 'number', value: 3 },
      flag: { type: 'boolean', value: false },
      at: { type: 'timestamp', value: '2024-05-01T10:00:00Z' },
    });
    expect(applyTemplate(typed, { n: null, flag: true, at: '2024-05-01 10:00' }).params).toEqual({
      n: null,
      flag: true,
      at: '2024-05-01 10:00',
    });
    expect(errorOf(() => applyTemplate(typed, { n: 1.5, flag: true, at: '2024-05-01' })).errors[0]!.pointer).toBe(
      '/params/n',
    );
    expect(errorOf(() => applyTemplate(typed, { n: 1, flag: 'true', at: '2024-05-01' })).errors[0]!.pointer).toBe(
      '/params/flag',
    );
    expect(errorOf(() => applyTemplate(typed, { n: 1, flag: true, at: 'yesterday' })).errors[0]!.pointer).toBe(
      '/params/at',
    );
  });

  it('refuses a $param that names no declared parameter, pointing at it', () => {
    const bad: PipelineDefinition = {
      input: INPUT,
      parameters: [{ name: 'a', type: 'number', default: 1 }],
      steps: [{ type: 'filter', x: { y: [{ $param: 'b' }] } }],
    };
    expect(errorOf(() => applyTemplate(bad)).errors).toEqual([
      { pointer: '/definition/steps/0/x/y/0/$param', message: "no parameter named 'b' is declared in parameters" },
    ]);
  });

  it('refuses a $param object with other keys', () => {
    const bad: PipelineDefinition = {
      input: INPUT,
      parameters: [{ name: 'a', type: 'number', default: 1 }],
      steps: [{ type: 'filter', x: { $param: 'a', y: 1 } }],
    };
    expect(errorOf(() => applyTemplate(bad)).errors).toEqual([
      { pointer: '/definition/steps/0/x', message: 'a parameter reference is exactly { "$param": "<name>" }' },
    ]);
  });

  it('refuses a default of the wrong type and a name declared twice', () => {
    const badDefault: PipelineDefinition = {
      input: INPUT,
      parameters: [{ name: 'a', type: 'integer', default: 'ten' }],
      steps: [],
    };
    expect(errorOf(() => applyTemplate(badDefault)).errors).toEqual([
      { pointer: '/definition/parameters/0/default', message: 'parameter \'a\' must be an integer, got text "ten"' },
    ]);
    const twice: PipelineDefinition = {
      input: INPUT,
      parameters: [
        { name: 'a', type: 'text' },
        { name: 'a', type: 'number' },
      ],
      steps: [],
    };
    expect(errorOf(() => applyTemplate(twice)).errors).toEqual([
      { pointer: '/definition/parameters/1/name', message: "parameter 'a' is declared twice" },
    ]);
  });
});

describe('applyDefaults', () => {
  it('applies every default when each parameter has one', () => {
    const complete: PipelineDefinition = {
      input: INPUT,
      parameters: [{ name: 'c', type: 'column', default: 'amount' }],
      steps: [{ type: 'select', columns: [{ $param: 'c' }] }],
    };
    expect(applyDefaults(complete)?.definition.steps).toEqual([{ type: 'select', columns: ['amount'] }]);
  });

  it('answers null when a parameter has no default, but still checks the references', () => {
    expect(applyDefaults(template)).toBeNull();
    const bad: PipelineDefinition = {
      input: INPUT,
      parameters: [{ name: 'a', type: 'text' }],
      steps: [{ type: 'filter', v: { $param: 'nope' } }],
    };
    expect(errorOf(() => applyDefaults(bad)).errors[0]!.pointer).toBe('/definition/steps/0/v/$param');
  });
});
