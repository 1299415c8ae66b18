import type { FastifyRequest } from 'fastify';
import type { Topic } from '../bus/types.js';
import { isAppError } from '../errors.js';
import type { AccessControl, Principal } from '../http/access.js';
import { bearerToken } from '../identity/secrets.js';
import type { UnsubscribeReason } from './protocol.js';
import type { TopicOwner } from './topics.js';

/**
 * Streams outlive the request that authorized them, so WebSocket subscriptions and SSE streams are authorized
 * again: at once when an identity change may concern them (src/identity/changes.ts) and on every heartbeat.
 */

/** The principal the stream's credentials give now; null once they are no longer valid. Rejects on other failures. */
export type Reauthenticate = () => Promise<Principal | null>;

/** The token a realtime request authenticated with: the bearer header or `?access_token=` (the auth hook accepted one). */
export function requestToken(request: FastifyRequest): string | null {
  const query = (request.query as { access_token?: unknown } | undefined)?.access_token;
  return bearerToken(request.headers.authorization) ?? (typeof query === 'string' && query.length > 0 ? query : null);
}

/**
 * Resolves `token` again as the stream first did: same address, same workspace. Only a 401 means "gone"; a
 * database hiccup is not the client's fault and rejects, so the stream is kept until the next try.
 */
export function reauthenticator(access: AccessControl, token: string, ip: string, workspaceId: string): Reauthenticate {
  return () =>
    access.authenticate(token, ip, workspaceId).then(
      (principal) => principal,
      (e: unknown) => (isAppError(e) && e.status === 401 ? null : Promise.reject(e)),
    );
}

/**
 * The topics among `grants` that `principal` may no longer watch. Each distinct workspace and permission is asked
 * once: a connection's topics mostly share one workspace, and each question may cost a database read.
 */
export async function lostTopics(
  access: AccessControl,
  principal: Principal,
  grants: ReadonlyMap<Topic, TopicOwner>,
): Promise<Topic[]> {
  const answers = new Map<string, boolean>();
  const lost: Topic[] = [];
  for (const [topic, owner] of grants) {
    const key = `${owner.workspaceId}\n${owner.permission}`;
    let allowed = answers.get(key);
    if (allowed === undefined)
      answers.set(key, (allowed = await access.can(principal, owner.workspaceId, owner.permission)));
    if (!allowed) lost.push(topic);
  }
  return lost;
}

/** What a client is told when the server ends its subscription or stream; says what to do, reveals nothing new. */
export function revocationMessage(reason: UnsubscribeReason, what: 'subscription' | 'stream'): string {
  const again = what === 'subscription' ? 'subscribe again' : 'open the stream again';
  return reason === 'access_revoked'
    ? `Access was taken away: your membership, role, API key scopes or the workspace's network rules no longer allow this ${what}; ${again} once access is restored`
    : 'Your session or API key is no longer valid (expired, logged out, revoked or disabled); authenticate again';
}

/**
 * Runs `task` when triggered, never twice at once: triggers during a run cause exactly one more run after it (the
 * state it reads may have changed after the running one read it). A failure goes to `onError`.
 */
export function serially(task: () => Promise<void>, onError: (e: unknown) => void): () => void {
  let running = false;
  let again = false;
  const run = (): void => {
    running = true;
    task()
      .catch(onError)
      .finally(() => {
        running = false;
        if (!again) return;
        again = false;
        run();
      });
  };
  return () => {
    if (running) again = true;
    else run();
  };
}
