import { z } from 'zod';
import { route, type AdminRoute } from '../route.ts';
import { permissionSchema, permissionView } from '../views.ts';

const newPermission = z.strictObject({
  resource: z.string().min(1).max(2048).meta({ description: 'the API resource indicator' }),
  name: z.string().min(1).max(128).meta({ description: "one of the resource's scopes" }),
  description: z.string().trim().min(1).max(500).optional(),
}).meta({ id: 'NewPermission' });

export const permissionsRoutes: AdminRoute[] = [
  route({
    method: 'get', path: '/permissions', tag: 'permissions', scope: 'admin:read', summary: 'List permissions, optionally of one API resource',
    query: z.object({ resource: z.string().min(1).max(2048).optional() }),
    response: z.object({ items: z.array(permissionSchema) }),
    handler: async ({ query, deps }) => ({ items: (await deps.rbac.listPermissions(query.resource)).map(permissionView) }),
  }),
  route({
    method: 'post', path: '/permissions', tag: 'permissions', scope: 'admin:write', summary: "Create a permission from one of an API resource's scopes", status: 201,
    body: newPermission, response: permissionSchema,
    handler: async ({ body, deps }) => permissionView(await deps.rbac.createPermission({ indicator: body.resource, name: body.name, description: body.description })),
  }),
  route({
    method: 'get', path: '/permissions/:id', tag: 'permissions', scope: 'admin:read', summary: 'Get a permission',
    params: z.object({ id: z.uuid() }), response: permissionSchema,
    handler: async ({ params, deps }) => permissionView(await deps.rbac.getPermission(params.id)),
  }),
  route({
    method: 'delete', path: '/permissions/:id', tag: 'permissions', scope: 'admin:write', summary: 'Delete a permission: every role holding it loses it',
    params: z.object({ id: z.uuid() }),
    handler: async ({ params, deps }) => deps.rbac.deletePermissionById(params.id),
  }),
];
