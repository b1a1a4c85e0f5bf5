import type { FindAccount, KoaContextWithOIDC } from 'oidc-provider';
import type { AccountService } from '../accounts/service.ts';

/** What oidc-provider hands findAccount with the subject: a token or code, when there is one. */
interface Credential {
  authTime?: number;
  iat?: number;
}

/**
 * When the credential being accepted was established, in epoch seconds: the sign-in behind a
 * code or refresh token (authTime), else the token's issue time; without a token, the
 * session's sign-in.
 */
function establishedAt(ctx: KoaContextWithOIDC | undefined, token: Credential | undefined): number | undefined {
  if (token) return token.authTime ?? token.iat;
  const session = ctx?.oidc?.session as { loginTs?: number } | undefined;
  return session?.loginTs;
}

/**
 * A session whose account is refused must stop naming it: oidc-provider's prompts look at the
 * session's accountId (a login is needed only without one) and would go on to ask for consent
 * for an account it has not loaded. Cleared, the session is a visitor's and the person signs in
 * again (or prompt=none answers login_required).
 */
function signOut(ctx: KoaContextWithOIDC | undefined, sub: string): void {
  const session = ctx?.oidc?.session as Record<string, unknown> | undefined;
  if (!session || session.accountId !== sub) return;
  // Deleted, not set: oidc-provider's session proxy refuses an empty accountId, but a session
  // without one is exactly a visitor's. Touched, so the cleared session is what gets saved.
  for (const field of ['accountId', 'loginTs', 'amr', 'acr', 'authorizations']) delete session[field];
  session.touched = true;
}

/**
 * oidc-provider asks for the account behind a session or token. A missing or disabled account
 * yields undefined, which ends its sessions and makes its tokens useless at userinfo.
 *
 * So does a session or token established before the account's last "revoke everything"
 * (password reset, disable, sign out everywhere): that revocation deletes what is stored, but a
 * request already in flight may save the session or grant it loaded a moment later, and this
 * check makes such a write-back worthless. Seconds, as oidc-provider records times: a sign-in
 * in the very second of the revocation still counts.
 */
export function createFindAccount(accounts: AccountService): FindAccount {
  return async (ctx, sub, token) => {
    const account = await accounts.forProvider(sub);
    const refused = !account || (account.sessionsValidAfter !== null
      && (establishedAt(ctx, token as Credential | undefined) ?? 0) < Math.floor(account.sessionsValidAfter / 1000));
    if (!account || refused) {
      if (!token) signOut(ctx, sub);
      return undefined;
    }
    const { claims } = account;
    // oidc-provider filters these by the granted scopes and requested claims. A copy: the
    // account's answer is cached and shared (AccountService.forProvider).
    return { accountId: sub, claims: async () => ({ ...claims }) };
  };
}
