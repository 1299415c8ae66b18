import { describe, expect, it } from 'vitest';
import { readAuthorization } from './authorization-header.js';

const KEY = 'weir_key_01J00000000000000000000000_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
const malformed = (header: string) => {
  const read = readAuthorization(header);
  if (!('malformed' in read))
    throw new Error(`expected ${JSON.stringify(header)} to be malformed, got ${JSON.stringify(read)}`);
  return read.malformed;
};

describe('readAuthorization', () => {
  it('reads a bearer token, whatever the case of the scheme and the spacing', () => {
    expect(readAuthorization(`Bearer ${KEY}`)).toEqual({ token: KEY });
    expect(readAuthorization(`bearer \t${KEY} `)).toEqual({ token: KEY });
    expect(readAuthorization(undefined)).toEqual({ absent: true });
  });

  it('says the Bearer prefix is missing when the header is a bare token', () => {
    expect(malformed(KEY)).toBe(
      'The Authorization header lacks the `Bearer ` prefix: send it as `Authorization: Bearer <token>`',
    );
    expect(malformed('eyJhbGciOiJIUzI1NiJ9.e30.sig')).toMatch(/lacks the `Bearer ` prefix/);
  });

  it('names the scheme it does not take, an empty header, a missing token and two tokens', () => {
    expect(malformed('Basic Zm9vOmJhcg==')).toBe(
      'Weir does not take `Basic` credentials: use an access token (POST /api/v1/auth/login) or an API key, and send it as `Authorization: Bearer <token>`',
    );
    expect(malformed('token abc')).toMatch(/^Weir does not take `Token` credentials/);
    expect(malformed('')).toBe('The Authorization header is empty: send it as `Authorization: Bearer <token>`');
    expect(malformed('   ')).toMatch(/is empty/);
    expect(malformed('Bearer')).toBe(
      'The Authorization header has no token after `Bearer`: send it as `Authorization: Bearer <token>`',
    );
    expect(malformed('Bearer   ')).toMatch(/no token after `Bearer`/);
    expect(malformed(`Bearer ${KEY} ${KEY}`)).toBe(
      'The Authorization header carries more than one token: send exactly one, as `Authorization: Bearer <token>`',
    );
    expect(malformed(`Bearer ${KEY}, Bearer ${KEY}`)).toMatch(/more than one token/);
    expect(malformed('Custom a b')).toBe(
      'The Authorization header does not use the Bearer scheme: send it as `Authorization: Bearer <token>`',
    );
  });

  it('never repeats what the header holds: it may be a secret', () => {
    for (const header of [KEY, `Bearer ${KEY} extra`, 'Basic c2VjcmV0OnBhc3N3b3Jk', `s3cr3t-scheme ${KEY}`]) {
      const message = malformed(header);
      expect(message).not.toContain(KEY);
      expect(message).not.toContain('c2VjcmV0');
      expect(message).not.toContain('s3cr3t');
    }
  });
});
