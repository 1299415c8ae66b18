import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/**
 * Seals connector credentials at rest with AES-256-GCM. A sealed value is `v1.<keyId>.<iv>.<tag>.<ciphertext>`
 * (base64url parts); the key id (the first 8 bytes of the key's SHA-256) says which key sealed it, so a rotation
 * keeps old keys only to open what they sealed: set the new key as WEIR_SECRETS_KEY, move the old one into
 * WEIR_SECRETS_OLD_KEYS, start once (start-up reseals every connector under the new key), then drop the old key.
 */
export class SecretBox {
  private readonly current: { id: string; key: Buffer };
  private readonly byId = new Map<string, Buffer>();

  constructor(key: Buffer, oldKeys: Buffer[] = []) {
    for (const k of [key, ...oldKeys]) {
      if (k.length !== 32) throw new Error('a secrets key must be 32 bytes (64 hex characters or 44 base64)');
      this.byId.set(keyId(k), k);
    }
    this.current = { id: keyId(key), key };
  }

  seal(plain: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.current.key, iv);
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return [
      'v1',
      this.current.id,
      iv.toString('base64url'),
      cipher.getAuthTag().toString('base64url'),
      body.toString('base64url'),
    ].join('.');
  }

  open(sealed: string): string {
    const [v, id, iv, tag, body] = sealed.split('.');
    if (v !== 'v1' || !id || iv === undefined || tag === undefined || body === undefined)
      throw new Error('not a sealed secret');
    const key = this.byId.get(id);
    if (!key) throw new Error(`the key that sealed this secret (${id}) is not configured (WEIR_SECRETS_OLD_KEYS)`);
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
  }

  /** Sealed under an older key: start-up reseals it under the current one. */
  isStale(sealed: string): boolean {
    return sealed.split('.')[1] !== this.current.id;
  }
}

const keyId = (key: Buffer): string => createHash('sha256').update(key).digest().subarray(0, 8).toString('base64url');

/** A key as configured: 64 hex characters or base64 of 32 bytes. */
export function parseSecretsKey(text: string): Buffer {
  const t = text.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(t) ? Buffer.from(t, 'hex') : Buffer.from(t, 'base64');
  if (key.length !== 32) throw new Error('must be 32 bytes: 64 hex characters or base64 of 32 bytes');
  return key;
}
