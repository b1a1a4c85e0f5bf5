import type { Database } from '../../db/database.ts';

export const ACCOUNT_API_BASE = '/account/api';
export const ACCOUNT_SCOPES = ['account:read', 'account:write'] as const;
export type AccountScope = typeof ACCOUNT_SCOPES[number];
export const accountResourceIndicator = (issuer: string): string => `${issuer}${ACCOUNT_API_BASE}`;

/**
 * The account API is an API resource of this provider like the admin API: it exists with the
 * scopes account:read and account:write. Which applications may ask for it is the operator's
 * choice (`idp resource grant --client <spa> --resource <issuer>/account/api --scopes ...`), and
 * each person consents to it on the consent page, as for any API. Idempotent (an upsert).
 */
export async function ensureAccountResource(db: Database, issuer: string): Promise<string> {
  const indicator = accountResourceIndicator(issuer);
  await db.query(
    `INSERT INTO api_resources (indicator, name, scopes, access_token_ttl) VALUES ($1, 'Your account', $2, 600)
     ON CONFLICT (indicator) DO UPDATE SET scopes = ARRAY(SELECT DISTINCT unnest(api_resources.scopes || EXCLUDED.scopes))`,
    [indicator, [...ACCOUNT_SCOPES]],
  );
  return indicator;
}
