import type { Clock } from '../clock.js';
import { errors } from '../errors.js';
import type { Principal } from '../http/access.js';
import { newId } from '../ids.js';
import type { IdentityChangePublisher } from './changes.js';
import type { ApiKey } from './model.js';
import { ROLE_PERMISSIONS, type Permission } from './permissions.js';
import type { ApiKeyRepo } from './api-key-repo.js';
import { scopeError } from './scopes.js';
import { randomToken, sha256Hex } from './secrets.js';

/**
 * API keys of a workspace. The token (`weir_<id>_<secret>`) is shown once, at creation; only the secret's hash is
 * stored. What a key may do when used is decided by IdentityAccess (src/identity/access.ts).
 */
export class ApiKeys {
  constructor(
    private readonly repo: ApiKeyRepo,
    private readonly changes: IdentityChangePublisher,
    private readonly clock: Clock,
  ) {}

  async create(
    actor: Principal,
    input: { name: string; scopes?: string[]; expiresAt?: string },
  ): Promise<{ key: ApiKey; token: string }> {
    if (actor.kind !== 'user' || actor.role === null) throw errors.forbidden('keys:manage');
    const grantable = new Set(ROLE_PERMISSIONS.machine.filter((p) => actor.permissions.has(p)));
    const requested = input.scopes ?? [...grantable];
    const refused = scopeError(requested, grantable);
    if (refused) throw refused;
    if (input.expiresAt !== undefined && new Date(input.expiresAt).getTime() <= this.clock.nowMs()) {
      throw errors.validation('expiresAt must be in the future', [
        { pointer: '/body/expiresAt', message: 'must be in the future' },
      ]);
    }
    const id = newId('key');
    const secret = randomToken();
    await this.repo.insert(
      {
        id,
        workspaceId: actor.workspaceId,
        name: input.name.trim(),
        secretHash: sha256Hex(secret),
        scopes: [...new Set(requested)] as Permission[],
        createdBy: actor.userId,
        expiresAt: input.expiresAt ? new Date(input.expiresAt).toISOString() : null,
      },
      this.clock.now().toISOString(),
    );
    return { key: (await this.repo.byId(actor.workspaceId, id))!, token: `weir_${id}_${secret}` };
  }

  list(workspaceId: string): Promise<ApiKey[]> {
    return this.repo.ofWorkspace(workspaceId);
  }

  async revoke(workspaceId: string, id: string): Promise<ApiKey> {
    const key = await this.repo.byId(workspaceId, id);
    if (!key) throw errors.notFound('API key', id);
    await this.repo.revoke(workspaceId, id, this.clock.now().toISOString());
    await this.changes.publish({ kind: 'apikey.revoked', workspaceId, apiKeyId: id });
    return (await this.repo.byId(workspaceId, id))!;
  }
}
