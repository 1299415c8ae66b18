import type { Permission, Role } from './permissions.js';

/** Identity objects as the API returns them. Secrets (hashes, tokens) never appear here. */

export interface User {
  id: string;
  email: string;
  displayName: string;
  instanceAdmin: boolean;
  disabled: boolean;
  createdAt: string;
  lastLoginAt: string | null;
}

export interface Workspace {
  id: string;
  slug: string;
  name: string;
  ipAllow: string[];
  ipDeny: string[];
  createdAt: string;
}

export interface WorkspaceWithRole extends Workspace {
  role: Role;
}

export interface Member {
  userId: string;
  email: string;
  displayName: string;
  role: Role;
  addedAt: string;
}

export interface ApiKey {
  id: string;
  workspaceId: string;
  name: string;
  /** The first characters of the key as shown to people (`weir_key_01J…`), enough to recognize it. */
  prefix: string;
  scopes: Permission[];
  createdBy: string;
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
  lastUsedAt: string | null;
}

/** What a successful login or refresh hands out. */
export interface TokenPair {
  accessToken: string;
  tokenType: 'Bearer';
  /** Seconds until the access token expires. */
  expiresIn: number;
  refreshToken: string;
  refreshExpiresAt: string;
}

/** `expired` is a pending invitation past its `expiresAt`. */
export type InvitationStatus = 'pending' | 'accepted' | 'declined' | 'revoked' | 'expired';

/**
 * An invitation to join a workspace. It says nothing about whether an account has the address: the inviter sees
 * the same answer either way.
 */
export interface Invitation {
  id: string;
  workspaceId: string;
  workspaceName: string;
  email: string;
  role: Role;
  status: InvitationStatus;
  /** The member who sent it (null once that account is gone), so the invitee knows who asks. */
  invitedBy: string | null;
  invitedByEmail: string | null;
  createdAt: string;
  expiresAt: string;
  /** When it was accepted, declined or revoked. */
  respondedAt: string | null;
}
