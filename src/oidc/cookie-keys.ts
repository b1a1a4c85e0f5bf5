import { randomBytes } from 'node:crypto';
import type { Database } from '../db/database.ts';

/**
 * Keys that sign the provider's cookies. Configured keys win (production requires them);
 * otherwise a pair is generated once and stored, so sessions survive restarts and every
 * instance sharing the database agrees.
 */
export async function loadCookieKeys(db: Database, configured: string[] | undefined): Promise<string[]> {
  if (configured?.length) return configured;
  const generated = [randomBytes(32).toString('base64url'), randomBytes(32).toString('base64url')];
  await db.query('INSERT INTO instance_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING', ['cookie_keys', JSON.stringify(generated)]);
  const { rows } = await db.query<{ value: string[] }>('SELECT value FROM instance_secrets WHERE name = $1', ['cookie_keys']);
  return rows[0]!.value;
}
