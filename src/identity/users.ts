import type { Clock } from '../clock.js';
import { errors } from '../errors.js';
import type { Principal } from '../http/access.js';
import { newId } from '../ids.js';
import type { Log } from '../logger.js';
import type { AuditLog } from '../system/audit.js';
import { weirCommand } from '../weir-command.js';
import type { ApiKey, User, WorkspaceWithRole } from './model.js';
import { hashPassword, passwordProblem } from './passwords.js';
import type { Role } from './permissions.js';
import type { IdentityRepos } from './repo.js';

/** The workspace the first migration creates; the first user owns it. */
export const DEFAULT_WORKSPACE_ID = 'ws_default';

/** Accounts: the first owner, creation, lookup, and who a caller is. */
export class Users {
  constructor(
    private readonly repos: Pick<IdentityRepos, 'users' | 'memberships' | 'apiKeys' | 'transaction'>,
    private readonly audit: AuditLog,
    private readonly log: Log,
    private readonly clock: Clock,
  ) {}

  /**
   * Creates the first owner from config on an empty database; says how to create one when there is none (unless
   * `hint` is false: the supervised worker leaves that to the server it runs for, which says it once).
   */
  async bootstrap(
    admin: { email: string; password: string } | null,
    { hint = true }: { hint?: boolean } = {},
  ): Promise<void> {
    if (await this.hasAny()) return;
    if (!admin) {
      if (hint) {
        this.log.warn(
          `no users exist yet: create the first owner with \`${weirCommand('admin create-user --email you@example.com')}\` ` +
            '(it asks for the password, or reads it with --password-stdin), or start once with WEIR_BOOTSTRAP_ADMIN_EMAIL and WEIR_BOOTSTRAP_ADMIN_PASSWORD',
        );
      }
      return;
    }
    const user = await this.create({
      email: admin.email,
      password: admin.password,
      displayName: 'Administrator',
      instanceAdmin: true,
      workspaceId: DEFAULT_WORKSPACE_ID,
      role: 'owner',
    });
    await this.audit.record({
      ...systemEntry('user.bootstrap'),
      workspaceId: DEFAULT_WORKSPACE_ID,
      targetType: 'user',
      targetId: user.id,
    });
    this.log.info({ userId: user.id, email: user.email }, 'bootstrap owner created');
  }

  async hasAny(): Promise<boolean> {
    return (await this.repos.users.count()) > 0;
  }

  async create(input: {
    email: string;
    password: string;
    displayName?: string;
    instanceAdmin?: boolean;
    workspaceId?: string;
    role?: Role;
  }): Promise<User> {
    const email = normalizeEmail(input.email);
    const problem = passwordProblem(input.password);
    if (problem) throw errors.validation(`password ${problem}`, [{ pointer: '/body/password', message: problem }]);
    if (await this.repos.users.emailTaken(email))
      throw errors.conflict(`A user with the email '${email}' already exists`);
    const id = newId('usr');
    const passwordHash = await hashPassword(input.password);
    const now = this.clock.now().toISOString();
    await this.repos.transaction(async (repos) => {
      await repos.users.insert(
        {
          id,
          email,
          displayName: input.displayName?.trim() || email.split('@')[0]!,
          passwordHash,
          instanceAdmin: input.instanceAdmin ?? false,
        },
        now,
      );
      if (input.workspaceId) await repos.memberships.upsert(input.workspaceId, id, input.role ?? 'viewer', now);
    });
    return (await this.repos.users.byId(id))!;
  }

  async get(id: string): Promise<User> {
    const user = await this.repos.users.byId(id);
    if (!user) throw errors.unauthorized();
    return user;
  }

  list(limit: number, offset: number): Promise<{ items: User[]; total: number }> {
    return this.repos.users.list(limit, offset);
  }

  /** Who the caller is: the user (for an API key, its creator), their workspaces, and the key itself when it is one. */
  async me(principal: Principal): Promise<{ user: User; workspaces: WorkspaceWithRole[]; apiKey: ApiKey | null }> {
    const apiKey =
      principal.apiKeyId === null
        ? null
        : ((await this.repos.apiKeys.byId(principal.workspaceId, principal.apiKeyId)) ?? null);
    return {
      user: await this.get(principal.userId),
      workspaces: await this.repos.memberships.workspacesOf(principal.userId),
      apiKey,
    };
  }
}

export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

function systemEntry(action: string) {
  return {
    workspaceId: null,
    actorType: 'system' as const,
    actorId: null,
    apiKeyId: null,
    action,
    targetType: null,
    targetId: null,
    outcome: 'success' as const,
    statusCode: null,
    ip: null,
    userAgent: null,
    requestId: null,
    detail: null,
  };
}
