/**
 * A person signing in through the hosted pages, as a browser would (test/helpers/browser.ts):
 * GET /auth → login page → POST credentials → consent page if shown → code → POST /token with
 * the PKCE verifier and client_secret_basic. Works against both targets: the bare provider's
 * pages use the same form actions (/interaction/:uid/login and /confirm).
 */
import { createHash, randomBytes } from 'node:crypto';
import { Browser, readForm } from '../test/helpers/browser.ts';
import { basicAuth, fixtures } from './fixtures.ts';

export interface TokenResponse {
  access_token: string;
  refresh_token?: string;
  id_token?: string;
  token_type: string;
  expires_in: number;
  scope?: string;
}

export interface SignIn {
  tokens: TokenResponse;
  /** Consent pages this sign-in had to submit (0 when consent was remembered). */
  consentPages: number;
}

const random = () => randomBytes(32).toString('base64url');

/** Scope of a plain sign-in; `offline` adds offline_access, which needs prompt=consent. */
export async function signIn(base: string, options: { offline?: boolean } = {}): Promise<SignIn> {
  const browser = new Browser();
  const verifier = random();
  const state = random();
  const auth = new URL('/auth', base);
  auth.search = new URLSearchParams({
    client_id: fixtures.clientId,
    response_type: 'code',
    redirect_uri: fixtures.redirectUri,
    scope: options.offline ? 'openid profile email offline_access' : 'openid profile email',
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
    state,
    nonce: random(),
    ...(options.offline ? { prompt: 'consent' } : {}),
  }).toString();

  let consentPages = 0;
  let step = await browser.follow(auth, fixtures.redirectUri);
  for (let pages = 0; 'page' in step; pages++) {
    if (pages > 3) throw new Error(`sign-in did not finish; last page ${step.page.status} at ${step.pageUrl}`);
    if (step.page.status !== 200) throw new Error(`page ${step.pageUrl} answered ${step.page.status}: ${step.html.slice(0, 300)}`);
    if (step.html.includes('/login"')) {
      const form = readForm(step.html, '/login');
      step = await browser.follow(new URL(form.action, base), fixtures.redirectUri, { form: { ...form.fields, email: fixtures.email, password: fixtures.password } });
    } else if (step.html.includes('/confirm"')) {
      consentPages++;
      const form = readForm(step.html, '/confirm');
      step = await browser.follow(new URL(form.action, base), fixtures.redirectUri, { form: form.fields });
    } else {
      throw new Error(`unexpected page ${step.page.status} at ${step.pageUrl}: ${step.html.slice(0, 300)}`);
    }
  }

  const callback = new URL(step.url);
  const code = callback.searchParams.get('code');
  if (!code || callback.searchParams.get('state') !== state) throw new Error(`bad callback ${step.url}`);
  const tokens = await tokenRequest(base, { grant_type: 'authorization_code', code, redirect_uri: fixtures.redirectUri, code_verifier: verifier });
  if (options.offline && !tokens.refresh_token) throw new Error('the sign-in returned no refresh token');
  return { tokens, consentPages };
}

/** POST /token as the bench client; throws unless 200. */
export async function tokenRequest(base: string, params: Record<string, string>): Promise<TokenResponse> {
  const response = await fetch(new URL('/token', base), {
    method: 'POST',
    headers: { authorization: basicAuth, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: new URLSearchParams(params).toString(),
  });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`POST /token (${params.grant_type}) answered ${response.status}: ${text.slice(0, 300)}`);
  return JSON.parse(text) as TokenResponse;
}

/** `count` sign-ins, `parallel` at a time. */
export async function signIns(base: string, count: number, parallel: number, options: { offline?: boolean } = {}): Promise<SignIn[]> {
  const results: SignIn[] = [];
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(parallel, count) }, async () => {
    while (next < count) {
      next++;
      results.push(await signIn(base, options));
    }
  }));
  return results;
}
