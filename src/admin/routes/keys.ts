import { z } from 'zod';
import { route, type AdminRoute } from '../route.ts';
import { signingAlgorithms } from '../../oidc/keys/lifecycle.ts';
import { keyView } from '../../oidc/keys/view.ts';

const date = z.string().nullable();
const keySchema = z.object({
  kid: z.string(),
  alg: z.enum(signingAlgorithms),
  state: z.enum(['next', 'active', 'retired', 'removed']),
  createdAt: z.string(),
  activatedAt: date.describe('when it started signing; for a next key, when it will'),
  rotatesAt: date.describe('when the schedule publishes its successor (active keys, with SIGNING_KEY_ROTATION_DAYS)'),
  retiredAt: date,
  publishedUntil: date.describe('when a retired key leaves the JWKS: every token it signed can have expired by then'),
  removedAt: date,
}).meta({ id: 'SigningKey' });

// A kid is an RFC 7638 thumbprint (base64url) here; anything else is simply not found.
const kidParams = z.object({ kid: z.string().min(1).max(128).regex(/^[A-Za-z0-9_-]+$/, 'a kid from the key list') });

export const keysRoutes: AdminRoute[] = [
  route({
    method: 'get', path: '/keys', tag: 'keys', scope: 'admin:read', summary: 'List the signing keys (never their private parts): next, active and retired ones, and with all=true the removed ones',
    query: z.object({ all: z.enum(['true', 'false']).optional() }), response: z.object({ items: z.array(keySchema) }),
    async handler({ query, deps }) {
      const keys = await deps.signingKeys.list({ all: query.all === 'true' });
      return { items: keys.map((key) => keyView(key, deps.signingKeys.schedule)) };
    },
  }),
  route({
    method: 'post', path: '/keys/rotations', tag: 'keys', scope: 'admin:write', status: 201,
    summary: 'Publish a next key for each algorithm (or alg); it signs after the pre-publication time, or at once with now (a next key already published then takes over); audited (key.rotated)',
    body: z.strictObject({ alg: z.enum(signingAlgorithms).optional(), now: z.boolean().optional() }).meta({ id: 'KeyRotation' }),
    response: z.object({ items: z.array(keySchema) }),
    async handler({ body, deps, actor }) {
      const keys = await deps.signingKeys.rotate({ algs: body.alg ? [body.alg] : undefined, now: body.now, actor: actor.subject ?? actor.clientId });
      return { items: keys.map((key) => keyView(key, deps.signingKeys.schedule)) };
    },
  }),
  route({
    method: 'post', path: '/keys/:kid/retirement', tag: 'keys', scope: 'admin:write',
    summary: 'Stop a key signing: the next key of its algorithm takes over (an active key needs one); it stays published until its tokens can have expired, or leaves at once with now; audited (key.retired)',
    params: kidParams, body: z.strictObject({ now: z.boolean().optional() }).meta({ id: 'KeyRetirement' }), response: keySchema,
    handler: async ({ params, body, deps, actor }) => keyView(await deps.signingKeys.retire({ kid: params.kid, now: body.now, actor: actor.subject ?? actor.clientId }), deps.signingKeys.schedule),
  }),
];
