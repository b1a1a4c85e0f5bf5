const BASE = 'http://console.invalid';

/** Where the console sends people once they are signed in, when nothing else was asked for. */
export const CONSOLE_HOME = '/account/profile';

/**
 * `value` as a path of the console to come back to after signing in, or null. Only local
 * `/account/…` paths qualify (never another host, `//host`, a backslash trick or the callback
 * itself), so a sign-in cannot be turned into an open redirect (RFC 9700 §4.11).
 */
export function consoleReturnPath(value: unknown): string | null {
  if (typeof value !== 'string' || value.length > 512 || !value.startsWith('/') || value.startsWith('//') || /[\\\p{Cc}]/u.test(value)) return null;
  const url = new URL(value, BASE);
  if (url.origin !== BASE || !url.pathname.startsWith('/account/') || url.pathname.startsWith('/account/callback')) return null;
  return `${url.pathname}${url.search}`;
}
