import type { Queryable } from '../db/database.ts';

/** What an account can sign in with by itself, without a second factor's help. */
export interface SignInWays {
  password: boolean;
  /** Upstream ids the account has an identity at. */
  identities: string[];
  /** Confirmed passkeys (every one is discoverable: src/mfa/webauthn.ts asks for a resident key). */
  passkeys: number;
}

/**
 * The account's ways in, with its row locked (FOR UPDATE) until the transaction ends, so two
 * removals racing (two tabs, two instances) see each other's result; null when there is no account.
 */
export async function lockSignInWays(tx: Queryable, accountId: string): Promise<SignInWays | null> {
  const { rows } = await tx.query<{ password: boolean; identities: string[]; passkeys: string }>(
    `SELECT a.password_hash IS NOT NULL AS password,
            ARRAY(SELECT upstream_id FROM federated_identities WHERE account_id = a.id ORDER BY upstream_id) AS identities,
            (SELECT count(*) FROM mfa_factors WHERE account_id = a.id AND kind = 'webauthn' AND confirmed_at IS NOT NULL) AS passkeys
       FROM accounts a WHERE a.id = $1 FOR UPDATE OF a`,
    [accountId],
  );
  const row = rows[0];
  return row ? { password: row.password, identities: row.identities, passkeys: Number(row.passkeys) } : null;
}
