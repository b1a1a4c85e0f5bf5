import { z } from 'zod';
import { route, type AdminRoute } from '../route.ts';
import { userSchema, userView } from '../views.ts';
import { decodeCursor, encodeCursor, pageQuery } from '../pagination.ts';

const idParams = z.object({ id: z.uuid() });

const mfaListSchema = z.object({
  factors: z.array(z.object({
    id: z.string(), kind: z.enum(['totp', 'webauthn']), name: z.string(), confirmed: z.boolean(), createdAt: z.string(), lastUsedAt: z.string().nullable(),
    // Passkeys only (null for authenticator apps): synced or device-bound, and how it is reached.
    backedUp: z.boolean().nullable(), deviceType: z.enum(['singleDevice', 'multiDevice']).nullable(), transports: z.array(z.string()).nullable(),
  })),
  recoveryCodesLeft: z.number().int(),
}).meta({ id: 'UserSecondFactors' });
const text = z.string().trim().min(1).max(200);

const newUser = z.strictObject({
  email: z.string(),
  password: z.string().optional(),
  name: text.optional(),
  givenName: text.optional(),
  familyName: text.optional(),
  emailVerified: z.boolean().default(false),
  roles: z.array(z.string()).default([]),
}).meta({ id: 'NewUser' });

const profile = z.strictObject({
  name: text.nullable().optional(),
  givenName: text.nullable().optional(),
  familyName: text.nullable().optional(),
  picture: z.url({ protocol: /^https$/ }).nullable().optional(),
  locale: z.string().regex(/^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$/, 'must be a BCP 47 language tag').nullable().optional(),
  emailVerified: z.boolean().optional(),
}).meta({ id: 'UserProfile' });

export const userRoutes: AdminRoute[] = [
  route({
    method: 'get', path: '/users', tag: 'users', scope: 'admin:read', summary: 'List users (search by email or name; cursor pagination, oldest first)',
    query: pageQuery.extend({ search: z.string().trim().max(254).optional() }),
    response: z.object({ items: z.array(userSchema), nextCursor: z.string().nullable() }),
    async handler({ query, deps }) {
      const items = await deps.users.page({ search: query.search || undefined, after: decodeCursor(query.cursor), limit: query.limit + 1 });
      const page = items.slice(0, query.limit);
      const last = page.at(-1);
      return { items: page.map(userView), nextCursor: items.length > query.limit && last ? encodeCursor(last) : null };
    },
  }),
  route({
    method: 'post', path: '/users', tag: 'users', scope: 'admin:write', summary: 'Create a user', status: 201,
    body: newUser, response: userSchema,
    handler: async ({ body, deps }) => userView(await deps.users.create(body)),
  }),
  route({
    method: 'get', path: '/users/:id', tag: 'users', scope: 'admin:read', summary: 'Get a user',
    params: idParams, response: userSchema,
    handler: async ({ params, deps }) => userView(await deps.users.get({ id: params.id })),
  }),
  route({
    method: 'patch', path: '/users/:id', tag: 'users', scope: 'admin:write', summary: "Update a user's profile",
    params: idParams, body: profile, response: userSchema,
    handler: async ({ params, body, deps }) => userView(await deps.users.updateProfile({ id: params.id }, body)),
  }),
  route({
    method: 'put', path: '/users/:id/roles', tag: 'users', scope: 'admin:write', summary: 'Set the roles a user holds directly',
    params: idParams, body: z.strictObject({ roles: z.array(z.string()).max(100) }), response: userSchema,
    handler: async ({ params, body, deps }) => userView(await deps.users.setRoles({ id: params.id }, body.roles)),
  }),
  route({
    method: 'post', path: '/users/:id/disable', tag: 'users', scope: 'admin:write', summary: 'Disable a user: ends their sessions and revokes their grants and tokens',
    params: idParams, response: userSchema,
    handler: async ({ params, deps, actor }) => userView(await deps.users.setDisabled({ id: params.id }, true, actor.subject ?? actor.clientId)),
  }),
  route({
    method: 'post', path: '/users/:id/enable', tag: 'users', scope: 'admin:write', summary: 'Enable a disabled user',
    params: idParams, response: userSchema,
    handler: async ({ params, deps, actor }) => userView(await deps.users.setDisabled({ id: params.id }, false, actor.subject ?? actor.clientId)),
  }),
  route({
    method: 'delete', path: '/users/:id', tag: 'users', scope: 'admin:write', summary: 'Delete a user after revoking everything they hold',
    params: idParams,
    handler: async ({ params, deps, actor }) => deps.users.delete({ id: params.id }, actor.subject ?? actor.clientId),
  }),
  route({
    method: 'get', path: '/users/:id/mfa', tag: 'users', scope: 'admin:read', summary: "List a user's second factors (never their secrets) and recovery codes left",
    params: idParams, response: mfaListSchema,
    async handler({ params, deps }) {
      const listed = await deps.mfaAdmin.list({ id: params.id });
      return {
        factors: listed.factors.map((factor) => ({ ...factor, createdAt: factor.createdAt.toISOString(), lastUsedAt: factor.lastUsedAt?.toISOString() ?? null })),
        recoveryCodesLeft: listed.recoveryCodesLeft,
      };
    },
  }),
  route({
    method: 'delete', path: '/users/:id/mfa', tag: 'users', scope: 'admin:write', summary: "Remove all of a user's second factors and recovery codes (lost device); audited",
    params: idParams, response: z.object({ removed: z.number().int() }),
    handler: async ({ params, deps, actor }) => deps.mfaAdmin.reset({ id: params.id }, undefined, actor.subject ?? actor.clientId),
  }),
  route({
    method: 'delete', path: '/users/:id/mfa/:factorId', tag: 'users', scope: 'admin:write', summary: "Remove one of a user's second factors; audited",
    params: z.object({ id: z.uuid(), factorId: z.uuid() }), response: z.object({ removed: z.number().int() }),
    handler: async ({ params, deps, actor }) => deps.mfaAdmin.reset({ id: params.id }, params.factorId, actor.subject ?? actor.clientId),
  }),
];
