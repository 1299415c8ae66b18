import { describe, expect, it } from 'vitest';
import { createBody, EMPTY_FORM, parseFields, serverErrors, testBody } from './form';

describe('the create-connector form', () => {
  it('builds a ThingSpeak body with the schedule, leaving empty inputs to the server defaults', () => {
    expect(createBody({ ...EMPTY_FORM, name: 'greenhouse', channelId: '12397', apiKey: ' key ' })).toEqual({
      body: {
        name: 'greenhouse',
        type: 'thingspeak',
        config: { channelId: 12397, apiKey: ' key ' },
        schedule: '*/5 * * * *',
      },
    });
    expect(createBody({ ...EMPTY_FORM, name: 'x', channelId: '' })).toEqual({
      errors: { '/config/channelId': 'is required' },
    });
    expect(createBody({ ...EMPTY_FORM, name: 'x', channelId: '12a' })).toEqual({
      errors: { '/config/channelId': 'must be a whole number' },
    });
  });

  it('builds push and MQTT bodies without a schedule, with the fields when given', () => {
    expect(
      createBody({ ...EMPTY_FORM, type: 'push', name: 'door', keyField: 'id', fields: 'at:timestamp\ntemp:double' }),
    ).toEqual({
      body: {
        name: 'door',
        type: 'push',
        config: { keyField: 'id' },
        fields: [
          { name: 'at', type: 'timestamp' },
          { name: 'temp', type: 'double' },
        ],
      },
    });
    expect(
      createBody({ ...EMPTY_FORM, type: 'mqtt', name: 'm', url: 'mqtt://127.0.0.1:1883', topics: 'a/+\nb/#' }),
    ).toEqual({
      body: {
        name: 'm',
        type: 'mqtt',
        config: { url: 'mqtt://127.0.0.1:1883', topics: ['a/+', 'b/#'], qos: 1, payload: 'auto' },
      },
    });
  });

  it('reads HTTP field mappings and pagination, and refuses a mapping it cannot read', () => {
    const built = testBody({
      ...EMPTY_FORM,
      type: 'http',
      url: 'http://127.0.0.1/x',
      recordsPath: '$.items',
      mappings: 'temp=$.main.temp:double\nat=$.dt:timestamp:epoch_s',
      pagination: 'page',
      pageParam: 'p',
    });
    expect(built).toEqual({
      body: {
        type: 'http',
        config: {
          url: 'http://127.0.0.1/x',
          recordsPath: '$.items',
          fields: [
            { name: 'temp', path: '$.main.temp', type: 'double' },
            { name: 'at', path: '$.dt', type: 'timestamp', format: 'epoch_s' },
          ],
          pagination: { kind: 'page', param: 'p' },
        },
      },
    });
    expect(testBody({ ...EMPTY_FORM, type: 'http', mappings: 'temp: $.x' })).toMatchObject({
      errors: { '/config/fields': expect.stringContaining('write name=$.json.path:type') },
    });
  });

  it('refuses a field list it cannot read, naming the entry', () => {
    expect(parseFields('temp:float')).toEqual({
      error: '"temp:float": the type is one of double, bigint, boolean, varchar, timestamp',
    });
    expect(parseFields('1x:double')).toMatchObject({ error: expect.stringContaining('"1x:double"') });
    expect(parseFields('a:double, a:bigint')).toEqual({ error: '"a" is named twice' });
    expect(parseFields('')).toEqual({ fields: [] });
  });

  it("keeps the server's errors for this type's inputs, dropping what the union's other shapes wanted", () => {
    expect(
      serverErrors([
        { pointer: '/body/name', message: 'must NOT have fewer than 1 characters' },
        { pointer: '/body/type', message: 'must be equal to constant' },
        { pointer: '/body/config/channelId', message: 'is not an allowed property' },
        { pointer: '/body/name', message: 'must NOT have fewer than 1 characters (again)' },
        { pointer: '/body', message: 'must match a schema in anyOf' },
        { pointer: '/body/fields/0/name', message: 'must match pattern' },
      ]),
    ).toEqual({
      '/name': 'must NOT have fewer than 1 characters',
      '/fields/0/name': 'must match pattern',
    });
  });
});
