import { describe, expect, it } from 'vitest';
import { permissionsOf } from './permissions.js';
import { scopeError } from './scopes.js';

const machine = permissionsOf('machine');

describe('scopeError', () => {
  it('accepts scopes that exist and may be granted', () => {
    expect(scopeError(['datasets:read', 'jobs:read'], machine)).toBeNull();
    expect(scopeError([], machine)).toBeNull();
  });

  it('says a misspelt scope does not exist and names the nearest permission', () => {
    const e = scopeError(['datasets:raed'], machine);
    expect(e).toMatchObject({ status: 400, code: 'validation_failed' });
    expect(e?.message).toBe("Scope 'datasets:raed' does not exist; did you mean 'datasets:read' or 'datasets:write'?");
    expect(e?.errors).toEqual([
      {
        pointer: '/body/scopes/0',
        message: "Scope 'datasets:raed' does not exist; did you mean 'datasets:read' or 'datasets:write'?",
      },
    ]);
  });

  it('without a close name, lists the permissions of the same area, else says where the list is', () => {
    expect(scopeError(['jobs:write'], machine)?.message).toBe(
      "Scope 'jobs:write' does not exist; the jobs permissions are 'jobs:read' and 'jobs:manage'",
    );
    expect(scopeError(['everything'], machine)?.message).toBe(
      "Scope 'everything' does not exist; the permissions are listed by GET /api/v1/permissions",
    );
  });

  it('keeps the refusal of a real permission apart from a typo', () => {
    const refused = scopeError(['members:manage'], machine);
    expect(refused?.message).toBe('Some scopes cannot be granted to an API key by you');
    expect(refused?.errors[0]?.message).toMatch(/^'members:manage' is not grantable \(API keys hold at most: /);
    const both = scopeError(['datasets:read', 'datasets:raed', 'members:manage', 'nope'], machine);
    expect(both?.message).toBe(
      "Scopes 'datasets:raed' and 'nope' do not exist: a scope is a permission name (GET /api/v1/permissions lists them); some others cannot be granted to an API key by you",
    );
    expect(both?.errors.map((e) => e.pointer)).toEqual(['/body/scopes/1', '/body/scopes/2', '/body/scopes/3']);
  });
});
