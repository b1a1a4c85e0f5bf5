import type * as client from 'openid-client';
import { Browser, readForm } from './browser.ts';
import type { TestApp } from './app.ts';
import { authorizationRequest, REDIRECT_URI } from './oidc.ts';

export interface Page {
  status: number;
  html: string;
  url: string;
}

/** Starts a sign-in at the relying party and returns the login page (an interaction of its own). */
export async function openLoginPage(config: client.Configuration, browser = new Browser(), options: { offline?: boolean } = {}) {
  const request = await authorizationRequest(config, {}, { offline: options.offline ?? false });
  const step = await browser.follow(request.url, REDIRECT_URI);
  if (!('page' in step)) throw new Error('expected the login page');
  const uid = /\/interaction\/([^/"]+)\/login"/.exec(step.html)?.[1];
  if (!uid) throw new Error(`no login form in:\n${step.html}`);
  return { browser, request, uid, html: step.html, url: step.pageUrl };
}

/** Follows a link (GET) on our pages. */
export async function open(browser: Browser, app: TestApp, path: string): Promise<Page> {
  return browser.navigate(new URL(path, app.issuer).href);
}

/** Submits the form whose action ends with `actionSuffix` on `html`, with extra fields. */
export async function submit(browser: Browser, app: TestApp, html: string, actionSuffix: string, fields: Record<string, string> = {}): Promise<Page> {
  const form = readForm(html, actionSuffix);
  return browser.navigate(new URL(form.action, app.issuer).href, { ...form.fields, ...fields });
}

/**
 * A page with the parts that must differ between two requests replaced: CSRF tokens, interaction
 * ids, and the email the person typed (the page echoes it).
 */
export function normalise(html: string, replace: Record<string, string> = {}): string {
  let text = html.replace(/name="csrf" value="[^"]*"/g, 'name="csrf" value="CSRF"').replace(/\/interaction\/[A-Za-z0-9_-]+/g, '/interaction/UID');
  for (const [from, to] of Object.entries(replace)) text = text.split(from).join(to);
  return text;
}
