import { randomBytes } from 'node:crypto';
import Koa, { type Context } from 'koa';
import Router from '@koa/router';
import * as client from 'openid-client';
import { decodeJwt } from 'jose';
import { escapeHtml, jsonBlock, page } from './html.ts';

export interface RelyingPartyOptions {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** Where this app is reached, e.g. http://localhost:3001 (its redirect URIs hang off it). */
  baseUrl: string;
  scope: string;
  /** The API's resource indicator (RFC 8707) and the endpoint to call with its token. */
  apiIndicator: string;
  apiScope: string;
  apiEndpoint: string;
}

interface Transaction {
  codeVerifier: string;
  state: string;
  nonce: string;
  expiresAt: number;
}

interface SignedIn {
  idToken: string;
  email: string;
  expiresAt: number;
}

// Cookie names distinct from the provider's (_session, _interaction, ...): browsers share
// cookies between ports of one host, and both apps run on localhost.
const TX_COOKIE = 'demo_rp_tx';
const SESSION_COOKIE = 'demo_rp_session';
const TX_TTL_MS = 10 * 60 * 1000;
const SESSION_TTL_MS = 8 * 60 * 60 * 1000;

/** An in-memory store whose entries expire; enough for a single-process demo. */
function memoryStore<T extends { expiresAt: number }>() {
  const entries = new Map<string, T>();
  return {
    put(value: T): string {
      const now = Date.now();
      for (const [key, entry] of entries) if (entry.expiresAt < now) entries.delete(key);
      const id = randomBytes(32).toString('base64url');
      entries.set(id, value);
      return id;
    },
    get(id: string | undefined): T | null {
      const entry = id ? entries.get(id) : undefined;
      return entry && entry.expiresAt >= Date.now() ? entry : null;
    },
    take(id: string | undefined): T | null {
      const entry = this.get(id);
      if (id) entries.delete(id);
      return entry;
    },
  };
}

async function callApi(endpoint: string, accessToken: string): Promise<{ status: number; body: unknown }> {
  const response = await fetch(endpoint, { headers: { authorization: `Bearer ${accessToken}` } });
  const text = await response.text();
  try {
    return { status: response.status, body: JSON.parse(text) as unknown };
  } catch {
    return { status: response.status, body: text };
  }
}

/** The example relying party: code flow with PKCE, a confidential client, RP-initiated logout. */
export function createRelyingParty(options: RelyingPartyOptions): Koa {
  const transactions = memoryStore<Transaction>();
  const sessions = memoryStore<SignedIn>();
  const redirectUri = `${options.baseUrl}/callback`;
  const cookieOptions = { httpOnly: true, sameSite: 'lax' as const, path: '/', overwrite: true };

  // Discovered once, on first use, so the RP can start before the provider answers.
  let discovered: Promise<client.Configuration> | null = null;
  const configuration = (): Promise<client.Configuration> => {
    discovered ??= client.discovery(
      new URL(options.issuer),
      options.clientId,
      undefined,
      client.ClientSecretBasic(options.clientSecret),
      // openid-client refuses plain http unless told; the demo issuer is http on loopback.
      new URL(options.issuer).protocol === 'http:' ? { execute: [client.allowInsecureRequests] } : undefined,
    ).catch((error: unknown) => {
      discovered = null;
      throw error;
    });
    return discovered;
  };

  const router = new Router();

  router.get('/', (ctx) => {
    const signedIn = sessions.get(ctx.cookies.get(SESSION_COOKIE));
    ctx.type = 'html';
    ctx.body = signedIn
      ? page('Demo relying party', `<p>Signed in as <strong>${escapeHtml(signedIn.email)}</strong>.</p>
<form method="post" action="/logout"><button type="submit">Sign out</button></form>`)
      : page('Demo relying party', `<p>You are not signed in.</p>
<p><a class="button" href="/login">Sign in</a></p>`);
  });

  router.get('/login', async (ctx) => {
    const config = await configuration();
    const codeVerifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const txId = transactions.put({ codeVerifier, state, nonce, expiresAt: Date.now() + TX_TTL_MS });
    ctx.cookies.set(TX_COOKIE, txId, { ...cookieOptions, maxAge: TX_TTL_MS });
    // The API is named here, at /auth (RFC 8707), so the person consents to its scope too. The
    // code exchange then names no resource and gets an opaque token for userinfo; the refresh
    // token is exchanged afterwards with resource=<API> for a JWT the API verifies on its own.
    // offline_access counts only with prompt=consent (OIDC Core §11), so the consent page shows
    // on every demo sign-in: that is the price of a refresh token.
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      scope: `${options.scope} ${options.apiScope}`,
      resource: options.apiIndicator,
      prompt: 'consent',
      code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    });
    ctx.redirect(url.href);
  });

  router.get('/callback', async (ctx) => {
    const tx = transactions.take(ctx.cookies.get(TX_COOKIE));
    ctx.cookies.set(TX_COOKIE, null, cookieOptions);
    ctx.type = 'html';
    if (!tx) {
      ctx.status = 400;
      ctx.body = page('Sign-in failed', '<p>No sign-in is in progress here (or it expired).</p><p><a href="/">Start again</a></p>');
      return;
    }
    const config = await configuration();
    // Our own base URL, not the Host header: it must equal the registered redirect URI.
    const currentUrl = new URL(ctx.originalUrl, options.baseUrl);
    const tokens = await client.authorizationCodeGrant(config, currentUrl, {
      pkceCodeVerifier: tx.codeVerifier,
      expectedState: tx.state,
      expectedNonce: tx.nonce,
      idTokenExpected: true,
    });
    const claims = tokens.claims()!;
    // The code's access token is opaque and for userinfo; the refresh token buys a JWT for the API.
    const userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
    if (!tokens.refresh_token) throw new Error('the provider issued no refresh token (offline_access not granted)');
    const apiTokens = await client.refreshTokenGrant(config, tokens.refresh_token, { resource: options.apiIndicator });
    const accessTokenClaims = decodeJwt(apiTokens.access_token);
    const api = await callApi(options.apiEndpoint, apiTokens.access_token);

    const email = typeof userinfo.email === 'string' ? userinfo.email : claims.sub;
    const sessionId = sessions.put({ idToken: tokens.id_token!, email, expiresAt: Date.now() + SESSION_TTL_MS });
    ctx.cookies.set(SESSION_COOKIE, sessionId, { ...cookieOptions, maxAge: SESSION_TTL_MS });
    ctx.set('cache-control', 'no-store');
    ctx.body = page('Signed in', `<p>Signed in as <strong>${escapeHtml(email)}</strong>. <a href="/">Home</a></p>
<h2>ID token claims</h2>
${jsonBlock(claims)}
<h2>Userinfo</h2>
${jsonBlock(userinfo)}
<h2>Access token for ${escapeHtml(options.apiIndicator)} (decoded)</h2>
${jsonBlock(accessTokenClaims)}
<h2>GET ${escapeHtml(options.apiEndpoint)} &rarr; ${escapeHtml(api.status)}</h2>
${jsonBlock(api.body)}
<form method="post" action="/logout"><button type="submit">Sign out</button></form>`);
  });

  // A POST, so another site cannot sign people out with an image tag.
  router.post('/logout', async (ctx) => {
    const signedIn = sessions.take(ctx.cookies.get(SESSION_COOKIE));
    ctx.cookies.set(SESSION_COOKIE, null, cookieOptions);
    ctx.status = 303;
    if (!signedIn) return ctx.redirect('/');
    const config = await configuration();
    ctx.redirect(client.buildEndSessionUrl(config, {
      id_token_hint: signedIn.idToken,
      post_logout_redirect_uri: `${options.baseUrl}/`,
    }).href);
  });

  const app = new Koa();
  app.use(async (ctx: Context, next) => {
    try {
      await next();
    } catch (error) {
      // openid-client errors carry the provider's error code and description; show them, escaped.
      const { message, error: code, error_description: description } = error as Error & { error?: string; error_description?: string };
      ctx.status = code ? 400 : 502;
      ctx.type = 'html';
      ctx.body = page('Sign-in failed', `<p>${escapeHtml(code ? `${code}: ${description ?? message}` : message)}</p><p><a href="/">Start again</a></p>`);
    }
  });
  app.use(router.routes());
  app.use(router.allowedMethods());
  return app;
}
