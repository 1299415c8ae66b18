import type { IncomingMessage } from 'node:http';
import { newId } from '../ids.js';

/** A caller's x-request-id is kept when it is a sane token; anything else is replaced by a fresh id. */
const ACCEPTABLE = /^[A-Za-z0-9._:@-]{1,128}$/;

export function requestIdFrom(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  const value = Array.isArray(given) ? given[0] : given;
  return value && ACCEPTABLE.test(value) ? value : newId('req');
}
