import { z } from 'zod';
import { route, type AdminRoute } from '../route.ts';
import { roleSchema, roleView } from '../views.ts';

// The roles table's own rule (migrations/0002_roles.sql).
export const roleName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/, 'role names are 1-64 letters, digits and _ . : -, starting with a letter or digit');
const description = z.string().trim().min(1).max(500);

const nameParams = z.object({ name: roleName });
const compositeParams = nameParams.extend({ child: roleName });
const permissionParams = nameParams.extend({ permissionId: z.uuid() });

const newRole = z.strictObject({
  name: roleName,
  description: description.optional(),
}).meta({ id: 'NewRole' });

const roleUpdate = z.strictObject({
  description: description.nullable(),
}).meta({ id: 'RoleUpdate' });

export const rolesRoutes: AdminRoute[] = [
  route({
    method: 'get', path: '/roles', tag: 'roles', scope: 'admin:read', summary: 'List roles with their direct composites and permissions',
    response: z.object({ items: z.array(roleSchema) }),
    handler: async ({ deps }) => ({ items: (await deps.rbac.listRoles()).map(roleView) }),
  }),
  route({
    method: 'post', path: '/roles', tag: 'roles', scope: 'admin:write', summary: 'Create a role', status: 201,
    body: newRole, response: roleSchema,
    handler: async ({ body, deps }) => roleView(await deps.rbac.createRole(body)),
  }),
  route({
    method: 'get', path: '/roles/:name', tag: 'roles', scope: 'admin:read', summary: 'Get a role',
    params: nameParams, response: roleSchema,
    handler: async ({ params, deps }) => roleView(await deps.rbac.getRole(params.name)),
  }),
  route({
    method: 'patch', path: '/roles/:name', tag: 'roles', scope: 'admin:write', summary: "Change a role's description",
    params: nameParams, body: roleUpdate, response: roleSchema,
    handler: async ({ params, body, deps }) => roleView(await deps.rbac.updateRole(params.name, body)),
  }),
  route({
    method: 'delete', path: '/roles/:name', tag: 'roles', scope: 'admin:write', summary: 'Delete a role: whoever held it, directly or through a composite, no longer does',
    params: nameParams,
    handler: async ({ params, deps }) => deps.rbac.deleteRole(params.name),
  }),
  route({
    method: 'put', path: '/roles/:name/composites/:child', tag: 'roles', scope: 'admin:write', summary: 'Make a role include another (refused if that would make a cycle)',
    params: compositeParams, response: roleSchema,
    handler: async ({ params, deps }) => roleView(await deps.rbac.addComposite(params.name, params.child)),
  }),
  route({
    method: 'delete', path: '/roles/:name/composites/:child', tag: 'roles', scope: 'admin:write', summary: 'Stop a role including another',
    params: compositeParams, response: roleSchema,
    handler: async ({ params, deps }) => roleView(await deps.rbac.removeComposite(params.name, params.child)),
  }),
  route({
    method: 'put', path: '/roles/:name/permissions/:permissionId', tag: 'roles', scope: 'admin:write', summary: 'Grant a permission to a role',
    params: permissionParams, response: roleSchema,
    handler: async ({ params, deps }) => roleView(await deps.rbac.grantPermissionById(params.name, params.permissionId)),
  }),
  route({
    method: 'delete', path: '/roles/:name/permissions/:permissionId', tag: 'roles', scope: 'admin:write', summary: 'Revoke a permission from a role',
    params: permissionParams, response: roleSchema,
    handler: async ({ params, deps }) => roleView(await deps.rbac.revokePermissionById(params.name, params.permissionId)),
  }),
];
