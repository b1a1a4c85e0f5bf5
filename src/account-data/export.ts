import type { Database } from '../db/database.ts';
import type { AuditLog } from '../audit/service.ts';
import type { MfaService } from '../mfa/service.ts';
import type { RbacService } from '../rbac/service.ts';
import type { AccountStateStore } from '../oidc/adapters/account-state.ts';
import { findAccountById } from '../accounts/repository.ts';
import { findRoleNamesByAccountId } from '../accounts/roles-repository.ts';
import { listIdentitiesOf } from '../federation/identities-repository.ts';
import type { AccountRef, SelfChange } from '../federation/account-links.ts';
import { listAuditEventsOfAccount, listConsentsOf } from './repository.ts';

/** Names the export's shape, so a reader (or a later version of this service) can tell it apart. */
export const EXPORT_FORMAT = 'idp-account-export/1';

export type AccountExporter = ReturnType<typeof createAccountExport>;

/**
 * Everything held about an account, for the person it belongs to (GDPR Art. 15 and 20: a copy,
 * in a structured, machine-readable form). Built field by field, never by spreading a record,
 * so a column added later does not leak into it unnoticed. Left out on purpose, because each is
 * a credential rather than information about the person: the password hash (only whether there
 * is a password), authenticator-app secrets, passkeys' public keys and credential ids, recovery
 * codes (only how many are left), the session ids (each is the value of a session cookie) and
 * every token. Knows no HTTP.
 */
export function createAccountExport(deps: {
  db: Database;
  mfa: Pick<MfaService, 'listFactors' | 'recoveryCodesLeft'>;
  rbac: Pick<RbacService, 'forAccount'>;
  accountState: Pick<AccountStateStore, 'listSessions' | 'listGrants'>;
  audit: AuditLog;
  /** The display name of a configured upstream ("Google"), or null for one no longer configured. */
  upstreamName: (upstreamId: string) => string | null;
  issuer: string;
  now: () => number;
}) {
  const { db } = deps;

  return {
    /** The account's data as a plain object (null when the account is gone); records `account.exported`. */
    async exportAccount(ref: AccountRef, change: SelfChange) {
      const account = await findAccountById(db, ref.id);
      if (!account) return null;
      const [identities, roles, effective, factors, codesLeft, sessions, grants, consents, events] = await Promise.all([
        listIdentitiesOf(db, account.id),
        findRoleNamesByAccountId(db, account.id),
        deps.rbac.forAccount(account.id),
        deps.mfa.listFactors(account.id),
        deps.mfa.recoveryCodesLeft(account.id),
        deps.accountState.listSessions(account.id),
        deps.accountState.listGrants(account.id),
        listConsentsOf(db, account.id),
        listAuditEventsOfAccount(db, account.id),
      ]);
      const data = {
        format: EXPORT_FORMAT,
        exportedAt: new Date(deps.now()).toISOString(),
        issuer: deps.issuer,
        profile: {
          // The `sub` every application knows this account by.
          id: account.id,
          email: account.email,
          emailVerified: account.emailVerified,
          name: account.name,
          givenName: account.givenName,
          familyName: account.familyName,
          picture: account.picture,
          locale: account.locale,
          hasPassword: account.passwordHash !== null,
          createdAt: account.createdAt,
          updatedAt: account.updatedAt,
        },
        identities: identities.map((identity) => ({
          upstream: identity.upstreamId,
          upstreamName: deps.upstreamName(identity.upstreamId),
          subject: identity.subject,
          email: identity.email,
          linkedAt: identity.createdAt,
          lastUsedAt: identity.lastUsedAt,
        })),
        roles: { direct: roles, effective: effective.roles, permissions: effective.permissions },
        factors: factors.map((factor) => ({
          kind: factor.kind,
          name: factor.name,
          confirmed: factor.confirmed,
          createdAt: factor.createdAt,
          lastUsedAt: factor.lastUsedAt,
          ...(factor.kind === 'webauthn' ? { synced: factor.backedUp, deviceType: factor.deviceType, transports: factor.transports } : {}),
        })),
        recoveryCodesLeft: codesLeft,
        sessions: sessions.map((session) => ({
          uid: session.uid,
          signedInAt: session.loginAt,
          createdAt: session.createdAt,
          expiresAt: session.expiresAt,
          clients: session.clients,
          amr: session.amr,
        })),
        grants: grants.map((grant) => ({
          id: grant.id,
          clientId: grant.clientId,
          scopes: grant.scopes,
          resources: grant.resources,
          createdAt: grant.createdAt,
          lastUsedAt: grant.lastUsedAt,
          expiresAt: grant.expiresAt,
        })),
        consents: consents.map((consent) => ({
          clientId: consent.clientId,
          scopes: consent.scopes,
          claims: consent.claims,
          resourceScopes: consent.resourceScopes,
          createdAt: consent.createdAt,
          updatedAt: consent.updatedAt,
        })),
        auditEvents: events.map((event) => ({
          occurredAt: event.occurredAt,
          event: event.event,
          reason: event.reason,
          email: event.email,
          ip: event.ip,
          userAgent: event.userAgent,
          details: event.details,
        })),
      };
      await deps.audit.record({ event: 'account.exported', reason: change.via, accountId: account.id, email: ref.email, ip: change.ip, userAgent: change.userAgent, details: { actor: 'self' } });
      return data;
    },
  };
}
