import { parseTopic, type Topic, type TopicKind } from '../bus/types.js';
import type { AccessControl, Principal } from '../http/access.js';
import type { Permission } from '../identity/permissions.js';
import { ProtocolError } from './protocol.js';

/** Whose a topic is: the workspace of its object and the permission needed to watch it. */
export interface TopicOwner {
  workspaceId: string;
  permission: Permission;
}

/** Finds the owner of the object behind a topic id; null when there is no such object. */
export type TopicResolver = (id: string) => Promise<TopicOwner | null>;

/**
 * Which topic kinds clients may subscribe to, and how each is checked. A domain that starts publishing on a
 * new kind (uploads, models) registers its resolver here; until then its topics answer `unknown_topic`.
 */
export class TopicResolvers {
  private readonly byKind = new Map<TopicKind, TopicResolver>();

  register(kind: TopicKind, resolver: TopicResolver): this {
    if (this.byKind.has(kind)) throw new Error(`a resolver for '${kind}' topics is already registered`);
    this.byKind.set(kind, resolver);
    return this;
  }

  get(kind: TopicKind): TopicResolver | undefined {
    return this.byKind.get(kind);
  }
}

export interface AuthorizedTopic extends TopicOwner {
  topic: Topic;
  kind: TopicKind;
  id: string;
}

/**
 * May this principal watch this topic? Throws the ProtocolError to answer otherwise. A missing object and an
 * object in a workspace the caller does not belong to are the same `not_found`; `forbidden` is only said in
 * the caller's own workspace (where its membership is no secret), for a role that lacks the permission.
 */
export async function authorizeTopic(
  resolvers: TopicResolvers,
  access: AccessControl,
  principal: Principal,
  raw: string,
  requestId?: string,
): Promise<AuthorizedTopic> {
  const parsed = parseTopic(raw);
  if (!parsed) throw new ProtocolError('invalid_topic', 'a topic is <kind>:<id>, e.g. job:job_01J…', requestId, raw);
  const topic = raw as Topic;
  const resolver = resolvers.get(parsed.kind);
  if (!resolver) throw new ProtocolError('unknown_topic', `'${parsed.kind}' topics are not available`, requestId, raw);
  const owner = await resolver(parsed.id);
  const notFound = new ProtocolError('not_found', `${topic} does not exist`, requestId, raw);
  if (!owner) throw notFound;
  if (await access.can(principal, owner.workspaceId, owner.permission))
    return { topic, kind: parsed.kind, id: parsed.id, ...owner };
  const ownWorkspace = owner.workspaceId === principal.workspaceId && principal.role !== null;
  if (ownWorkspace)
    throw new ProtocolError(
      'forbidden',
      `watching ${parsed.kind} topics needs the permission '${owner.permission}'`,
      requestId,
      raw,
    );
  throw notFound;
}
