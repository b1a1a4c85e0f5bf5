import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as client from 'openid-client';
import type { AdapterPayload } from 'oidc-provider';
import { captureLogs, startTestApp, type TestApp } from '../helpers/app.ts';
import { Browser } from '../helpers/browser.ts';
import { seedWebClient, authorizationRequest, signInThroughPages, PASSWORD, REDIRECT_URI } from '../helpers/oidc.ts';

interface Adapted {
  adapter: { find(id: string): Promise<AdapterPayload | undefined>; upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void> };
}

/**
 * A request already in flight when everything an account holds is revoked (password reset,
 * disable, sign out everywhere) may save the session or grant it loaded afterwards. The test
 * plays that request: it keeps copies of the stored records, revokes, and writes them back.
 */
describe('revoking everything an account holds closes the window for requests in flight', () => {
  let app: TestApp;
  let rp: Awaited<ReturnType<typeof seedWebClient>>;
  const logs = captureLogs();

  beforeAll(async () => {
    app = await startTestApp({ LOG_LEVEL: 'error' }, { logger: logs.logger });
    rp = await seedWebClient(app);
  });
  afterAll(async () => {
    const errors = logs.lines.filter((line) => Number(line.level) >= 50);
    if (errors.length) console.log(JSON.stringify(errors, null, 1));
    await app?.close();
  });

  it('refuses a session and a refresh token written back after revoke-all, and a new sign-in works', async () => {
    const browser = new Browser();
    const request = await authorizationRequest(rp.config);
    const { callback } = await signInThroughPages(browser, request.url, { email: rp.email, password: PASSWORD });
    const tokens = await client.authorizationCodeGrant(rp.config, new URL(callback), { pkceCodeVerifier: request.verifier, expectedState: request.state, expectedNonce: request.nonce, idTokenExpected: true });
    const accountId = tokens.claims()!.sub;

    const provider = app.deps.provider as unknown as Record<'Session' | 'Grant' | 'RefreshToken', Adapted>;
    const [session] = await app.deps.accountState.listSessions(accountId);
    const [grant] = await app.deps.accountState.listGrants(accountId);
    const stored = {
      session: await provider.Session.adapter.find(session!.id),
      grant: await provider.Grant.adapter.find(grant!.id),
      refresh: await provider.RefreshToken.adapter.find(tokens.refresh_token!),
    };
    expect(stored.session && stored.grant && stored.refresh).toBeTruthy();

    // Sign-ins are recorded in whole seconds: let this one be in an earlier second than the revocation.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect(await app.deps.users.revokeAll({ id: accountId })).toBeGreaterThan(0);

    // The in-flight request saves what it had loaded.
    await provider.Session.adapter.upsert(session!.id, stored.session!, 600);
    await provider.Grant.adapter.upsert(grant!.id, stored.grant!, 600);
    await provider.RefreshToken.adapter.upsert(tokens.refresh_token!, stored.refresh!, 600);

    // The session no longer signs anyone in silently ...
    const silent = await authorizationRequest(rp.config, { prompt: 'none' }, { offline: false });
    const result = await browser.follow(silent.url, REDIRECT_URI);
    if (!('url' in result)) throw new Error(`expected a redirect to the client, got a page ${result.page.status} ${JSON.stringify(logs.lines.filter((l) => Number(l.level) >= 50))}`);
    expect(new URL(result.url).searchParams.get('error')).toBe('login_required');
    // ... the refresh token and the access token issued before are refused ...
    await expect(client.refreshTokenGrant(rp.config, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    await expect(client.fetchUserInfo(rp.config, tokens.access_token, accountId)).rejects.toBeTruthy();

    // ... while signing in again works as usual.
    const again = await authorizationRequest(rp.config);
    const fresh = await signInThroughPages(browser, again.url, { email: rp.email, password: PASSWORD });
    const renewed = await client.authorizationCodeGrant(rp.config, new URL(fresh.callback), { pkceCodeVerifier: again.verifier, expectedState: again.state, expectedNonce: again.nonce, idTokenExpected: true });
    expect((await client.fetchUserInfo(rp.config, renewed.access_token, accountId)).email).toBe(rp.email);
    expect((await client.refreshTokenGrant(rp.config, renewed.refresh_token!)).access_token).toBeTruthy();
  });
});
