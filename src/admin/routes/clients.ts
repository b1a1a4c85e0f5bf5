import { z } from 'zod';
import { route, type AdminRoute } from '../route.ts';
import { clientSchema, clientView, clientWithSecretSchema } from '../views.ts';
import { clientIdSchema, clientUpdateSchema, newClientSchema } from '../../clients/service.ts';
import type { StoredClient } from '../../clients/repository.ts';
import type { AdminDeps } from '../deps.ts';
import { roleName } from './roles.ts';

const idParams = z.object({ id: clientIdSchema });

// The service's own schemas, so the API and the CLI accept the same clients. The API always
// generates the secret (returned once), so it takes none.
const newClient = z.strictObject(newClientSchema.omit({ secret: true }).shape).meta({ id: 'NewClient' });
const clientUpdate = z.strictObject(clientUpdateSchema.shape).meta({ id: 'ClientUpdate' });

const withRoles = async (deps: AdminDeps, client: StoredClient) => clientView(client, await deps.rbac.clientRoles(client.id));

export const clientsRoutes: AdminRoute[] = [
  route({
    method: 'get', path: '/clients', tag: 'clients', scope: 'admin:read', summary: 'List clients (secrets are never shown)',
    response: z.object({ items: z.array(clientSchema) }),
    async handler({ deps }) {
      const clients = await deps.clients.list();
      const roles = await deps.rbac.rolesOfClients(clients.map((client) => client.id));
      return { items: clients.map((client) => clientView(client, roles.get(client.id) ?? [])) };
    },
  }),
  route({
    method: 'post', path: '/clients', tag: 'clients', scope: 'admin:write', summary: 'Register a client; a confidential one gets a generated secret, returned only in this answer', status: 201,
    body: newClient, response: clientWithSecretSchema,
    async handler({ body, deps }) {
      const { client, secret } = await deps.clients.create(body);
      return { client: clientView(client, []), secret };
    },
  }),
  route({
    method: 'get', path: '/clients/:id', tag: 'clients', scope: 'admin:read', summary: 'Get a client (never its secret)',
    params: idParams, response: clientSchema,
    handler: async ({ params, deps }) => withRoles(deps, await deps.clients.get(params.id)),
  }),
  route({
    method: 'patch', path: '/clients/:id', tag: 'clients', scope: 'admin:write', summary: "Change a client's settings (checked with the same rules as a new client); the secret is kept",
    params: idParams, body: clientUpdate, response: clientSchema,
    handler: async ({ params, body, deps }) => withRoles(deps, await deps.clients.update(params.id, body)),
  }),
  route({
    method: 'delete', path: '/clients/:id', tag: 'clients', scope: 'admin:write', summary: 'Delete a client with its roles and resource grants',
    params: idParams,
    handler: async ({ params, deps }) => deps.clients.delete(params.id),
  }),
  route({
    method: 'post', path: '/clients/:id/secret', tag: 'clients', scope: 'admin:write', summary: 'Rotate the secret: a new one, returned only in this answer; the old one stops working at once',
    params: idParams, response: clientWithSecretSchema,
    async handler({ params, deps }) {
      const { client, secret } = await deps.clients.rotateSecret(params.id);
      return { client: await withRoles(deps, client), secret };
    },
  }),
  route({
    method: 'put', path: '/clients/:id/roles', tag: 'clients', scope: 'admin:write', summary: "Set the roles a client holds directly (they shape its client-credentials tokens)",
    params: idParams, body: z.strictObject({ roles: z.array(roleName).max(100) }).meta({ id: 'ClientRoles' }), response: clientSchema,
    async handler({ params, body, deps }) {
      const client = await deps.clients.get(params.id);
      await deps.rbac.setClientRoles(client.id, body.roles);
      return withRoles(deps, client);
    },
  }),
];
