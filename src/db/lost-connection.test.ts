import { describe, expect, it } from 'vitest';
import { isLostConnection } from './index.js';

const withCode = (message: string, code: string) => Object.assign(new Error(message), { code });

describe('isLostConnection', () => {
  it('knows a terminated or reset connection', () => {
    expect(isLostConnection(withCode('terminating connection due to administrator command', '57P01'))).toBe(true);
    expect(
      isLostConnection(withCode('terminating connection because of crash of another server process', '57P02')),
    ).toBe(true);
    expect(isLostConnection(withCode('read ECONNRESET', 'ECONNRESET'))).toBe(true);
    expect(isLostConnection(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isLostConnection(new Error('Client has encountered a connection error and is not queryable'))).toBe(true);
  });

  it('is not fooled by a failing query or a database that refuses', () => {
    expect(isLostConnection(withCode('relation "nope" does not exist', '42P01'))).toBe(false);
    expect(isLostConnection(withCode('password authentication failed for user "x"', '28P01'))).toBe(false);
    expect(isLostConnection(withCode('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED'))).toBe(false);
    expect(isLostConnection('Connection terminated')).toBe(false);
  });
});
