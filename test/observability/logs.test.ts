import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as client from 'openid-client';
import { startTestApp, captureLogs, type TestApp } from '../helpers/app.ts';
import { Browser } from '../helpers/browser.ts';
import { seedWebClient, authorizationRequest, signInThroughPages, PASSWORD } from '../helpers/oidc.ts';

describe('request logs', () => {
  let app: TestApp;
  const logs = captureLogs();

  beforeAll(async () => {
    app = await startTestApp({}, { logger: logs.logger });
  });
  afterAll(async () => app?.close());

  it('carry request id, method, path, status, duration, client and account; never a secret of a full sign-in', async () => {
    const rp = await seedWebClient(app);
    const browser = new Browser();
    const request = await authorizationRequest(rp.config);
    const { callback } = await signInThroughPages(browser, request.url, { email: rp.email, password: PASSWORD });
    const code = new URL(callback).searchParams.get('code')!;
    const tokens = await client.authorizationCodeGrant(rp.config, new URL(callback), { pkceCodeVerifier: request.verifier, expectedState: request.state, expectedNonce: request.nonce, idTokenExpected: true });
    const refreshed = await client.refreshTokenGrant(rp.config, tokens.refresh_token!);
    await client.fetchUserInfo(rp.config, refreshed.access_token, tokens.claims()!.sub);
    await client.tokenIntrospection(rp.config, refreshed.access_token);
    const withId = await fetch(`${app.issuer}/.well-known/openid-configuration`, { headers: { 'x-request-id': 'trace-abc-123' } });
    expect(withId.headers.get('x-request-id')).toBe('trace-abc-123');

    const requests = logs.lines.filter((line) => line.msg === 'request');
    expect(requests.length).toBeGreaterThan(8);
    for (const line of requests) expect(line).toMatchObject({ id: expect.any(String), method: expect.any(String), path: expect.any(String), status: expect.any(Number), ms: expect.any(Number) });
    expect(requests.find((line) => line.path === '/.well-known/openid-configuration' && line.id === 'trace-abc-123')).toBeTruthy();
    const account = await app.deps.accounts.findByEmail(rp.email);
    const token = requests.filter((line) => line.path === '/token');
    expect(token.length).toBeGreaterThanOrEqual(2);
    expect(token.every((line) => line.clientId === 'web-app')).toBe(true);
    expect(requests.some((line) => String(line.path).endsWith('/login') && line.accountId === account!.id && line.clientId === 'web-app')).toBe(true);
    expect(requests.some((line) => line.path === '/me' && line.accountId === account!.id)).toBe(true);

    const text = logs.lines.map((line) => JSON.stringify(line)).join('\n');
    const secrets = {
      password: PASSWORD,
      clientSecret: rp.secret,
      code,
      codeVerifier: request.verifier,
      state: request.state,
      nonce: request.nonce,
      accessToken: tokens.access_token,
      refreshToken: tokens.refresh_token!,
      newRefreshToken: refreshed.refresh_token!,
      idToken: tokens.id_token!,
    };
    for (const [name, value] of Object.entries(secrets)) expect(text.includes(value), `${name} found in the log`).toBe(false);
    // Nor the interaction and session cookies.
    expect(text).not.toMatch(/_interaction=|_session=/);
  });
});
