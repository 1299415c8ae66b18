import type { Clock } from '../clock.js';
import { AppError, errors } from '../errors.js';
import type { Principal } from '../http/access.js';
import { refusalOf, validateCidrs, type RuleRefusal } from '../http/network-rules.js';
import { newId } from '../ids.js';
import type { IdentityChangePublisher } from './changes.js';
import type { Workspace, WorkspaceWithRole } from './model.js';
import type { IdentityRepos } from './repo.js';

/** Workspaces: creation (its creator owns it), settings, and the network rules that guard them. */
export class Workspaces {
  constructor(
    private readonly repos: Pick<IdentityRepos, 'workspaces' | 'transaction'>,
    private readonly changes: IdentityChangePublisher,
    private readonly clock: Clock,
  ) {}

  async create(principal: Principal, input: { name: string; slug?: string }): Promise<WorkspaceWithRole> {
    if (principal.kind !== 'user') throw errors.forbidden('workspaces:create (users only)');
    const slug = (input.slug ?? slugify(input.name)) || 'workspace';
    const id = newId('ws');
    const now = this.clock.now().toISOString();
    try {
      await this.repos.transaction(async (repos) => {
        await repos.workspaces.insert({ id, slug, name: input.name.trim() }, now);
        await repos.memberships.upsert(id, principal.userId, 'owner', now);
      });
    } catch (e) {
      if (await slugTaken(e)) throw errors.conflict(`A workspace with the slug '${slug}' already exists`);
      throw e;
    }
    return { ...(await this.repos.workspaces.byId(id))!, role: 'owner' };
  }

  async get(workspaceId: string): Promise<Workspace> {
    const ws = await this.repos.workspaces.byId(workspaceId);
    if (!ws) throw errors.notFound('Workspace', workspaceId);
    return ws;
  }

  /** Names of these workspaces, by id (ids with no workspace are left out). */
  names(ids: string[]): Promise<Map<string, string>> {
    return this.repos.workspaces.names(ids);
  }

  async update(
    actor: Principal,
    workspaceId: string,
    patch: { name?: string; ipAllow?: string[]; ipDeny?: string[] },
  ): Promise<Workspace> {
    for (const [field, list] of [
      ['ipAllow', patch.ipAllow],
      ['ipDeny', patch.ipDeny],
    ] as const) {
      const check = list ? validateCidrs(list) : { ok: true as const };
      if (!check.ok)
        throw errors.validation(`${field}: ${check.message}`, [
          { pointer: `/body/${field}/${check.index}`, message: check.message },
        ]);
    }
    // Rules that shut out the caller's own address could not be changed back through the API by that caller.
    // Instance admins are exempt: the workspace-settings routes ignore the rules for them (src/http/auth.ts).
    if ((patch.ipAllow !== undefined || patch.ipDeny !== undefined) && !actor.instanceAdmin && actor.ip !== undefined) {
      const current = await this.get(workspaceId);
      const refusal = refusalOf(patch.ipAllow ?? current.ipAllow, patch.ipDeny ?? current.ipDeny, actor.ip);
      if (refusal) throw selfLockout(actor.ip, refusal);
    }
    await this.repos.workspaces.update(workspaceId, { ...patch, name: patch.name?.trim() });
    if (patch.ipAllow !== undefined || patch.ipDeny !== undefined)
      await this.changes.publish({ kind: 'workspace.network_rules_changed', workspaceId });
    return this.get(workspaceId);
  }

  /** `weir admin clear-ip-rules`: the way back from rules that shut everyone out. Answers the workspace as it was. */
  async clearNetworkRules(workspaceId: string): Promise<Workspace> {
    const before = await this.get(workspaceId);
    await this.repos.workspaces.update(workspaceId, { ipAllow: [], ipDeny: [] });
    await this.changes.publish({ kind: 'workspace.network_rules_changed', workspaceId });
    return before;
  }
}

async function slugTaken(e: unknown): Promise<boolean> {
  const { isUniqueViolation } = await import('../db/index.js');
  return isUniqueViolation(e);
}

function slugify(name: string): string {
  return name
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 48);
}

/** 409 naming the caller's address and the rule that would shut it out. */
function selfLockout(ip: string, refusal: RuleRefusal): AppError {
  const [pointer, reason] =
    refusal.list === 'ipDeny'
      ? [`/body/ipDeny/${refusal.index}`, `the ipDeny entry '${refusal.rule}' matches your address ${ip}`]
      : ['/body/ipAllow', `ipAllow does not include your address ${ip}`];
  return new AppError(
    'self_lockout',
    `These network rules would lock you out of this workspace: ${reason}, and you could not change them back. Keep your own address allowed, or ask an instance administrator to set the rules.`,
    [{ pointer, message: reason }],
    { address: ip },
  );
}
