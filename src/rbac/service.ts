import type { Database, Queryable } from '../db/database.ts';
import { noConfigCache, type ConfigCache } from '../cache/config-cache.ts';
import { AppError } from '../errors.ts';
import { findRoleByName, insertAccountRole, insertRole, type Role } from '../accounts/roles-repository.ts';
import { findResourceByIndicator } from '../resources/repository.ts';
import { findClientAccess, findEffective, wouldCycle, type ClientAccess, type Effective } from './effective.ts';
import {
  deleteComposite, deletePermission, deletePermissionById, deleteRole, deleteRolePermission, findClientRoleNames, findClientRoleNamesByClient,
  findPermission, findPermissionById, findRoleDetails, insertComposite, insertPermission, insertRolePermission, listPermissions, listRoleDetails,
  replaceAccountRoles, replaceClientRoles, updateRoleDescription, type Permission, type RoleDetails,
} from './repository.ts';

export type RbacService = ReturnType<typeof createRbacService>;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Roles, permissions, composites and who holds what. The CLI and the admin API both call this.
 * The lookups made while issuing tokens go through `cache` (see src/cache/config-cache.ts).
 */
export function createRbacService(db: Database, cache: ConfigCache = noConfigCache) {
  async function requireRole(tx: Queryable, name: string): Promise<Role> {
    const role = await findRoleByName(tx, name);
    if (!role) throw new AppError('role.not_found', `no role named ${name}`);
    return role;
  }

  async function requirePermission(tx: Queryable, indicator: string, name: string): Promise<Permission> {
    const permission = await findPermission(tx, indicator, name);
    if (!permission) throw new AppError('permission.not_found', `no permission ${name} on ${indicator}`);
    return permission;
  }

  async function requirePermissionById(tx: Queryable, id: string): Promise<Permission> {
    // Not a uuid cannot name a permission (and would make PostgreSQL refuse the cast).
    const permission = UUID.test(id) ? await findPermissionById(tx, id) : null;
    if (!permission) throw new AppError('permission.not_found', `no permission with id ${id}`);
    return permission;
  }

  async function requireRoleIds(tx: Queryable, names: string[]): Promise<string[]> {
    const ids: string[] = [];
    for (const name of [...new Set(names)]) ids.push((await requireRole(tx, name)).id);
    return ids;
  }

  const requireDetails = async (name: string): Promise<RoleDetails> => {
    const role = await findRoleDetails(db, name);
    if (!role) throw new AppError('role.not_found', `no role named ${name}`);
    return role;
  };

  return {
    listRoles: (): Promise<RoleDetails[]> => listRoleDetails(db),
    getRole: requireDetails,

    async createRole(input: { name: string; description?: string | null | undefined }): Promise<RoleDetails> {
      await insertRole(db, input.name, input.description ?? null);
      return requireDetails(input.name);
    },

    async updateRole(name: string, input: { description: string | null }): Promise<RoleDetails> {
      if (!(await updateRoleDescription(db, name, input.description))) throw new AppError('role.not_found', `no role named ${name}`);
      return requireDetails(name);
    },

    async deleteRole(name: string): Promise<void> {
      if (!(await deleteRole(db, name))) throw new AppError('role.not_found', `no role named ${name}`);
    },

    /**
     * Makes `parent` include `child`. The check and the insert run under a table lock, so two
     * concurrent additions cannot together close a cycle that each alone would not.
     */
    async addComposite(parent: string, child: string): Promise<RoleDetails> {
      await db.transaction(async (tx) => {
        await tx.query('LOCK TABLE role_composites IN SHARE ROW EXCLUSIVE MODE');
        const [parentRole, childRole] = [await requireRole(tx, parent), await requireRole(tx, child)];
        if (await wouldCycle(tx, parentRole.id, childRole.id)) {
          throw new AppError('role.cycle', parent === child
            ? `a role cannot include itself (${parent})`
            : `${parent} cannot include ${child}: ${child} already includes ${parent}, directly or through other roles, which would make a cycle`);
        }
        await insertComposite(tx, parentRole.id, childRole.id);
      });
      return requireDetails(parent);
    },

    async removeComposite(parent: string, child: string): Promise<RoleDetails> {
      const [parentRole, childRole] = [await requireRole(db, parent), await requireRole(db, child)];
      if (!(await deleteComposite(db, parentRole.id, childRole.id))) throw new AppError('role.not_member', `${parent} does not include ${child}`);
      return requireDetails(parent);
    },

    listPermissions: (indicator?: string): Promise<Permission[]> => listPermissions(db, indicator),

    /** A permission is one of its API resource's scopes; the resource must declare it. */
    async createPermission(input: { indicator: string; name: string; description?: string | null | undefined }): Promise<Permission> {
      const resource = await findResourceByIndicator(db, input.indicator);
      if (!resource) throw new AppError('resource.not_found', `no API resource ${input.indicator}`);
      if (!resource.scopes.includes(input.name)) {
        throw new AppError('permission.unknown_scope', `${input.indicator} has no scope ${input.name}; its scopes are: ${resource.scopes.join(' ') || '(none)'}`);
      }
      return insertPermission(db, { indicator: input.indicator, name: input.name, description: input.description ?? null });
    },

    async deletePermission(indicator: string, name: string): Promise<void> {
      if (!(await deletePermission(db, indicator, name))) throw new AppError('permission.not_found', `no permission ${name} on ${indicator}`);
    },

    async grantPermission(role: string, indicator: string, name: string): Promise<RoleDetails> {
      await db.transaction(async (tx) => insertRolePermission(tx, (await requireRole(tx, role)).id, (await requirePermission(tx, indicator, name)).id));
      return requireDetails(role);
    },

    async revokePermission(role: string, indicator: string, name: string): Promise<RoleDetails> {
      const removed = await db.transaction(async (tx) => deleteRolePermission(tx, (await requireRole(tx, role)).id, (await requirePermission(tx, indicator, name)).id));
      if (!removed) throw new AppError('role.permission_not_granted', `${role} does not hold ${name} on ${indicator}`);
      return requireDetails(role);
    },

    getPermission: (id: string): Promise<Permission> => requirePermissionById(db, id),

    async deletePermissionById(id: string): Promise<void> {
      if (!UUID.test(id) || !(await deletePermissionById(db, id))) throw new AppError('permission.not_found', `no permission with id ${id}`);
    },

    /** Grants a permission, named by its id, to a role (granting it again changes nothing). */
    async grantPermissionById(role: string, permissionId: string): Promise<RoleDetails> {
      await db.transaction(async (tx) => insertRolePermission(tx, (await requireRole(tx, role)).id, (await requirePermissionById(tx, permissionId)).id));
      return requireDetails(role);
    },

    async revokePermissionById(role: string, permissionId: string): Promise<RoleDetails> {
      await db.transaction(async (tx) => {
        const [roleRow, permission] = [await requireRole(tx, role), await requirePermissionById(tx, permissionId)];
        if (!(await deleteRolePermission(tx, roleRow.id, permission.id))) {
          throw new AppError('role.permission_not_granted', `${role} does not hold ${permission.name} on ${permission.indicator}`);
        }
      });
      return requireDetails(role);
    },

    /** Adds one role to those an account holds directly. */
    async grantAccountRole(accountId: string, role: string): Promise<void> {
      await db.transaction(async (tx) => insertAccountRole(tx, accountId, (await requireRole(tx, role)).id));
    },

    /** Replaces the roles an account holds directly (every name must exist). */
    async setAccountRoles(accountId: string, roles: string[]): Promise<void> {
      await db.transaction(async (tx) => replaceAccountRoles(tx, accountId, await requireRoleIds(tx, roles)));
    },

    async setClientRoles(clientId: string, roles: string[]): Promise<void> {
      await db.transaction(async (tx) => replaceClientRoles(tx, clientId, await requireRoleIds(tx, roles)));
    },

    clientRoles: (clientId: string): Promise<string[]> => findClientRoleNames(db, clientId),
    /** Roles held directly by each of several clients, in one query (for lists). */
    rolesOfClients: (clientIds: string[]): Promise<Map<string, string[]>> => findClientRoleNamesByClient(db, clientIds),
    forAccount: (accountId: string): Promise<Effective> => cache.get(`account-effective:${accountId}`, () => findEffective(db, 'account', accountId)),
    forClient: (clientId: string): Promise<Effective> => cache.get(`client-effective:${clientId}`, () => findEffective(db, 'client', clientId)),
    /** A client's grant, roles and role permissions for one resource, in one query (token endpoint). */
    clientAccess: (clientId: string, indicator: string): Promise<ClientAccess | null> =>
      cache.get(`client-access:${clientId}\n${indicator}`, () => findClientAccess(db, clientId, indicator)),
  };
}
