import * as client from 'openid-client';
import { Browser, readForm } from './browser.ts';
import type { TestApp } from './app.ts';
import { authorizationRequest, REDIRECT_URI } from './oidc.ts';

export type Step = { url: string } | { page: Response; html: string; pageUrl: string };

export function asPage(step: Step): { status: number; html: string; pageUrl: string } {
  if (!('page' in step)) throw new Error(`expected a page, got a redirect to ${step.url}`);
  return { status: step.page.status, html: step.html, pageUrl: step.pageUrl };
}

/**
 * Starts a plain sign-in at the relying party, shows the login page and presses the
 * "Continue with <upstream>" button. Follows redirects until a page, the relying party, or
 * `stopAt` (for example our callback URL, to tamper with it).
 */
export async function pressUpstreamButton(app: TestApp, config: client.Configuration, browser: Browser, upstreamId: string, options: { stopAt?: string } = {}) {
  const request = await authorizationRequest(config, {}, { offline: false });
  const login = asPage(await browser.follow(request.url, REDIRECT_URI));
  const form = readForm(login.html, `/federation/${upstreamId}`);
  const step = await browser.follow(new URL(form.action, app.issuer), options.stopAt ?? REDIRECT_URI, { form: form.fields });
  return { request, step, loginUrl: login.pageUrl };
}

/** Submits the consent page when one is shown; returns the final step. */
export async function allowIfAsked(app: TestApp, browser: Browser, step: Step): Promise<Step> {
  if ('page' in step && step.html.includes('/confirm"')) {
    const form = readForm(step.html, '/confirm');
    return browser.follow(new URL(form.action, app.issuer), REDIRECT_URI, { form: form.fields });
  }
  return step;
}

/** The relying party's side: exchanges the code in the redirect and returns the tokens. */
export async function redeem(config: client.Configuration, step: Step, request: Awaited<ReturnType<typeof authorizationRequest>>) {
  if (!('url' in step)) throw new Error(`expected the relying party redirect, got page ${step.page.status}:\n${step.html}`);
  return client.authorizationCodeGrant(config, new URL(step.url), {
    pkceCodeVerifier: request.verifier,
    expectedState: request.state,
    expectedNonce: request.nonce,
    idTokenExpected: true,
  });
}

/** Row counts that must not move when a federated sign-in fails. */
export async function counts(app: TestApp): Promise<{ accounts: number; identities: number }> {
  const { rows } = await app.deps.db.query<{ accounts: string; identities: string }>(
    'SELECT (SELECT count(*) FROM accounts) AS accounts, (SELECT count(*) FROM federated_identities) AS identities',
  );
  return { accounts: Number(rows[0]!.accounts), identities: Number(rows[0]!.identities) };
}

export async function identitiesOf(app: TestApp, accountId: string) {
  const { rows } = await app.deps.db.query<{ upstream_id: string; subject: string; email: string | null; created_at: Date; last_used_at: Date }>(
    'SELECT upstream_id, subject, email, created_at, last_used_at FROM federated_identities WHERE account_id = $1 ORDER BY upstream_id',
    [accountId],
  );
  return rows;
}
