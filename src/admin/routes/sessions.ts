import { z } from 'zod';
import { route, type AdminRoute } from '../route.ts';

const idParams = z.object({ id: z.uuid() });
const stateId = z.string().min(1).max(128).regex(/^[A-Za-z0-9_-]+$/, 'an id from the session or grant list');

const date = z.string().nullable();
const sessionSchema = z.object({ id: z.string(), loginAt: date, createdAt: date, expiresAt: date, clients: z.array(z.string()), amr: z.array(z.string()).nullable() }).meta({ id: 'Session' });
const grantSchema = z.object({
  id: z.string(), clientId: z.string(), scopes: z.array(z.string()), resources: z.record(z.string(), z.array(z.string())),
  createdAt: date, lastUsedAt: date, expiresAt: date,
}).meta({ id: 'Grant' });

const iso = (value: Date | null) => value?.toISOString() ?? null;

export const sessionsRoutes: AdminRoute[] = [
  route({
    method: 'get', path: '/users/:id/sessions', tag: 'sessions', scope: 'admin:read', summary: "A user's sessions and grants (client, scopes, created, last used)",
    params: idParams, response: z.object({ sessions: z.array(sessionSchema), grants: z.array(grantSchema) }),
    async handler({ params, deps }) {
      const { sessions, grants } = await deps.users.sessions({ id: params.id });
      return {
        sessions: sessions.map((session) => ({ id: session.id, loginAt: iso(session.loginAt), createdAt: iso(session.createdAt), expiresAt: iso(session.expiresAt), clients: session.clients, amr: session.amr })),
        grants: grants.map((grant) => ({ id: grant.id, clientId: grant.clientId, scopes: grant.scopes, resources: grant.resources, createdAt: iso(grant.createdAt), lastUsedAt: iso(grant.lastUsedAt), expiresAt: iso(grant.expiresAt) })),
      };
    },
  }),
  route({
    method: 'delete', path: '/users/:id/sessions/:sessionId', tag: 'sessions', scope: 'admin:write', summary: 'End one session and revoke the grants it authorized',
    params: idParams.extend({ sessionId: stateId }),
    handler: async ({ params, deps }) => deps.users.revokeSession({ id: params.id }, params.sessionId),
  }),
  route({
    method: 'delete', path: '/users/:id/grants/:grantId', tag: 'sessions', scope: 'admin:write', summary: 'Revoke one grant and every token issued under it',
    params: idParams.extend({ grantId: stateId }),
    handler: async ({ params, deps }) => deps.users.revokeGrant({ id: params.id }, params.grantId),
  }),
  route({
    method: 'delete', path: '/users/:id/sessions', tag: 'sessions', scope: 'admin:write', summary: 'End every session and revoke every grant and token of a user',
    params: idParams, response: z.object({ revoked: z.number().int() }),
    handler: async ({ params, deps }) => ({ revoked: await deps.users.revokeAll({ id: params.id }) }),
  }),
];
