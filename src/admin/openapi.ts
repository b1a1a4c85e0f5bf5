import { z } from 'zod';
import type { AdminRoute } from './route.ts';

const errorSchema = z.object({ error: z.string().meta({ description: 'stable error code' }), message: z.string() });

const jsonSchema = (schema: z.ZodType) => {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return rest;
};

const errorResponse = (description: string) => ({ description, content: { 'application/json': { schema: jsonSchema(errorSchema) } } });

/** OpenAPI 3.1 (JSON Schema 2020-12) from the same zod schemas that validate the requests. */
/** What differs between the APIs described this way (the admin API, the account API). */
export interface ApiDescription {
  title: string;
  description: string;
  base: string;
  scopes: Record<string, string>;
  /** The OAuth flow its tokens come from. */
  flow: 'clientCredentials' | 'authorizationCode';
}

const ADMIN_API: ApiDescription = {
  title: 'Identity provider admin API', description: 'Users, roles, permissions, clients, API resources, sessions.', base: '/admin/api/v1',
  scopes: { 'admin:read': 'read everything', 'admin:write': 'change everything' }, flow: 'clientCredentials',
};

/** The fields of a route the document needs; admin and account routes both have them. */
export type DescribedRoute = Pick<AdminRoute, 'method' | 'path' | 'summary' | 'tag' | 'params' | 'query' | 'body' | 'response' | 'status' | 'responseType'> & { scope: string };

export function buildOpenApi(routes: DescribedRoute[], issuer: string, api: ApiDescription = ADMIN_API) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const path = route.path.replace(/:(\w+)/g, '{$1}');
    const parameters: unknown[] = [];
    for (const [where, schema] of [['path', route.params], ['query', route.query]] as const) {
      if (!schema) continue;
      const properties = (jsonSchema(schema).properties ?? {}) as Record<string, unknown>;
      const required = new Set((jsonSchema(schema).required ?? []) as string[]);
      for (const [name, property] of Object.entries(properties)) {
        parameters.push({ name, in: where, required: where === 'path' || required.has(name), schema: property });
      }
    }
    const status = String(route.status ?? (route.response ? 200 : 204));
    (paths[path] ??= {})[route.method] = {
      summary: route.summary,
      tags: [route.tag],
      operationId: `${route.method}${path.replace(/[{}]/g, '').split('/').map((part) => part.charAt(0).toUpperCase() + part.slice(1)).join('')}`,
      security: [{ bearer: [route.scope] }],
      ...(parameters.length ? { parameters } : {}),
      ...(route.body ? { requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(route.body) } } } } : {}),
      responses: {
        [status]: route.responseType
          ? { description: 'OK', content: { [route.responseType]: { schema: { type: 'string' } } } }
          : route.response ? { description: 'OK', content: { 'application/json': { schema: jsonSchema(route.response) } } } : { description: 'No content' },
        400: errorResponse('Invalid input'),
        401: errorResponse('Missing, invalid or expired access token'),
        403: errorResponse(`The token lacks ${route.scope}`),
        404: errorResponse('Not found'),
        409: errorResponse('Conflicts with the current state'),
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: api.title, version: '1', description: api.description },
    servers: [{ url: `${issuer}${api.base}` }],
    components: {
      securitySchemes: {
        bearer: {
          type: 'oauth2', description: `Access tokens from ${issuer}/token for resource ${issuer}${api.base}`,
          flows: api.flow === 'clientCredentials'
            ? { clientCredentials: { tokenUrl: `${issuer}/token`, scopes: api.scopes } }
            : { authorizationCode: { authorizationUrl: `${issuer}/auth`, tokenUrl: `${issuer}/token`, scopes: api.scopes } },
        },
      },
    },
    paths,
  };
}
