import { z } from 'zod';
import { route, type AdminRoute } from '../route.ts';
import { newWebhookSchema, webhookUpdateSchema } from '../../events/webhooks/service.ts';
import { webhookView } from '../../events/webhooks/view.ts';
import type { StoredWebhook } from '../../events/webhooks/repository.ts';
import type { AdminDeps } from '../deps.ts';

const idParams = z.object({ id: z.uuid('a webhook id is a UUID, from the webhook list') });

const webhookSchema = z.object({
  id: z.uuid(),
  url: z.string(),
  description: z.string().nullable(),
  events: z.array(z.string()).describe('event names and prefixes (login.*); empty: every event'),
  enabled: z.boolean(),
  createdAt: z.string(),
  updatedAt: z.string(),
  previousSecretSignsUntil: z.string().nullable().describe('after a rotation, until when the previous secret still signs beside the new one'),
}).meta({ id: 'Webhook' });
const withSecretSchema = z.object({
  webhook: webhookSchema,
  secret: z.string().describe('the signing secret (whsec_…), for the receiver\'s Standard Webhooks library; returned only in this answer'),
}).meta({ id: 'WebhookWithSecret' });

// The service's own schemas, so the API and the CLI accept the same webhooks.
const newWebhook = z.strictObject(newWebhookSchema.shape).meta({ id: 'NewWebhook' });
const webhookUpdate = z.strictObject(webhookUpdateSchema.shape).meta({ id: 'WebhookUpdate' });

const actorOf = (actor: { subject: string | null; clientId: string }) => actor.subject ?? actor.clientId;
const view = (deps: AdminDeps, webhook: StoredWebhook) => webhookView(webhook, deps.clock.now());

export const webhooksRoutes: AdminRoute[] = [
  route({
    method: 'get', path: '/webhooks', tag: 'webhooks', scope: 'admin:read', summary: 'List the webhooks (secrets are never shown)',
    response: z.object({ items: z.array(webhookSchema) }),
    handler: async ({ deps }) => ({ items: (await deps.webhooks.list()).map((webhook) => view(deps, webhook)) }),
  }),
  route({
    method: 'post', path: '/webhooks', tag: 'webhooks', scope: 'admin:write', status: 201,
    summary: 'Add a webhook: the audit events its filter matches are POSTed to it, signed (Standard Webhooks); its secret is returned only in this answer; audited (webhook.created)',
    body: newWebhook, response: withSecretSchema,
    async handler({ body, deps, actor }) {
      const { webhook, secret } = await deps.webhooks.create(body, actorOf(actor));
      return { webhook: view(deps, webhook), secret };
    },
  }),
  route({
    method: 'get', path: '/webhooks/:id', tag: 'webhooks', scope: 'admin:read', summary: 'Get a webhook (never its secret)',
    params: idParams, response: webhookSchema,
    handler: async ({ params, deps }) => view(deps, await deps.webhooks.get(params.id)),
  }),
  route({
    method: 'patch', path: '/webhooks/:id', tag: 'webhooks', scope: 'admin:write', summary: "Change a webhook's URL, filter, description or whether it is enabled; audited (webhook.updated)",
    params: idParams, body: webhookUpdate, response: webhookSchema,
    handler: async ({ params, body, deps, actor }) => view(deps, await deps.webhooks.update(params.id, body, actorOf(actor))),
  }),
  route({
    method: 'delete', path: '/webhooks/:id', tag: 'webhooks', scope: 'admin:write', summary: 'Delete a webhook; deliveries still queued for it are dropped; audited (webhook.deleted)',
    params: idParams,
    handler: async ({ params, deps, actor }) => deps.webhooks.delete(params.id, actorOf(actor)),
  }),
  route({
    method: 'post', path: '/webhooks/:id/secret', tag: 'webhooks', scope: 'admin:write',
    summary: 'Rotate the signing secret: a new one, returned only in this answer; the previous one signs beside it for 24 hours, or stops at once with now=true; audited (webhook.secret_rotated)',
    params: idParams, query: z.object({ now: z.enum(['true', 'false']).optional() }), response: withSecretSchema,
    async handler({ params, query, deps, actor }) {
      const { webhook, secret } = await deps.webhooks.rotateSecret(params.id, { now: query.now === 'true' }, actorOf(actor));
      return { webhook: view(deps, webhook), secret };
    },
  }),
  route({
    method: 'post', path: '/webhooks/:id/test', tag: 'webhooks', scope: 'admin:write', status: 202,
    summary: 'Record a webhook.test event, delivered to this webhook only (whatever its filter, even while disabled)',
    params: idParams, response: z.object({ eventId: z.string().describe('the audit event id; the delivery\'s webhook-id is evt_<eventId>') }),
    handler: async ({ params, deps, actor }) => deps.webhooks.test(params.id, actorOf(actor)),
  }),
];
