import type { Role } from './permissions.js';

/**
 * What the identity repositories hand their services besides the API objects of model.ts: the facts one authentication or one
 * check needs, already in domain terms (booleans, ISO 8601 strings, parsed lists), whichever dialect stored them.
 */

/** The network rules of a workspace as stored: JSON arrays of CIDRs (src/http/guards.ts parses and caches them). */
export interface StoredNetworkRules {
  allowJson: string;
  denyJson: string;
}

/** A user's standing in one workspace now; `role` is null when they are not a member. */
export interface Standing {
  disabled: boolean;
  instanceAdmin: boolean;
  role: Role | null;
}

/** Everything a request with a session's access token needs: the user, the session, and the requested workspace. */
export interface SessionGrant {
  email: string;
  instanceAdmin: boolean;
  disabled: boolean;
  sessionRevokedAt: string | null;
  sessionExpiresAt: string;
  /** The user's role in the requested workspace; null when not a member. */
  role: Role | null;
  /** Null when the user is not a member (or the workspace does not exist). */
  rules: StoredNetworkRules | null;
}

/** The same for an API key: the key, its workspace's rules, and its creator's current standing there. */
export interface ApiKeyGrant {
  id: string;
  workspaceId: string;
  secretHash: string;
  /** As stored; the caller keeps only those that are permissions. */
  scopes: string[];
  createdBy: string;
  creatorEmail: string;
  creatorDisabled: boolean;
  /** Null when the creator has left the workspace. */
  creatorRole: Role | null;
  expiresAt: string | null;
  revokedAt: string | null;
  rules: StoredNetworkRules;
}

/** A refresh token with the state of its session and user. */
export interface RefreshTokenRecord {
  id: string;
  sessionId: string;
  userId: string;
  expiresAt: string;
  usedAt: string | null;
  sessionRevokedAt: string | null;
  userDisabled: boolean;
}

/** What the principal cache holds: what a session or an API key resolved to. */
export type PrincipalGrant = SessionGrant | ApiKeyGrant;
