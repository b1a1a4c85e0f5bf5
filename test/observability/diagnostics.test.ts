import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as client from 'openid-client';
import { startTestApp, captureLogs, type TestApp } from '../helpers/app.ts';
import { Browser } from '../helpers/browser.ts';
import { seedWebClient, authorizationRequest, signInThroughPages, PASSWORD } from '../helpers/oidc.ts';

const API = 'https://api.example.test/diagnostics';

async function tokenRequest(app: TestApp, basic: string, form: Record<string, string>) {
  const response = await fetch(`${app.issuer}/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: new URLSearchParams(form),
  });
  return { status: response.status, id: response.headers.get('x-request-id'), text: await response.text() };
}

describe('errors you can diagnose', () => {
  let app: TestApp;
  let rp: Awaited<ReturnType<typeof seedWebClient>>;
  let basic: string;
  const logs = captureLogs();
  const requestLine = (id: string | null) => logs.lines.find((line) => line.msg === 'request' && line.id === id);

  beforeAll(async () => {
    // Without a grace window, so a second use of a refresh token is a replay at once.
    app = await startTestApp({ REFRESH_TOKEN_GRACE_SECONDS: '0' }, { logger: logs.logger });
    rp = await seedWebClient(app);
    basic = Buffer.from(`web-app:${rp.secret}`).toString('base64');
  });
  afterAll(async () => app?.close());

  it('puts the OAuth error of a 4xx token answer on the request log line', async () => {
    const answer = await tokenRequest(app, basic, { grant_type: 'refresh_token', refresh_token: 'not-a-token-we-issued' });
    expect(answer.status).toBe(400);
    expect(requestLine(answer.id)).toMatchObject({ path: '/token', status: 400, clientId: 'web-app', error: 'invalid_grant', errorDescription: expect.any(String) });
    const wrongSecret = await tokenRequest(app, Buffer.from('web-app:wrong').toString('base64'), { grant_type: 'refresh_token', refresh_token: 'x' });
    expect(wrongSecret.status).toBe(401);
    expect(requestLine(wrongSecret.id)).toMatchObject({ status: 401, error: 'invalid_client' });
  });

  it('logs a server_error from inside oidc-provider with its stack, and shows none of it', async () => {
    const { secret } = await app.deps.clients.create({ id: 'failing-job', grantTypes: ['client_credentials'] });
    await app.deps.resources.create({ indicator: API, scopes: ['read'] });
    await app.deps.resources.grant('failing-job', API, ['read']);
    const rbac = app.deps.rbac as { clientAccess: (...args: unknown[]) => Promise<unknown> };
    const original = rbac.clientAccess;
    rbac.clientAccess = async () => {
      throw new Error('deliberate failure from the diagnostics test');
    };
    try {
      const answer = await tokenRequest(app, Buffer.from(`failing-job:${secret}`).toString('base64'), { grant_type: 'client_credentials', resource: API, scope: 'read' });
      expect(answer.status).toBe(500);
      expect(JSON.parse(answer.text)).toEqual({ error: 'server_error', error_description: 'oops! something went wrong' });
      expect(answer.text).not.toContain('deliberate');
      const logged = logs.lines.find((line) => line.msg === 'provider server_error' && line.id === answer.id) as { err?: { message?: string; stack?: string }; route?: string } | undefined;
      expect(logged?.route).toBe('token');
      expect(logged?.err?.message).toBe('deliberate failure from the diagnostics test');
      expect(logged?.err?.stack).toContain('diagnostics.test.ts');
      expect(requestLine(answer.id)).toMatchObject({ status: 500, error: 'server_error' });
    } finally {
      rbac.clientAccess = original;
    }
  });

  it('makes a refresh token replay an audit event and a metric, with client, account and grant', async () => {
    const request = await authorizationRequest(rp.config);
    const { callback } = await signInThroughPages(new Browser(), request.url, { email: rp.email, password: PASSWORD });
    const tokens = await client.authorizationCodeGrant(rp.config, new URL(callback), { pkceCodeVerifier: request.verifier, expectedState: request.state, expectedNonce: request.nonce, idTokenExpected: true });
    const accountId = tokens.claims()!.sub;
    const [grant] = await app.deps.accountState.listGrants(accountId);
    await client.refreshTokenGrant(rp.config, tokens.refresh_token!);
    await expect(client.refreshTokenGrant(rp.config, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });

    let event: { reason: string | null; account_id: string | null; details: Record<string, unknown> } | undefined;
    for (let attempt = 0; attempt < 50 && !event; attempt++) {
      const { rows } = await app.deps.db.query<NonNullable<typeof event>>("SELECT reason, account_id, details FROM audit_events WHERE event = 'token.replay_detected'");
      event = rows[0];
      if (!event) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(event).toMatchObject({ reason: 'refresh_token_reused', account_id: accountId, details: { clientId: 'web-app', grantId: grant!.id, token: 'refresh_token' } });
    const metrics = await (await fetch(`${app.issuer}/metrics`)).text();
    expect(metrics).toMatch(/^idp_token_replays_total\{token="refresh_token"\} 1$/m);
    expect(logs.lines.some((line) => line.msg === 'token replay detected: grant revoked' && line.grantId === grant!.id)).toBe(true);
  });
});
