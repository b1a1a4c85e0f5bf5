import type { Database, Queryable } from '../db/database.ts';
import type { AuditLog } from '../audit/service.ts';
import { isUniqueViolation } from '../errors.ts';
import { lockSignInWays, type SignInWays } from '../accounts/sign-in-ways-repository.ts';
import { deleteIdentity, findIdentity, findIdentityOfAccount, insertIdentity, listIdentitiesOf, type FederatedIdentity } from './identities-repository.ts';
import type { UpstreamProfile } from './upstream.ts';

/** Whose account, as the audit trail names it (by id and by its email now). */
export interface AccountRef {
  id: string;
  email: string;
}

/**
 * Who made a change to their own account, and through what (`account_console`, `account_api`):
 * the audit event's reason is `via`. The shape of the account area's request context, so one
 * context serves every service of the account.
 */
export interface SelfChange {
  via: string;
  ip: string;
  userAgent?: string | null | undefined;
}

/**
 * Why a signed-in person cannot link an upstream account:
 *   linked_elsewhere  that upstream account already signs in another account here
 *   upstream_taken    this account already has another account at that upstream (one each)
 */
export type LinkRefusal = 'linked_elsewhere' | 'upstream_taken';

export type LinkOutcome = { type: 'linked' } | { type: 'already_linked' } | { type: 'refused'; reason: LinkRefusal };

export type UnlinkOutcome = 'unlinked' | 'last_way' | 'not_found';

export interface LinkedIdentity extends FederatedIdentity {
  /** Whether the upstream is still configured: an identity at one that is not cannot sign in. */
  signsIn: boolean;
}

export type AccountLinks = ReturnType<typeof createAccountLinks>;

/**
 * An account's own links to upstream accounts (Google, GitHub, OIDC), for the account console and
 * the account API: list, link one the person just signed in to, unlink one. Knows no HTTP.
 *
 * Linking here is not the sign-in's matching by email (src/federation/service.ts): that decides
 * which account an unknown upstream account belongs to, and an address nobody proved could hand
 * someone else's account over, so unverified emails need the local password. Here the person has
 * proved both sides just now, the account by a fresh sign-in and the upstream account by signing
 * in there, so the upstream's email (verified or not, matching or not) decides nothing: it is kept
 * only to show which upstream account it is, and never verifies or changes the account's email.
 * What stays is what the table enforces for everyone: an upstream account signs in one account
 * here, and an account has at most one account per upstream.
 *
 * `upstreamIds` are the configured upstreams: only an identity at one of them is a way to sign in.
 */
export function createAccountLinks(deps: { db: Database; audit: AuditLog; upstreamIds: () => Iterable<string> }) {
  const { db, audit } = deps;
  const configured = () => new Set(deps.upstreamIds());

  /**
   * The ways to sign in that would be left without the identity at `upstreamId`: the password, the
   * other identities at configured upstreams, and passkeys, which sign in alone (with user
   * verification, so as two factors). Authenticator apps and recovery codes only follow a first
   * factor, and a mailed reset link needs a mailbox this service cannot vouch for: neither counts.
   */
  function waysLeft(ways: SignInWays, upstreamId: string): number {
    const upstreams = configured();
    const identities = ways.identities.filter((id) => id !== upstreamId && upstreams.has(id));
    return (ways.password ? 1 : 0) + identities.length + ways.passkeys;
  }

  async function lockedWays(tx: Queryable, accountId: string): Promise<SignInWays> {
    const ways = await lockSignInWays(tx, accountId);
    // The account went away under us (deleted in another tab): nothing of it to change.
    return ways ?? { password: false, identities: [], passkeys: 0 };
  }

  return {
    /**
     * Removes a passkey unless it is the account's last way in (no password, no identity at a
     * configured upstream, no other passkey): the same rule as unlinking, in the same locked step.
     */
    async removePasskey(accountId: string, factorId: string): Promise<'deleted' | 'last_way' | 'missing'> {
      return db.transaction(async (tx) => {
        const ways = await lockedWays(tx, accountId);
        const upstreams = configured();
        const others = (ways.password ? 1 : 0) + ways.identities.filter((id) => upstreams.has(id)).length + ways.passkeys - 1;
        const { rows } = await tx.query<{ id: string }>("SELECT id FROM mfa_factors WHERE account_id = $1 AND id = $2 AND kind = 'webauthn'", [accountId, factorId]);
        if (!rows[0]) return 'missing';
        if (others < 1) return 'last_way';
        await tx.query('DELETE FROM mfa_factors WHERE account_id = $1 AND id = $2', [accountId, factorId]);
        return 'deleted';
      });
    },

    async list(accountId: string): Promise<LinkedIdentity[]> {
      const upstreams = configured();
      return (await listIdentitiesOf(db, accountId)).map((identity) => ({ ...identity, signsIn: upstreams.has(identity.upstreamId) }));
    },

    /** The account's identity at the upstream, and whether unlinking it leaves a way to sign in; null when it has none. */
    async unlinkable(accountId: string, upstreamId: string): Promise<{ identity: LinkedIdentity; allowed: boolean } | null> {
      return db.transaction(async (tx) => {
        const identity = await findIdentityOfAccount(tx, accountId, upstreamId);
        if (!identity) return null;
        const ways = await lockedWays(tx, accountId);
        return { identity: { ...identity, signsIn: configured().has(upstreamId) }, allowed: waysLeft(ways, upstreamId) > 0 };
      });
    },

    /**
     * Links the upstream account in `profile` to this account. The check and the insert are one
     * transaction; a concurrent link of the same upstream account elsewhere loses at the primary
     * key and is refused like any other.
     */
    async link(account: AccountRef, upstreamId: string, profile: UpstreamProfile, change: SelfChange): Promise<LinkOutcome> {
      const accountId = account.id;
      try {
        return await db.transaction(async (tx): Promise<LinkOutcome> => {
          const known = await findIdentity(tx, upstreamId, profile.subject);
          if (known) return known.accountId === accountId ? { type: 'already_linked' } : { type: 'refused', reason: 'linked_elsewhere' };
          if (await findIdentityOfAccount(tx, accountId, upstreamId)) return { type: 'refused', reason: 'upstream_taken' };
          await insertIdentity(tx, { upstreamId, subject: profile.subject, accountId, email: profile.email });
          await audit.record({
            event: 'federation.linked', reason: change.via, accountId, email: account.email, ip: change.ip, userAgent: change.userAgent,
            details: { upstream: upstreamId, actor: 'self', upstreamEmail: profile.email, upstreamEmailVerified: profile.emailVerified },
          }, tx);
          return { type: 'linked' };
        });
      } catch (error) {
        if (!isUniqueViolation(error)) throw error;
        // Lost a race: the other request linked this upstream account, or another one to this account.
        const known = await findIdentity(db, upstreamId, profile.subject);
        if (known?.accountId === accountId) return { type: 'already_linked' };
        return { type: 'refused', reason: known ? 'linked_elsewhere' : 'upstream_taken' };
      }
    },

    /**
     * Unlinks the account's identity at the upstream, unless it is the last way left to sign in.
     * The account's row stays locked from the count to the delete, so two unlinks racing cannot
     * both pass the check and leave nothing.
     */
    async unlink(account: AccountRef, upstreamId: string, change: SelfChange): Promise<UnlinkOutcome> {
      const accountId = account.id;
      return db.transaction(async (tx) => {
        const ways = await lockedWays(tx, accountId);
        if (!ways.identities.includes(upstreamId)) return 'not_found';
        if (waysLeft(ways, upstreamId) === 0) return 'last_way';
        await deleteIdentity(tx, accountId, upstreamId);
        await audit.record({
          event: 'federation.unlinked', reason: change.via, accountId, email: account.email, ip: change.ip, userAgent: change.userAgent,
          details: { upstream: upstreamId, actor: 'self' },
        }, tx);
        return 'unlinked';
      });
    },
  };
}
