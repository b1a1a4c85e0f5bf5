import { createHash } from 'node:crypto';
import type { Context } from 'koa';
import type { InteractionDeps } from './deps.ts';
import { systemClock } from '../clock.ts';

/**
 * "Trust this browser for N days" (MFA_TRUST_BROWSER_DAYS, off by default): after a second
 * factor, a signed cookie for that account on that browser only, so the next sign-ins there
 * ask for the password alone. Per account (several people may share a browser), on the sign-in
 * paths only, and void once the account's sessions were revoked (a password reset, an operator's
 * revoke-all), since that is when trust should end too.
 */
const cookieName = (accountId: string) => `idp_trust_${createHash('sha256').update(accountId).digest('hex').slice(0, 16)}`;
const DAY_MS = 86_400_000;

export async function isTrustedBrowser(ctx: Context, deps: InteractionDeps, accountId: string): Promise<boolean> {
  if (!deps.mfaTrustBrowserDays) return false;
  const value = ctx.cookies.get(cookieName(accountId), { signed: true });
  if (!value || !/^\d{1,15}$/.test(value)) return false;
  const issuedAt = Number(value);
  const now = (deps.clock ?? systemClock).now();
  if (issuedAt > now || issuedAt + deps.mfaTrustBrowserDays * DAY_MS <= now) return false;
  const account = await deps.accounts.findById(accountId);
  return Boolean(account && !account.disabled && (account.sessionsValidAfter === null || issuedAt > account.sessionsValidAfter));
}

export function trustBrowser(ctx: Context, deps: InteractionDeps, accountId: string): void {
  if (!deps.mfaTrustBrowserDays) return;
  const now = (deps.clock ?? systemClock).now();
  ctx.cookies.set(cookieName(accountId), String(now), {
    signed: true, httpOnly: true, sameSite: 'lax', path: '/interaction', maxAge: deps.mfaTrustBrowserDays * DAY_MS, overwrite: true,
  });
}
