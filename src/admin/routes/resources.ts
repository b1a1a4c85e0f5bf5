import { accountResourceIndicator } from '../../account/api/resource.ts';
import { z } from 'zod';
import { route, type AdminRoute } from '../route.ts';
import { resourceGrantSchema, resourceSchema, resourceView } from '../views.ts';
import { clientIdSchema } from '../../clients/service.ts';

// The indicator is a URL, so in a path it is percent-encoded (encodeURIComponent) into one segment.
const indicatorParams = z.object({ indicator: z.string().min(1).max(2048).meta({ description: 'the resource indicator, URL-encoded' }) });
const grantParams = indicatorParams.extend({ clientId: clientIdSchema });
const scopes = z.array(z.string().min(1).max(128)).max(200);
const ttl = z.number().int().min(1).max(86_400).meta({ description: 'access token lifetime in seconds (1-86400)' });
const name = z.string().trim().min(1).max(200);

const newResource = z.strictObject({
  indicator: z.string().min(1).max(2048).meta({ description: 'an absolute URI without a fragment, e.g. https://api.example.com' }),
  name: name.optional(),
  scopes,
  accessTokenTtl: ttl.optional(),
}).meta({ id: 'NewResource' });

const resourceUpdate = z.strictObject({
  name: name.nullable().optional(),
  scopes: scopes.optional().meta({ description: "the resource's scopes; permissions and client grants of scopes left out are deleted" }),
  accessTokenTtl: ttl.optional(),
}).meta({ id: 'ResourceUpdate' });

export const resourcesRoutes: AdminRoute[] = [
  route({
    method: 'get', path: '/resources', tag: 'resources', scope: 'admin:read', summary: 'List API resources',
    response: z.object({ items: z.array(resourceSchema) }),
    handler: async ({ deps }) => ({ items: (await deps.resources.list()).map(resourceView) }),
  }),
  route({
    method: 'post', path: '/resources', tag: 'resources', scope: 'admin:write', summary: 'Register an API resource', status: 201,
    body: newResource, response: resourceSchema,
    handler: async ({ body, deps }) => resourceView(await deps.resources.create({ indicator: body.indicator, name: body.name, scopes: body.scopes, ttl: body.accessTokenTtl })),
  }),
  route({
    method: 'get', path: '/resources/:indicator', tag: 'resources', scope: 'admin:read', summary: 'Get an API resource',
    params: indicatorParams, response: resourceSchema,
    handler: async ({ params, deps }) => resourceView(await deps.resources.get(params.indicator)),
  }),
  route({
    method: 'patch', path: '/resources/:indicator', tag: 'resources', scope: 'admin:write', summary: "Change an API resource's name, scopes or token lifetime; the next token request uses the change",
    params: indicatorParams, body: resourceUpdate, response: resourceSchema,
    handler: async ({ params, body, deps }) => resourceView(await deps.resources.update(params.indicator, body, { protectedIndicators: [deps.adminResource, accountResourceIndicator(deps.config.issuer)] })),
  }),
  route({
    method: 'delete', path: '/resources/:indicator', tag: 'resources', scope: 'admin:write', summary: 'Delete an API resource with its permissions and client grants',
    params: indicatorParams,
    handler: async ({ params, deps }) => deps.resources.delete(params.indicator, { protectedIndicators: [deps.adminResource, accountResourceIndicator(deps.config.issuer)] }),
  }),
  route({
    method: 'get', path: '/resources/:indicator/grants', tag: 'resources', scope: 'admin:read', summary: "Which clients may receive which of the resource's scopes",
    params: indicatorParams, response: z.object({ items: z.array(resourceGrantSchema) }),
    handler: async ({ params, deps }) => ({
      items: (await deps.resources.grants(params.indicator)).map((grant) => ({ clientId: grant.clientId, resource: grant.indicator, scopes: grant.scopes })),
    }),
  }),
  route({
    method: 'put', path: '/resources/:indicator/grants/:clientId', tag: 'resources', scope: 'admin:write', summary: "Set which of the resource's scopes a client may receive (replaces an earlier grant)",
    params: grantParams, body: z.strictObject({ scopes }).meta({ id: 'ResourceGrantScopes' }), response: resourceGrantSchema,
    async handler({ params, body, deps }) {
      await deps.resources.grant(params.clientId, params.indicator, body.scopes);
      const grant = await deps.resources.grantFor(params.clientId, params.indicator);
      return { clientId: params.clientId, resource: params.indicator, scopes: grant?.scopes ?? [] };
    },
  }),
  route({
    method: 'delete', path: '/resources/:indicator/grants/:clientId', tag: 'resources', scope: 'admin:write', summary: "Remove a client's grant on the resource",
    params: grantParams,
    handler: async ({ params, deps }) => deps.resources.revokeGrant(params.clientId, params.indicator),
  }),
];
