import type { Queryable } from '../db/database.ts';
import type { Consent } from './repository.ts';

/** A remembered consent with when it was first given and last widened. */
export interface RememberedConsent extends Consent {
  createdAt: Date;
  updatedAt: Date;
}

interface RememberedRow {
  account_id: string;
  client_id: string;
  scopes: string[];
  claims: string[];
  resource_scopes: Record<string, string[]>;
  created_at: Date;
  updated_at: Date;
}

const toConsent = (row: RememberedRow): RememberedConsent => ({
  accountId: row.account_id,
  clientId: row.client_id,
  scopes: row.scopes,
  claims: row.claims,
  resourceScopes: row.resource_scopes,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

/** Every consent the account gave, by client id. */
export async function listConsentsByAccount(db: Queryable, accountId: string): Promise<RememberedConsent[]> {
  const { rows } = await db.query<RememberedRow>('SELECT * FROM consents WHERE account_id = $1 ORDER BY client_id', [accountId]);
  return rows.map(toConsent);
}

/** The consent to one client, locked until the transaction ends (to narrow it without a lost update). */
export async function findConsentForUpdate(db: Queryable, accountId: string, clientId: string): Promise<RememberedConsent | null> {
  const { rows } = await db.query<RememberedRow>('SELECT * FROM consents WHERE account_id = $1 AND client_id = $2 FOR UPDATE', [accountId, clientId]);
  return rows[0] ? toConsent(rows[0]) : null;
}

/** Sets exactly what the consent covers now (narrowing it); the time it was given stays. */
export async function updateConsentScopes(db: Queryable, consent: Consent): Promise<void> {
  await db.query(
    'UPDATE consents SET scopes = $3, claims = $4, resource_scopes = $5, updated_at = now() WHERE account_id = $1 AND client_id = $2',
    [consent.accountId, consent.clientId, consent.scopes, consent.claims, JSON.stringify(consent.resourceScopes)],
  );
}

/** Forgets the consent to one client; true when there was one. */
export async function deleteConsent(db: Queryable, accountId: string, clientId: string): Promise<boolean> {
  const { rowCount } = await db.query('DELETE FROM consents WHERE account_id = $1 AND client_id = $2', [accountId, clientId]);
  return rowCount > 0;
}
