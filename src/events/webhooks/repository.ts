import type { Queryable } from '../../db/database.ts';

export interface StoredWebhook {
  id: string;
  url: string;
  description: string | null;
  /** Event names and prefixes (login.*); empty: every event. */
  events: string[];
  enabled: boolean;
  secretSealed: string;
  /** The secret before the last rotation, still signing until previousSecretUntil. */
  previousSecretSealed: string | null;
  previousSecretUntil: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

interface WebhookRow {
  id: string;
  url: string;
  description: string | null;
  events: string[];
  enabled: boolean;
  secret_sealed: string;
  previous_secret_sealed: string | null;
  previous_secret_until: Date | null;
  created_at: Date;
  updated_at: Date;
}

const toWebhook = (row: WebhookRow): StoredWebhook => ({
  id: row.id,
  url: row.url,
  description: row.description,
  events: row.events,
  enabled: row.enabled,
  secretSealed: row.secret_sealed,
  previousSecretSealed: row.previous_secret_sealed,
  previousSecretUntil: row.previous_secret_until,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

export async function insertWebhook(db: Queryable, webhook: { id: string; url: string; description: string | null; events: string[]; enabled: boolean; secretSealed: string }): Promise<StoredWebhook> {
  const { rows } = await db.query<WebhookRow>(
    `INSERT INTO webhooks (id, url, description, events, enabled, secret_sealed) VALUES ($1, $2, $3, $4, $5, $6) RETURNING *`,
    [webhook.id, webhook.url, webhook.description, webhook.events, webhook.enabled, webhook.secretSealed],
  );
  return toWebhook(rows[0]!);
}

export async function findWebhookById(db: Queryable, id: string): Promise<StoredWebhook | null> {
  const { rows } = await db.query<WebhookRow>('SELECT * FROM webhooks WHERE id = $1', [id]);
  return rows[0] ? toWebhook(rows[0]) : null;
}

/** Oldest first. */
export async function listWebhooks(db: Queryable): Promise<StoredWebhook[]> {
  const { rows } = await db.query<WebhookRow>('SELECT * FROM webhooks ORDER BY created_at, id');
  return rows.map(toWebhook);
}

/** What deciding where an event goes needs: the enabled webhooks and their filters. */
export async function listEnabledWebhookFilters(db: Queryable): Promise<Array<{ id: string; events: string[] }>> {
  const { rows } = await db.query<{ id: string; events: string[] }>('SELECT id, events FROM webhooks WHERE enabled ORDER BY created_at, id');
  return rows;
}

/** Changes what is given; null when there is no such webhook. */
export async function updateWebhook(db: Queryable, id: string, change: { url?: string; description?: string | null; events?: string[]; enabled?: boolean }): Promise<StoredWebhook | null> {
  const sets: string[] = [];
  const values: unknown[] = [id];
  for (const [column, value] of [['url', change.url], ['description', change.description], ['events', change.events], ['enabled', change.enabled]] as const) {
    if (value === undefined) continue;
    values.push(value);
    sets.push(`${column} = $${values.length}`);
  }
  const { rows } = await db.query<WebhookRow>(`UPDATE webhooks SET ${[...sets, 'updated_at = now()'].join(', ')} WHERE id = $1 RETURNING *`, values);
  return rows[0] ? toWebhook(rows[0]) : null;
}

/** A new secret; the current one becomes the previous one until `previousUntil` (null: dropped now). */
export async function replaceWebhookSecret(db: Queryable, id: string, secretSealed: string, previous: { sealed: string; until: Date } | null): Promise<StoredWebhook | null> {
  const { rows } = await db.query<WebhookRow>(
    `UPDATE webhooks SET secret_sealed = $2, previous_secret_sealed = $3, previous_secret_until = $4, updated_at = now() WHERE id = $1 RETURNING *`,
    [id, secretSealed, previous?.sealed ?? null, previous?.until ?? null],
  );
  return rows[0] ? toWebhook(rows[0]) : null;
}

export async function deleteWebhook(db: Queryable, id: string): Promise<StoredWebhook | null> {
  const { rows } = await db.query<WebhookRow>('DELETE FROM webhooks WHERE id = $1 RETURNING *', [id]);
  return rows[0] ? toWebhook(rows[0]) : null;
}
