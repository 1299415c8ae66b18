import type { FastifyReply } from 'fastify';

/**
 * Aborts when the connection of `reply` closes: a route that waits for work (`?wait=true`) or runs queries for a
 * client stops waiting once nobody is there to answer. The work it started goes on.
 */
export function clientGone(reply: FastifyReply): AbortSignal {
  const closed = new AbortController();
  reply.raw.once('close', () => closed.abort());
  return closed.signal;
}
