import type { Queryable } from '../db/database.ts';

export interface Consent {
  accountId: string;
  clientId: string;
  scopes: string[];
  claims: string[];
  resourceScopes: Record<string, string[]>;
}

interface ConsentRow {
  account_id: string;
  client_id: string;
  scopes: string[];
  claims: string[];
  resource_scopes: Record<string, string[]>;
}

export async function findConsent(db: Queryable, accountId: string, clientId: string): Promise<Consent | null> {
  const { rows } = await db.query<ConsentRow>('SELECT * FROM consents WHERE account_id = $1 AND client_id = $2', [accountId, clientId]);
  const row = rows[0];
  return row ? { accountId: row.account_id, clientId: row.client_id, scopes: row.scopes, claims: row.claims, resourceScopes: row.resource_scopes } : null;
}

/** Stores the union of what was allowed before and now, so narrower later requests never shrink it. */
export async function upsertConsent(db: Queryable, consent: Consent): Promise<void> {
  await db.query(
    `INSERT INTO consents (account_id, client_id, scopes, claims, resource_scopes) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (account_id, client_id) DO UPDATE SET
       scopes = EXCLUDED.scopes, claims = EXCLUDED.claims, resource_scopes = EXCLUDED.resource_scopes, updated_at = now()`,
    [consent.accountId, consent.clientId, consent.scopes, consent.claims, JSON.stringify(consent.resourceScopes)],
  );
}

/** Forgets every consent an account gave; its next sign-in to each client asks again. */
export async function deleteConsentsOf(db: Queryable, accountId: string): Promise<number> {
  const { rowCount } = await db.query('DELETE FROM consents WHERE account_id = $1', [accountId]);
  return rowCount;
}
