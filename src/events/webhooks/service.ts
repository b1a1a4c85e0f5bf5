import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Database, Queryable } from '../../db/database.ts';
import type { AuditLog } from '../../audit/service.ts';
import type { Clock } from '../../clock.ts';
import { AppError } from '../../errors.ts';
import { httpsUrlProblem } from '../../clients/service.ts';
import { eventPatternProblem } from '../event-types.ts';
import type { JobQueue, QueueDefinition } from '../queue.ts';
import { WEBHOOK_QUEUE } from './outbox.ts';
import { generateWebhookSecret, type WebhookSealer } from './secret.ts';
import {
  deleteWebhook, findWebhookById, insertWebhook, listWebhooks, replaceWebhookSecret, updateWebhook, type StoredWebhook,
} from './repository.ts';

/** After a rotation the previous secret signs beside the new one this long, unless dropped at once. */
export const PREVIOUS_SECRET_SECONDS = 86_400;

const URL_RULE = 'a webhook URL must be https (http only on 127.0.0.1, [::1] or localhost)';

export const webhookIdSchema = z.uuid('a webhook id is a UUID, from webhook list');

const fields = {
  url: z.string().max(2000).superRefine((value, ctx) => {
    const problem = httpsUrlProblem(value, URL_RULE);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  }).meta({ description: 'where deliveries are POSTed: https, or http on 127.0.0.1, [::1] or localhost' }),
  events: z.array(z.string().max(100).superRefine((value, ctx) => {
    const problem = eventPatternProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  })).max(100).meta({ description: 'audit event names (login.failed) or prefixes (login.*); empty: every event' }),
  description: z.string().trim().min(1).max(200),
};

export const newWebhookSchema = z.object({
  url: fields.url,
  events: fields.events.optional(),
  description: fields.description.optional(),
  enabled: z.boolean().optional().meta({ description: 'default: true' }),
});

/** A change: only the fields given change; a null description clears it. */
export const webhookUpdateSchema = z.object({
  url: fields.url.optional(),
  events: fields.events.optional(),
  description: fields.description.nullable().optional(),
  enabled: z.boolean().optional(),
});

export type NewWebhook = z.input<typeof newWebhookSchema>;
export type WebhookUpdate = z.input<typeof webhookUpdateSchema>;

function parse<T extends z.ZodType>(schema: T, input: unknown): z.output<T> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  throw new AppError('webhook.invalid', `${issue.path.join('.') || 'webhook'}: ${issue.message}`);
}

/** Who made a change, for the audit trail: `cli`, or the admin API caller's subject or client id. */
export type WebhookActor = string;

export type WebhookService = ReturnType<typeof createWebhookService>;

/** The host alone goes into the audit trail and the logs: a webhook URL's path often holds a token of its own. */
const hostOf = (url: string): string => new URL(url).host;

export interface WebhookServiceOptions {
  db: Database;
  sealer: WebhookSealer;
  audit: AuditLog;
  jobs: JobQueue;
  clock: Clock;
  /** The delivery queue's settings, declared again by create so a webhook made before any server ran has its queue. */
  queue: QueueDefinition;
}

/**
 * The webhooks operators configure (CLI and admin API alike): each change is audited in its own
 * transaction, and a secret is returned only by create and rotateSecret, never stored in clear.
 */
export function createWebhookService({ db, sealer, audit, jobs, clock, queue }: WebhookServiceOptions) {
  const find = async (q: Queryable, id: string): Promise<StoredWebhook> => {
    const webhook = webhookIdSchema.safeParse(id).success ? await findWebhookById(q, id) : null;
    if (!webhook) throw new AppError('webhook.not_found', `no webhook ${id}; see webhook list`);
    return webhook;
  };

  return {
    async create(input: NewWebhook, actor: WebhookActor): Promise<{ webhook: StoredWebhook; secret: string }> {
      const fields = parse(newWebhookSchema, input);
      await jobs.define(WEBHOOK_QUEUE, queue);
      const id = randomUUID();
      const secret = generateWebhookSecret();
      const webhook = await db.transaction(async (tx) => {
        const created = await insertWebhook(tx, {
          id, url: fields.url, description: fields.description ?? null, events: fields.events ?? [], enabled: fields.enabled ?? true, secretSealed: sealer.seal(secret, id),
        });
        await audit.record({ event: 'webhook.created', details: { actor, webhookId: id, host: hostOf(created.url), events: created.events, enabled: created.enabled } }, tx);
        return created;
      });
      return { webhook, secret };
    },

    list: (): Promise<StoredWebhook[]> => listWebhooks(db),

    get: (id: string): Promise<StoredWebhook> => find(db, id),

    async update(id: string, input: WebhookUpdate, actor: WebhookActor): Promise<StoredWebhook> {
      const change = parse(webhookUpdateSchema, input);
      return db.transaction(async (tx) => {
        await find(tx, id);
        const updated = (await updateWebhook(tx, id, change))!;
        const changed = Object.keys(change).filter((key) => change[key as keyof typeof change] !== undefined);
        await audit.record({ event: 'webhook.updated', details: { actor, webhookId: id, host: hostOf(updated.url), changed, events: updated.events, enabled: updated.enabled } }, tx);
        return updated;
      });
    },

    /** A new secret, returned once; the old one keeps signing beside it for a day unless `now`. */
    async rotateSecret(id: string, options: { now?: boolean | undefined }, actor: WebhookActor): Promise<{ webhook: StoredWebhook; secret: string }> {
      const secret = generateWebhookSecret();
      const webhook = await db.transaction(async (tx) => {
        const current = await find(tx, id);
        const previous = options.now ? null : { sealed: current.secretSealed, until: new Date(clock.now() + PREVIOUS_SECRET_SECONDS * 1000) };
        const rotated = (await replaceWebhookSecret(tx, id, sealer.seal(secret, id), previous))!;
        await audit.record({ event: 'webhook.secret_rotated', reason: options.now ? 'old_secret_dropped' : 'old_secret_kept', details: { actor, webhookId: id, host: hostOf(rotated.url), previousSignsUntil: previous?.until.toISOString() ?? null } }, tx);
        return rotated;
      });
      return { webhook, secret };
    },

    async delete(id: string, actor: WebhookActor): Promise<void> {
      await db.transaction(async (tx) => {
        await find(tx, id);
        const deleted = (await deleteWebhook(tx, id))!;
        await audit.record({ event: 'webhook.deleted', details: { actor, webhookId: id, host: hostOf(deleted.url) } }, tx);
      });
    },

    /** Records a webhook.test event, delivered to this webhook only (whatever its filter, even disabled). */
    async test(id: string, actor: WebhookActor): Promise<{ eventId: string }> {
      return db.transaction(async (tx) => {
        const webhook = await find(tx, id);
        const eventId = await audit.append({ event: 'webhook.test', details: { actor, webhookId: id, host: hostOf(webhook.url) } }, tx);
        return { eventId };
      });
    },

    /** The secrets that sign a delivery now: the current one, and the previous one while it still may. */
    signingSecrets(webhook: StoredWebhook): string[] {
      const secrets = [sealer.open(webhook.secretSealed, webhook.id)];
      if (webhook.previousSecretSealed && webhook.previousSecretUntil && webhook.previousSecretUntil.getTime() > clock.now()) {
        secrets.push(sealer.open(webhook.previousSecretSealed, webhook.id));
      }
      return secrets;
    },
  };
}
