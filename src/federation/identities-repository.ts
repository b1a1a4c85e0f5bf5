import type { Queryable } from '../db/database.ts';

export interface FederatedIdentity {
  upstreamId: string;
  subject: string;
  accountId: string;
  email: string | null;
  createdAt: Date;
  lastUsedAt: Date;
}

interface IdentityRow {
  upstream_id: string;
  subject: string;
  account_id: string;
  email: string | null;
  created_at: Date;
  last_used_at: Date;
}

const toIdentity = (row: IdentityRow): FederatedIdentity => ({
  upstreamId: row.upstream_id,
  subject: row.subject,
  accountId: row.account_id,
  email: row.email,
  createdAt: row.created_at,
  lastUsedAt: row.last_used_at,
});

/** The identity for (upstream, subject), marking it used now; null when it is not linked. */
export async function touchIdentity(db: Queryable, upstreamId: string, subject: string): Promise<FederatedIdentity | null> {
  const { rows } = await db.query<IdentityRow>(
    'UPDATE federated_identities SET last_used_at = now() WHERE upstream_id = $1 AND subject = $2 RETURNING *',
    [upstreamId, subject],
  );
  return rows[0] ? toIdentity(rows[0]) : null;
}

export async function findIdentity(db: Queryable, upstreamId: string, subject: string): Promise<FederatedIdentity | null> {
  const { rows } = await db.query<IdentityRow>('SELECT * FROM federated_identities WHERE upstream_id = $1 AND subject = $2', [upstreamId, subject]);
  return rows[0] ? toIdentity(rows[0]) : null;
}

export async function insertIdentity(db: Queryable, identity: { upstreamId: string; subject: string; accountId: string; email: string | null }): Promise<void> {
  await db.query(
    'INSERT INTO federated_identities (upstream_id, subject, account_id, email) VALUES ($1, $2, $3, $4)',
    [identity.upstreamId, identity.subject, identity.accountId, identity.email],
  );
}

export async function hasIdentityAt(db: Queryable, accountId: string, upstreamId: string): Promise<boolean> {
  const { rows } = await db.query('SELECT 1 FROM federated_identities WHERE account_id = $1 AND upstream_id = $2', [accountId, upstreamId]);
  return rows.length > 0;
}

export async function listIdentitiesOf(db: Queryable, accountId: string): Promise<FederatedIdentity[]> {
  const { rows } = await db.query<IdentityRow>('SELECT * FROM federated_identities WHERE account_id = $1 ORDER BY upstream_id', [accountId]);
  return rows.map(toIdentity);
}

export async function deleteIdentity(db: Queryable, accountId: string, upstreamId: string): Promise<boolean> {
  const { rowCount } = await db.query('DELETE FROM federated_identities WHERE account_id = $1 AND upstream_id = $2', [accountId, upstreamId]);
  return rowCount > 0;
}

/** The account's identity at an upstream, if it has one. */
export async function findIdentityOfAccount(db: Queryable, accountId: string, upstreamId: string): Promise<FederatedIdentity | null> {
  const { rows } = await db.query<IdentityRow>('SELECT * FROM federated_identities WHERE account_id = $1 AND upstream_id = $2', [accountId, upstreamId]);
  return rows[0] ? toIdentity(rows[0]) : null;
}
