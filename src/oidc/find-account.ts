import type { FindAccount } from 'oidc-provider';
import type { AccountService } from '../accounts/service.ts';

/**
 * oidc-provider asks for the account behind a session or token. A missing or disabled account
 * yields undefined, which ends its sessions and makes its tokens useless at userinfo.
 */
export function createFindAccount(accounts: AccountService): FindAccount {
  return async (_ctx, sub) => {
    const claims = await accounts.claims(sub);
    if (!claims) return undefined;
    // oidc-provider filters these by the granted scopes and requested claims.
    return { accountId: sub, claims: async () => claims };
  };
}
