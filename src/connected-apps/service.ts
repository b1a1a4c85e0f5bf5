import type Provider from 'oidc-provider';
import type { Adapter } from 'oidc-provider';
import { ACCOUNT_CLIENT_ID } from '../account/client.ts';
import type { AuditLog } from '../audit/service.ts';
import { deleteConsent, findConsentForUpdate, listConsentsByAccount, updateConsentScopes, type RememberedConsent } from '../consents/account-consents.ts';
import type { Database } from '../db/database.ts';
import { AppError } from '../errors.ts';
import type { AccountGrant, AccountStateStore } from '../oidc/adapters/account-state.ts';
import { JWT_RECORD_MODEL } from '../oidc/jwt-introspection.ts';
import { clientDisplay, type ClientDisplay } from '../pages/client-display.ts';
import type { ResourceService } from '../resources/service.ts';
import type { Actor } from '../sessions/service.ts';
import { heldWords, narrowConsent, narrowGrant, type Withdrawal } from './withdrawal.ts';

/** An application a person has let act for them: what it holds now, and what it will get without asking. */
export interface ConnectedApp {
  clientId: string;
  client: ClientDisplay;
  /** OpenID scopes (profile, email, roles, offline_access, …), `openid` first. */
  scopes: string[];
  /** Per API: its resource indicator, its name if it has one, and the scopes granted there. */
  resources: Array<{ indicator: string; name: string | null; scopes: string[] }>;
  /** When the person first allowed it (the remembered consent, else the oldest live grant). */
  grantedAt: Date | null;
  /** The newest token issued to it for them (else its newest grant). */
  lastUsedAt: Date | null;
  /** Whether its next sign-in skips the consent page. */
  remembered: boolean;
}

export type ConnectedApps = ReturnType<typeof createConnectedApps>;

const union = (lists: string[][]): string[] => [...new Set(lists.flat())];
const openidFirst = (scopes: string[]): string[] => [...scopes].sort((a, b) => (a === 'openid' ? -1 : b === 'openid' ? 1 : 0));
const newest = (dates: Array<Date | null>): Date | null => dates.reduce<Date | null>((best, date) => (date && (!best || date > best) ? date : best), null);
const oldest = (dates: Array<Date | null>): Date | null => dates.reduce<Date | null>((best, date) => (date && (!best || date < best) ? date : best), null);

/**
 * A person's connected applications (issue 14 §5): every client holding a live grant of theirs or
 * a remembered consent, and taking back one scope or the whole application. The account console's
 * own client is part of this provider, never listed, and cannot be withdrawn. Another account's
 * application, or a client id that is none, is not found (404).
 */
export function createConnectedApps(deps: {
  db: Database;
  provider: Provider;
  accountState: AccountStateStore;
  resources: Pick<ResourceService, 'list'>;
  /** Where the records of JWT access tokens live (src/oidc/jwt-introspection.ts). */
  jwtRecords: Adapter;
  audit: AuditLog;
}) {
  const { db, provider, accountState, audit } = deps;

  async function holdings(accountId: string): Promise<Map<string, { grants: AccountGrant[]; consent: RememberedConsent | null }>> {
    const [grants, consents] = await Promise.all([accountState.listGrants(accountId), listConsentsByAccount(db, accountId)]);
    const byClient = new Map<string, { grants: AccountGrant[]; consent: RememberedConsent | null }>();
    const entry = (clientId: string) => byClient.get(clientId) ?? byClient.set(clientId, { grants: [], consent: null }).get(clientId)!;
    for (const grant of grants) if (grant.clientId && grant.clientId !== ACCOUNT_CLIENT_ID) entry(grant.clientId).grants.push(grant);
    for (const consent of consents) if (consent.clientId !== ACCOUNT_CLIENT_ID) entry(consent.clientId).consent = consent;
    return byClient;
  }

  async function holdingOf(accountId: string, clientId: string) {
    const held = clientId && clientId !== ACCOUNT_CLIENT_ID ? (await holdings(accountId)).get(clientId) : undefined;
    if (!held) throw new AppError('not_found', 'this account has not connected such an application');
    return held;
  }

  /**
   * What is left of the grant's tokens after a withdrawal: every access token ends (opaque ones
   * are deleted, a JWT's introspection record goes, so introspection calls it inactive) and the
   * application refreshes; each refresh token keeps only the scopes the grant still gives, since
   * oidc-provider copies a refresh token's own `scope` to its successor (lib/actions/grants/
   * refresh_token.js) and introspection reports it. Without offline_access they end too.
   */
  async function narrowTokens(accountId: string, grantId: string, withdrawal: Withdrawal, held: Set<string>) {
    const ended = { accessTokens: 0, refreshTokens: 0, narrowed: 0 };
    for (const { model, id } of await accountState.listGrantRecords(accountId, grantId)) {
      if (model === 'AccessToken') {
        await provider.AccessToken.adapter.destroy(id);
        ended.accessTokens += 1;
      } else if (model === JWT_RECORD_MODEL) {
        await deps.jwtRecords.destroy(id);
        ended.accessTokens += 1;
      } else if (model === 'RefreshToken') {
        const token = await provider.RefreshToken.find(id);
        // A used one only answers a retry within the grace window, with its successor (narrowed here too).
        if (!token || token.consumed) continue;
        if (withdrawal.resource === null && withdrawal.scope === 'offline_access') {
          await token.destroy();
          ended.refreshTokens += 1;
          continue;
        }
        const scope = (token.scope ?? '').split(' ').filter((word) => word && held.has(word)).join(' ');
        if (scope === token.scope) continue;
        token.scope = scope;
        await token.save();
        ended.narrowed += 1;
      }
    }
    return ended;
  }

  return {
    /** The account's connected applications, most recently used first. */
    async list(accountId: string): Promise<ConnectedApp[]> {
      const [held, apis] = await Promise.all([holdings(accountId), deps.resources.list()]);
      const names = new Map(apis.map((api) => [api.indicator, api.name]));
      const apps = await Promise.all([...held].map(async ([clientId, { grants, consent }]): Promise<ConnectedApp> => {
        const client = await provider.Client.find(clientId).catch(() => undefined);
        const indicators = union([...grants.map((grant) => Object.keys(grant.resources)), Object.keys(consent?.resourceScopes ?? {})]).sort();
        return {
          clientId,
          client: clientDisplay(client, clientId),
          scopes: openidFirst(union([...grants.map((grant) => grant.scopes), consent?.scopes ?? []])),
          resources: indicators
            .map((indicator) => ({ indicator, name: names.get(indicator) ?? null, scopes: union([...grants.map((grant) => grant.resources[indicator] ?? []), consent?.resourceScopes[indicator] ?? []]) }))
            .filter((resource) => resource.scopes.length > 0),
          grantedAt: consent?.createdAt ?? oldest(grants.map((grant) => grant.createdAt)),
          lastUsedAt: newest(grants.map((grant) => grant.lastUsedAt)) ?? consent?.updatedAt ?? null,
          remembered: consent !== null,
        };
      }));
      return apps.sort((a, b) => (b.lastUsedAt?.getTime() ?? 0) - (a.lastUsedAt?.getTime() ?? 0) || a.client.name.localeCompare(b.client.name));
    },

    /**
     * Takes one scope back from the application: the remembered consent first (so a sign-in in
     * between cannot rebuild a grant with it), then every live grant of the account to it, then
     * their tokens (narrowTokens). `openid` is the sign-in itself: the whole application goes instead.
     */
    async withdrawScope(accountId: string, clientId: string, withdrawal: Withdrawal, actor: Actor): Promise<void> {
      const { grants } = await holdingOf(accountId, clientId);
      if (withdrawal.resource === null && withdrawal.scope === 'openid') throw new AppError('request.invalid', 'openid is the sign-in itself: remove the application instead');
      const consentNarrowed = await db.transaction(async (tx) => {
        const consent = await findConsentForUpdate(tx, accountId, clientId);
        const narrowed = consent && narrowConsent(consent, withdrawal);
        if (narrowed) await updateConsentScopes(tx, narrowed);
        return narrowed !== null;
      });
      const tokens = { accessTokens: 0, refreshTokens: 0, narrowed: 0 };
      let grantsNarrowed = 0;
      for (const { id } of grants) {
        const grant = await provider.Grant.find(id);
        if (!grant || grant.accountId !== accountId || grant.clientId !== clientId) continue;
        if (!narrowGrant(grant, withdrawal)) continue;
        await grant.save();
        grantsNarrowed += 1;
        const ended = await narrowTokens(accountId, id, withdrawal, heldWords(grant));
        tokens.accessTokens += ended.accessTokens;
        tokens.refreshTokens += ended.refreshTokens;
        tokens.narrowed += ended.narrowed;
      }
      if (!consentNarrowed && grantsNarrowed === 0) throw new AppError('not_found', 'the application does not hold this scope');
      await audit.record({
        event: 'grant.scope_withdrawn', reason: actor.via, accountId, email: actor.email, ip: actor.ip, userAgent: actor.userAgent,
        details: { clientId, scope: withdrawal.scope, resource: withdrawal.resource, grants: grantsNarrowed, consent: consentNarrowed, ...tokens },
      });
    },

    /**
     * Disconnects the application: the remembered consent goes (its next sign-in asks again),
     * then every live grant of the account to it with every token under them, so its refresh
     * tokens answer `invalid_grant`.
     */
    async withdrawApp(accountId: string, clientId: string, actor: Actor): Promise<void> {
      const { grants } = await holdingOf(accountId, clientId);
      const consent = await deleteConsent(db, accountId, clientId);
      let revoked = 0;
      for (const grant of grants) if (await accountState.revokeGrant(accountId, grant.id)) revoked += 1;
      await audit.record({
        event: 'grant.revoked', reason: actor.via, accountId, email: actor.email, ip: actor.ip, userAgent: actor.userAgent,
        details: { clientId, grants: revoked, consent },
      });
    },
  };
}
