import { TOTP } from 'otpauth';
import { Browser, readForm } from '../helpers/browser.ts';
import type { TestApp } from '../helpers/app.ts';
import { PASSWORD } from '../helpers/oidc.ts';

/*
 * Driving the account console like a person without JavaScript: every page is a real HTTP
 * response of the running provider; the sign-in goes through its own login and second-factor
 * pages. JSON calls (the passkey script's) carry the browser's cookies like fetch() would.
 */

export interface Page {
  url: string;
  status: number;
  html: string;
}

export const codeAt = (secret: string, ms: number): string => new TOTP({ secret, digits: 6, period: 30, algorithm: 'SHA1' }).generate({ timestamp: ms });

/** Seeds a person who can sign in with a password; returns the account. */
export async function seedPerson(app: TestApp, email = 'ada@example.com') {
  return app.deps.accounts.create({ email, password: PASSWORD, name: 'Ada Lovelace', emailVerified: true });
}

export const url = (app: TestApp, path: string): string => new URL(path, app.issuer).href;

/** The `<main>` of a page, for failure messages. */
export const mainOf = (html: string): string => html.slice(html.indexOf('<main'), html.indexOf('</main>'));

/**
 * Answers the provider's sign-in pages on the way: the login form (email and password), then
 * the second-factor form with `code()` if one is asked for. Returns the first page that is
 * neither, which is where the console sent the browser back to.
 */
export interface Person {
  email: string;
  /** An authenticator-app code, when the sign-in asks for one. */
  code?: () => string;
  /** Else a recovery code. */
  recovery?: () => string;
}

export async function throughSignIn(browser: Browser, app: TestApp, page: Page, person: Person): Promise<Page & { sawLogin: boolean; sawSecondFactor: boolean }> {
  let current = page;
  let sawLogin = false;
  let sawSecondFactor = false;
  for (let steps = 0; steps < 5; steps++) {
    if (/\/interaction\/[^/"]+\/login"/.test(current.html) && current.html.includes('type="password"')) {
      sawLogin = true;
      // The password form, not the passkey button's form before it (same action).
      const form = readForm(current.html.slice(current.html.lastIndexOf('<form', current.html.indexOf('name="password"'))), '/login');
      current = await browser.navigate(url(app, form.action), { ...form.fields, email: person.email, password: PASSWORD });
    } else if (/\/interaction\/[^/"]+\/second-factor"/.test(current.html)) {
      sawSecondFactor = true;
      const uid = /\/interaction\/([^/"]+)\/second-factor"/.exec(current.html)![1]!;
      const method = person.code ? 'totp' : person.recovery ? 'recovery' : null;
      if (!method) throw new Error('the sign-in asked for a second factor');
      // The page offers the account's preferred method first (a passkey, say); ask for this one.
      const form = readForm((await browser.navigate(url(app, `/interaction/${uid}/second-factor?method=${method}`))).html, '/second-factor');
      current = await browser.navigate(url(app, form.action), { ...form.fields, method, code: method === 'totp' ? person.code!() : person.recovery!() });
    } else if (/<a class="button" href="[^"]*\/auth\/[^"]+">/.test(current.html)) {
      // A page on the way (a recovery code was used) with a link on into the sign-in.
      current = await browser.navigate(url(app, /<a class="button" href="([^"]*\/auth\/[^"]+)">/.exec(current.html)![1]!));
    } else {
      return { ...current, sawLogin, sawSecondFactor };
    }
  }
  throw new Error(`the sign-in did not end:\n${mainOf(current.html)}`);
}

/** Opens a console page in a new (or given) browser, signing in on the way. */
export async function openConsole(app: TestApp, person: Person, path = '/account/security', browser = new Browser()) {
  const page = await throughSignIn(browser, app, await browser.navigate(url(app, path)), person);
  return { browser, page };
}

/** The console session's CSRF token, from any of its forms. */
export function csrfOf(html: string): string {
  const token = /name="csrf" value="([^"]+)"/.exec(html)?.[1];
  if (!token) throw new Error(`no CSRF token in:\n${mainOf(html)}`);
  return token;
}

/**
 * A JSON POST from the page, as views/passkey.js makes it (same origin, cookies included).
 * The test Browser keeps its jar private; its own two helpers are used through TypeScript's
 * bracket escape rather than a second cookie implementation.
 */
export async function postJson(browser: Browser, target: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const address = new URL(target);
  const cookie = browser['cookieHeader'](address);
  const response = await fetch(address, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json', ...(cookie ? { cookie } : {}) },
    body: JSON.stringify(body),
    redirect: 'manual',
  });
  browser['store'](address, response);
  return { status: response.status, body: await response.json() as Record<string, unknown> };
}

/** The text secret of the authenticator-app page, as someone would type it (spaces dropped). */
export function secretOf(html: string): string {
  const grouped = /<code class="secret" id="totp-secret">([^<]+)<\/code>/.exec(html)?.[1];
  if (!grouped) throw new Error(`no secret in:\n${mainOf(html)}`);
  return grouped.replace(/\s+/g, '');
}

/** The ten recovery codes a page shows, in order. */
export const recoveryCodesOf = (html: string): string[] => [...html.matchAll(/<li><code>([a-z0-9-]+)<\/code><\/li>/g)].map((match) => match[1]!);

/** How many audit events of `event` the account has, with their details. */
export async function auditEvents(app: TestApp, accountId: string, event: string): Promise<Array<{ reason: string | null; ip: string | null; user_agent: string | null; details: Record<string, unknown> | null }>> {
  const { rows } = await app.deps.db.query<{ reason: string | null; ip: string | null; user_agent: string | null; details: Record<string, unknown> | null }>(
    'SELECT reason, ip, user_agent, details FROM audit_events WHERE account_id = $1 AND event = $2 ORDER BY id', [accountId, event],
  );
  return rows;
}
