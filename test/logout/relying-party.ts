import { expect } from 'vitest';
import * as client from 'openid-client';
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';
import type { TestApp } from '../helpers/app.ts';
import { Browser, readForm } from '../helpers/browser.ts';
import { authorizationRequest, PASSWORD, REDIRECT_URI, signInThroughPages } from '../helpers/oidc.ts';
import { BACKCHANNEL_LOGOUT_QUEUE } from '../../src/events/backchannel-logout.ts';

export const LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';

/** Short retries, so a receiver that comes back is reached within seconds. */
export const FAST_RETRIES = { BACKCHANNEL_LOGOUT_RETRY_DELAY_SECONDS: '1', BACKCHANNEL_LOGOUT_RETRY_DELAY_MAX_SECONDS: '2' };

export interface RelyingParty {
  clientId: string;
  config: client.Configuration;
}

/** A person who signs in with a password. */
export async function seedPerson(app: TestApp, email: string): Promise<string> {
  return (await app.deps.accounts.create({ email, password: PASSWORD, name: 'Ada Lovelace', emailVerified: true })).id;
}

/**
 * A confidential web client that registered a back-channel logout endpoint (RFC 7591 metadata),
 * or none when `logoutUri` is null.
 */
export async function registerClient(app: TestApp, clientId: string, logoutUri: string | null, options: { sessionRequired?: boolean } = {}): Promise<RelyingParty> {
  const { secret } = await app.deps.clients.create({
    id: clientId,
    name: `App ${clientId}`,
    redirectUris: [REDIRECT_URI],
    grantTypes: ['authorization_code', 'refresh_token'],
    metadata: logoutUri ? { backchannel_logout_uri: logoutUri, backchannel_logout_session_required: options.sessionRequired ?? true } : {},
  });
  const config = await client.discovery(new URL(app.issuer), clientId, undefined, client.ClientSecretBasic(secret!), { execute: [client.allowInsecureRequests] });
  return { clientId, config };
}

/** Signs in to `rp` in `browser` (a new sign-in, or the session it already has); returns the ID token's claims. */
export async function signIn(browser: Browser, rp: RelyingParty, email: string): Promise<client.IDToken> {
  const request = await authorizationRequest(rp.config, {}, { offline: false });
  const { callback } = await signInThroughPages(browser, request.url, { email, password: PASSWORD });
  const tokens = await client.authorizationCodeGrant(rp.config, new URL(callback), { pkceCodeVerifier: request.verifier, expectedState: request.state, expectedNonce: request.nonce, idTokenExpected: true });
  const claims = tokens.claims()!;
  // Back-Channel Logout 1.0 §2.1: with backchannel_logout_session_supported, ID tokens carry sid.
  expect(typeof claims.sid).toBe('string');
  return claims;
}

/** RP-initiated logout on the hosted pages: the question, then "sign out" (of every app of the session). */
export async function logOutThroughPages(app: TestApp, browser: Browser, clientId: string, options: { everywhere?: boolean } = {}): Promise<void> {
  const question = await browser.navigate(new URL(`/session/end?client_id=${encodeURIComponent(clientId)}`, app.issuer).href);
  expect(question.status).toBe(200);
  const confirm = readForm(question.html, '/session/end/confirm');
  const done = await browser.navigate(new URL(confirm.action, app.issuer).href, { ...confirm.fields, ...(options.everywhere === false ? {} : { logout: 'yes' }) });
  expect(done.status).toBe(200);
}

const keySets = new Map<string, ReturnType<typeof createRemoteJWKSet>>();

/**
 * Validates a logout token as a relying party must (Back-Channel Logout 1.0 §2.6): signed by the
 * provider's published keys, typ logout+jwt, iss, aud, iat, exp, jti, the logout event, no nonce;
 * returns its claims.
 */
export async function verifyLogoutToken(app: TestApp, token: string, clientId: string): Promise<JWTPayload> {
  const jwks = keySets.get(app.issuer) ?? createRemoteJWKSet(new URL(`${app.issuer}/jwks`));
  keySets.set(app.issuer, jwks);
  const { payload, protectedHeader } = await jwtVerify(token, jwks, { issuer: app.issuer, audience: clientId, typ: 'logout+jwt', maxTokenAge: 300 });
  expect(protectedHeader.typ).toBe('logout+jwt');
  expect(payload.aud).toBe(clientId);
  expect(payload.events).toEqual({ [LOGOUT_EVENT]: {} });
  expect(payload.jti).toMatch(/^[\w-]{16,}$/);
  expect(typeof payload.iat).toBe('number');
  expect(payload.exp).toBeGreaterThan(payload.iat!);
  expect(payload).not.toHaveProperty('nonce');
  return payload;
}

/** Verifies the one token at `tokens` for the client and that it names the account and the ID token's session. */
export async function expectLogoutOf(app: TestApp, tokens: string[], clientId: string, idToken: { sub: string; sid?: unknown }): Promise<JWTPayload> {
  expect(tokens).toHaveLength(1);
  const payload = await verifyLogoutToken(app, tokens[0]!, clientId);
  expect(payload.sub).toBe(idToken.sub);
  expect(payload.sid).toEqual(idToken.sid);
  return payload;
}

/** Resolves once no back-channel logout waits to be sent (none new, none between retries). */
export async function queueDrained(app: TestApp, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await app.deps.jobs.pending(BACKCHANNEL_LOGOUT_QUEUE)) > 0) {
    if (Date.now() > deadline) throw new Error('back-channel logouts still queued');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** A sample of the app's /metrics, or 0 when absent. */
export async function metric(app: TestApp, sample: string): Promise<number> {
  const text = await (await fetch(`${app.issuer}/metrics`)).text();
  const line = text.split('\n').find((entry) => entry.startsWith(`${sample} `));
  return line ? Number(line.slice(sample.length + 1)) : 0;
}

/** The account's audit events of one name, oldest first. */
/**
 * auditOf once `enough` holds of the rows, or after 5 s whatever they are: a delivery leaves the
 * queue (queueDrained) when a worker takes it, a moment before its audit row is written.
 */
export async function auditWhen(app: TestApp, accountId: string, event: string, enough: (rows: Awaited<ReturnType<typeof auditOf>>) => boolean): Promise<Awaited<ReturnType<typeof auditOf>>> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const rows = await auditOf(app, accountId, event);
    if (enough(rows) || Date.now() > deadline) return rows;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export async function auditOf(app: TestApp, accountId: string, event: string): Promise<Array<{ reason: string | null; details: Record<string, unknown> }>> {
  const { rows } = await app.deps.db.query<{ reason: string | null; details: Record<string, unknown> }>('SELECT reason, details FROM audit_events WHERE account_id = $1 AND event = $2 ORDER BY id', [accountId, event]);
  return rows;
}
