import * as client from 'openid-client';
import { Browser, readForm } from './browser.ts';
import type { TestApp } from './app.ts';

export const REDIRECT_URI = 'http://127.0.0.1:9/callback';
export const POST_LOGOUT_URI = 'http://127.0.0.1:9/signed-out';
export const PASSWORD = 'correct horse battery staple';

/** Seeds a person with a role and a confidential web client; returns what a relying party needs. */
export async function seedWebClient(app: TestApp, options: { email?: string; clientId?: string } = {}) {
  const email = options.email ?? 'ada@example.com';
  await app.deps.accounts.create({ email, password: PASSWORD, name: 'Ada Lovelace', givenName: 'Ada', familyName: 'Lovelace', emailVerified: true, roles: ['admin', 'staff'] });
  const { secret } = await app.deps.clients.create({
    id: options.clientId ?? 'web-app',
    name: 'Web App',
    redirectUris: [REDIRECT_URI],
    postLogoutRedirectUris: [POST_LOGOUT_URI],
    grantTypes: ['authorization_code', 'refresh_token'],
  });
  const config = await client.discovery(new URL(app.issuer), options.clientId ?? 'web-app', undefined, client.ClientSecretBasic(secret!), {
    execute: [client.allowInsecureRequests],
  });
  return { email, secret: secret!, config };
}

/**
 * A code + PKCE authorization request. offline_access counts only with prompt=consent (OIDC Core
 * §11), so `offline` asks for both; without it the request is a plain sign-in.
 */
export async function authorizationRequest(config: client.Configuration, extra: Record<string, string> = {}, options: { offline?: boolean } = {}) {
  const offline = options.offline ?? true;
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT_URI,
    scope: offline ? 'openid profile email offline_access roles' : 'openid profile email roles',
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
    ...(offline ? { prompt: 'consent' } : {}),
    ...extra,
  });
  return { url, verifier, state, nonce };
}

/**
 * Drives the hosted pages like a person: submits the login form, then allows the consent page if
 * one is shown. Returns the URL the provider finally redirects the browser to.
 */
export async function signInThroughPages(browser: Browser, url: URL, credentials: { email: string; password: string }): Promise<{ callback: string; sawConsent: boolean }> {
  let step = await browser.follow(url, REDIRECT_URI);
  let sawConsent = false;
  for (let pages = 0; pages < 4 && 'page' in step; pages++) {
    if (step.html.includes('/login"')) {
      const form = readForm(step.html, '/login');
      step = await browser.follow(new URL(form.action, url), REDIRECT_URI, { form: { ...form.fields, ...credentials } });
    } else if (step.html.includes('/confirm"')) {
      sawConsent = true;
      const form = readForm(step.html, '/confirm');
      step = await browser.follow(new URL(form.action, url), REDIRECT_URI, { form: form.fields });
    } else {
      throw new Error(`unexpected page ${step.page.status}:\n${step.html}`);
    }
  }
  if (!('url' in step)) throw new Error('sign-in did not finish');
  return { callback: step.url, sawConsent };
}
