import { randomBytes } from 'node:crypto';
import type { Context } from 'koa';

/** The console session's id (src/account/console-session.ts). */
export const SESSION_COOKIE = 'idp_account';
/** A random id of this browser, which each sign-in attempt is bound to (login CSRF). */
export const BROWSER_COOKIE = 'idp_account_browser';

const BROWSER_ID = /^[A-Za-z0-9_-]{22}$/;

/**
 * httpOnly, SameSite=Lax (sent on the top-level redirect back from /auth), signed with the
 * provider's cookie keys (app.keys), scoped to /account, and ending with the browser session.
 * `Secure` follows the issuer's scheme: behind a TLS-terminating proxy without TRUST_PROXY the
 * hop to us is plain HTTP, but browsers reach the https issuer, so the cookie is marked anyway
 * (Koa would otherwise refuse to write a Secure cookie on that request).
 */
function write(ctx: Context, issuer: string, name: string, value: string | null): void {
  const secure = new URL(issuer).protocol === 'https:';
  if (secure && !ctx.cookies.secure) ctx.cookies.secure = true;
  ctx.cookies.set(name, value, { signed: true, httpOnly: true, sameSite: 'lax', secure, path: '/account', overwrite: true });
}

export const readSessionCookie = (ctx: Context): string | undefined => ctx.cookies.get(SESSION_COOKIE, { signed: true });

export const setSessionCookie = (ctx: Context, issuer: string, id: string): void => write(ctx, issuer, SESSION_COOKIE, id);

export const clearSessionCookie = (ctx: Context, issuer: string): void => write(ctx, issuer, SESSION_COOKIE, null);

/** This browser's id, made (and set) on its first sign-in to the console. */
export function browserId(ctx: Context, issuer: string): string {
  const known = ctx.cookies.get(BROWSER_COOKIE, { signed: true });
  if (known && BROWSER_ID.test(known)) return known;
  const made = randomBytes(16).toString('base64url');
  write(ctx, issuer, BROWSER_COOKIE, made);
  return made;
}

export const readBrowserId = (ctx: Context): string | undefined => ctx.cookies.get(BROWSER_COOKIE, { signed: true });
