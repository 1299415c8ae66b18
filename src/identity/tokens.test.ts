import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { TokenSigner } from './tokens.js';

const SECRET = 's'.repeat(48);
const signer = new TokenSigner(SECRET, 900);
const key = new TextEncoder().encode(SECRET);
const claims = { sub: 'usr_1', sid: 'ses_1', ws: 'ws_default' };

function jwt(header: Record<string, unknown>, payload: Record<string, unknown>) {
  return new SignJWT(payload).setProtectedHeader({ alg: 'HS256', ...header } as never).sign(key);
}
const base = () => ({ ...claims, iss: 'weir', aud: 'weir-api', exp: Math.floor(Date.now() / 1000) + 60 });

describe('TokenSigner', () => {
  it('round-trips its own tokens and stops at expiry', async () => {
    const now = Date.now();
    const token = await signer.sign(claims, now);
    expect(await signer.verify(token, now)).toEqual({ claims });
    expect(await signer.verify(token, now + 899_000)).toEqual({ claims });
    expect(await signer.verify(token, now + 901_000)).toEqual({ reason: 'expired' });
  });

  it('accepts a list audience containing ours, refuses others', async () => {
    expect(await signer.verify(await jwt({}, { ...base(), aud: ['x', 'weir-api'] }))).toEqual({ claims });
    expect(await signer.verify(await jwt({}, { ...base(), aud: ['x'] }))).toEqual({ reason: 'claim aud invalid' });
  });

  it('refuses crit headers, other types, future nbf, missing exp and missing claims', async () => {
    expect(await signer.verify(await jwt({ crit: ['b64'], b64: true }, base()))).toHaveProperty('reason');
    expect(await signer.verify(await jwt({ typ: 'at+jwt' }, base()))).toEqual({ reason: 'algorithm not allowed' });
    expect(await signer.verify(await jwt({}, { ...base(), nbf: Math.floor(Date.now() / 1000) + 600 }))).toEqual({
      reason: 'not yet valid',
    });
    const { exp: _exp, ...noExp } = base();
    expect(await signer.verify(await jwt({}, noExp))).toEqual({ reason: 'expired' });
    const { sid: _sid, ...noSid } = base();
    expect(await signer.verify(await jwt({}, noSid))).toEqual({ reason: 'claims missing' });
  });

  it('refuses tampered payloads and signatures, and garbage', async () => {
    const token = await signer.sign(claims);
    const [h, p, s] = token.split('.') as [string, string, string];
    const forgedPayload = Buffer.from(JSON.stringify({ ...base(), sub: 'usr_admin' })).toString('base64url');
    expect(await signer.verify(`${h}.${forgedPayload}.${s}`)).toEqual({ reason: 'bad signature' });
    expect(await signer.verify(`${h}.${p}.${s.slice(0, -2)}`)).toEqual({ reason: 'bad signature' });
    expect(await signer.verify(`${h}.${p}.`)).toEqual({ reason: 'bad signature' });
    for (const garbage of ['', 'a.b', 'a.b.c.d', '..', `${Buffer.from('[]').toString('base64url')}.${p}.${s}`])
      expect(await signer.verify(garbage)).toHaveProperty('reason');
  });
});
