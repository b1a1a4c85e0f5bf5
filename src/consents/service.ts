import type { Database } from '../db/database.ts';
import { findConsent, upsertConsent, type Consent } from './repository.ts';

export type ConsentService = ReturnType<typeof createConsentService>;

const union = (a: string[], b: string[]): string[] => [...new Set([...a, ...b])].sort();

export function createConsentService(db: Database) {
  return {
    find: (accountId: string, clientId: string): Promise<Consent | null> => findConsent(db, accountId, clientId),

    /** Adds what was just allowed to what the person allowed this client before. */
    async remember(grant: Omit<Consent, 'claims'> & { claims?: string[] }): Promise<void> {
      await db.transaction(async (tx) => {
        const previous = await findConsent(tx, grant.accountId, grant.clientId);
        const resourceScopes: Record<string, string[]> = { ...previous?.resourceScopes };
        for (const [indicator, scopes] of Object.entries(grant.resourceScopes)) {
          resourceScopes[indicator] = union(resourceScopes[indicator] ?? [], scopes);
        }
        await upsertConsent(tx, {
          accountId: grant.accountId,
          clientId: grant.clientId,
          scopes: union(previous?.scopes ?? [], grant.scopes),
          claims: union(previous?.claims ?? [], grant.claims ?? []),
          resourceScopes,
        });
      });
    },
  };
}
