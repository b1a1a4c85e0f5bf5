import { z } from 'zod';
import type { Database, Queryable } from '../db/database.ts';
import type { Account } from '../accounts/repository.ts';
import type { RequestContext } from '../accounts/sign-in.ts';
import { findAccountByEmail, findAccountById, insertAccount, markEmailVerified } from '../accounts/repository.ts';
import { AppError, isAppError, isUniqueViolation } from '../errors.ts';
import type { AttemptStore } from './attempt-store.ts';
import { deleteIdentity, findIdentity, findIdentityOfAccount, hasIdentityAt, insertIdentity, listIdentitiesOf, touchIdentity, type FederatedIdentity } from './identities-repository.ts';
import type { AuthorizationChecks, UpstreamProfile } from './upstream.ts';
import type { AuditLog } from '../audit/service.ts';

/** A redirect to an upstream in flight, stored under its state. */
export interface Attempt {
  uid: string;
  upstreamId: string;
  checks: AuthorizationChecks;
}

/** An upstream identity waiting for the owner of the local account with that email to confirm. */
export interface PendingLink {
  uid: string;
  upstreamId: string;
  profile: UpstreamProfile;
  accountId: string;
  accountEmail: string;
  hasPassword: boolean;
  failedAttempts: number;
}

/**
 * Why a federated sign-in cannot go on:
 *   account_disabled  the matched account may not sign in
 *   linked_elsewhere  the account already has another identity at this upstream
 *   no_email          the upstream shared no email, so no account can be made
 *   email_unverified  the upstream's email is unverified and no account has it
 */
export type Refusal = 'account_disabled' | 'linked_elsewhere' | 'no_email' | 'email_unverified';

export type Resolution =
  | { type: 'signed_in'; accountId: string; outcome: 'existing' | 'linked' | 'created' }
  | { type: 'confirm'; accountId: string; accountEmail: string; hasPassword: boolean }
  | { type: 'refused'; reason: Refusal };

export type LinkResult =
  | { type: 'signed_in'; accountId: string; outcome: 'linked' }
  | { type: 'wrong_password' }
  | { type: 'refused'; reason: Refusal };

// Wrong passwords allowed on one pending link before it is dropped and the person starts over.
export const MAX_LINK_ATTEMPTS = 5;

const optional = <T>(schema: z.ZodType<T>, value: unknown): T | null => {
  const result = schema.safeParse(value);
  return result.success ? result.data : null;
};

/** Upstream profile fields that fit our account columns; anything that does not is left out. */
function newAccountFrom(profile: UpstreamProfile & { email: string }) {
  const name = z.string().trim().min(1).max(200);
  return {
    email: profile.email,
    emailVerified: true,
    passwordHash: null,
    name: optional(name, profile.name),
    givenName: optional(name, profile.givenName),
    familyName: optional(name, profile.familyName),
    picture: optional(z.url({ protocol: /^https$/ }).max(2000), profile.picture),
    locale: optional(z.string().regex(/^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$/), profile.locale),
  };
}

export type FederationService = ReturnType<typeof createFederationService>;

/** Checks a local password with the same limits and audit as the login form. */
export type CheckPassword = (email: string, password: string, context: RequestContext) => Promise<Account | null>;

export function createFederationService(db: Database, checkPassword: CheckPassword, store: AttemptStore, audit?: AuditLog) {
  /**
   * The account rules, in order: a known identity signs in its account; a verified upstream email
   * matching a verified local email links; a match where either side is unverified needs the
   * local password; no match creates an account from a verified email. Runs in one transaction,
   * so a refusal writes nothing.
   */
  async function resolveOnce(tx: Queryable, upstreamId: string, profile: UpstreamProfile): Promise<Resolution> {
    const known = await findIdentity(tx, upstreamId, profile.subject);
    if (known) {
      const account = await findAccountById(tx, known.accountId);
      if (!account || account.disabled) return { type: 'refused', reason: 'account_disabled' };
      await touchIdentity(tx, upstreamId, profile.subject);
      return { type: 'signed_in', accountId: account.id, outcome: 'existing' };
    }

    const local = profile.email ? await findAccountByEmail(tx, profile.email) : null;
    if (local) {
      // This very identity, linked by a concurrent sign-in since the lookup above (each statement
      // sees the latest commits): sign it in like any known identity.
      const linked = await findIdentityOfAccount(tx, local.id, upstreamId);
      if (linked?.subject === profile.subject) {
        if (local.disabled) return { type: 'refused', reason: 'account_disabled' };
        await touchIdentity(tx, upstreamId, profile.subject);
        return { type: 'signed_in', accountId: local.id, outcome: 'existing' };
      }
      if (!(profile.emailVerified && local.emailVerified)) {
        // Not proven on both sides: the person must show they own the local account. Nothing is
        // said here about whether it is disabled or linked; that waits until the password is right.
        return { type: 'confirm', accountId: local.id, accountEmail: local.email, hasPassword: local.passwordHash !== null };
      }
      if (local.disabled) return { type: 'refused', reason: 'account_disabled' };
      if (linked) return { type: 'refused', reason: 'linked_elsewhere' };
      await insertIdentity(tx, { upstreamId, subject: profile.subject, accountId: local.id, email: profile.email });
      return { type: 'signed_in', accountId: local.id, outcome: 'linked' };
    }

    if (!profile.email) return { type: 'refused', reason: 'no_email' };
    // Creating an account on an unverified address would let anyone claim someone else's email.
    if (!profile.emailVerified) return { type: 'refused', reason: 'email_unverified' };
    const account = await insertAccount(tx, newAccountFrom({ ...profile, email: profile.email }));
    await insertIdentity(tx, { upstreamId, subject: profile.subject, accountId: account.id, email: profile.email });
    return { type: 'signed_in', accountId: account.id, outcome: 'created' };
  }

  async function requireAccount(email: string) {
    const account = await findAccountByEmail(db, email.trim().toLowerCase());
    if (!account) throw new AppError('account.not_found', `no account with email ${email}`);
    return account;
  }

  const isRace = (error: unknown) => isUniqueViolation(error) || (isAppError(error) && error.code === 'account.email_taken');

  return {
    /** The upstream identities linked to the account with this email (for operators). */
    async identities(email: string): Promise<FederatedIdentity[]> {
      return listIdentitiesOf(db, (await requireAccount(email)).id);
    },

    /**
     * Removes the account's link to an upstream, so that upstream account no longer signs in here
     * (an operator's fix when an upstream email was reassigned, for example).
     */
    async unlink(email: string, upstreamId: string, actor = 'admin'): Promise<void> {
      const account = await requireAccount(email);
      await db.transaction(async (tx) => {
        if (!(await deleteIdentity(tx, account.id, upstreamId))) {
          throw new AppError('identity.not_found', `${account.email} has no identity linked at ${upstreamId}`);
        }
        await audit?.record({ event: 'federation.unlinked', accountId: account.id, email: account.email, details: { upstream: upstreamId, actor } }, tx);
      });
    },

    saveAttempt: (attempt: Attempt, ttlSeconds: number) => store.put(`state:${attempt.checks.state}`, attempt, ttlSeconds),
    /** The attempt for this state, at most once. */
    takeAttempt: (state: string) => store.take<Attempt>(`state:${state}`),

    savePendingLink: (link: PendingLink, ttlSeconds: number) => store.put(`link:${link.uid}`, link, ttlSeconds),
    pendingLink: (uid: string) => store.get<PendingLink>(`link:${uid}`),
    dropPendingLink: (uid: string) => store.delete(`link:${uid}`),

    async resolve(upstreamId: string, profile: UpstreamProfile): Promise<Resolution> {
      try {
        return await db.transaction((tx) => resolveOnce(tx, upstreamId, profile));
      } catch (error) {
        // A concurrent sign-in made the same identity or account first: the rules now find it.
        if (isRace(error)) return db.transaction((tx) => resolveOnce(tx, upstreamId, profile));
        throw error;
      }
    },

    /**
     * Links the pending identity once the password of the local account is right. When the
     * upstream verified the same address, the local email counts as verified from now on.
     */
    async confirmLink(link: PendingLink, password: string, context: RequestContext): Promise<LinkResult> {
      const account = await checkPassword(link.accountEmail, password, context);
      if (!account || account.id !== link.accountId) return { type: 'wrong_password' };
      try {
        return await db.transaction(async (tx): Promise<LinkResult> => {
          const known = await findIdentity(tx, link.upstreamId, link.profile.subject);
          if (known && known.accountId !== account.id) return { type: 'refused', reason: 'linked_elsewhere' };
          if (!known) {
            if (await hasIdentityAt(tx, account.id, link.upstreamId)) return { type: 'refused', reason: 'linked_elsewhere' };
            await insertIdentity(tx, { upstreamId: link.upstreamId, subject: link.profile.subject, accountId: account.id, email: link.profile.email });
          }
          if (link.profile.emailVerified && link.profile.email === account.email.toLowerCase() && !account.emailVerified) {
            await markEmailVerified(tx, account.id);
          }
          return { type: 'signed_in', accountId: account.id, outcome: 'linked' };
        });
      } catch (error) {
        if (isUniqueViolation(error)) return { type: 'refused', reason: 'linked_elsewhere' };
        throw error;
      }
    },
  };
}
