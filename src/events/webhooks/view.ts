import type { StoredWebhook } from './repository.ts';

/** A webhook as the CLI and the admin API show it: never its secret. */
export interface WebhookView {
  id: string;
  url: string;
  description: string | null;
  events: string[];
  enabled: boolean;
  createdAt: string;
  updatedAt: string;
  /** After a rotation, until when the previous secret still signs beside the new one. */
  previousSecretSignsUntil: string | null;
}

export const webhookView = (webhook: StoredWebhook, now: number): WebhookView => ({
  id: webhook.id,
  url: webhook.url,
  description: webhook.description,
  events: webhook.events,
  enabled: webhook.enabled,
  createdAt: webhook.createdAt.toISOString(),
  updatedAt: webhook.updatedAt.toISOString(),
  previousSecretSignsUntil: webhook.previousSecretUntil && webhook.previousSecretUntil.getTime() > now ? webhook.previousSecretUntil.toISOString() : null,
});
