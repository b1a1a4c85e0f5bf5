import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as client from 'openid-client';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { authorizationRequest, PASSWORD, REDIRECT_URI, seedWebClient, signInThroughPages } from '../helpers/oidc.ts';
import { Browser } from '../helpers/browser.ts';

/*
 * What the JSON endpoints added for passkeys and the account API do with bad input: wrong types,
 * a NUL byte, an oversized body, malformed JSON, a ceremony out of order. Each gets a 4xx with
 * words, never a 5xx, and nothing is written.
 */
describe('bad input on the passkey and account API endpoints', () => {
  let app: TestApp;
  let rp: Awaited<ReturnType<typeof seedWebClient>>;

  beforeAll(async () => {
    app = await startTestApp();
    rp = await seedWebClient(app);
    await app.deps.resources.grant('web-app', `${app.issuer}/account/api`, ['account:read', 'account:write']);
  });
  afterAll(async () => app?.close());

  it('answers the login page\'s passkey endpoints with 4xx JSON for wrong types, malformed and oversized bodies, and a verify before any options', async () => {
    const browser = new Browser();
    const request = await authorizationRequest(rp.config, {}, { offline: false });
    const login = await browser.follow(request.url, REDIRECT_URI);
    if (!('html' in login)) throw new Error('expected the login page');
    const uid = /\/interaction\/([^/"]+)\/passkey\/options/.exec(login.html)![1]!;
    const csrf = /name="csrf" value="([^"]+)"/.exec(login.html)![1]!;
    const send = async (path: string, body: string) => {
      const response = await browser.request(new URL(`/interaction/${uid}${path}`, app.issuer), { rawJson: body });
      return { status: response.status, text: await response.text() };
    };
    // A verify with no ceremony started: refused, not an error.
    const early = await send('/passkey', JSON.stringify({ csrf, response: { id: 'x', rawId: 'x', type: 'public-key', response: {} } }));
    expect(early.status).toBe(400);
    expect(JSON.parse(early.text).error).toBeTruthy();
    const bad = [JSON.stringify({ csrf: 42 }), '{"csrf": "x"', JSON.stringify({ csrf, padding: 'x'.repeat(70_000) })];
    const badAssertions = [JSON.stringify({ csrf, response: 'a\u0000b' }), JSON.stringify({ csrf, response: [1, 2, 3] }), JSON.stringify({ csrf, response: { id: 'a\u0000', type: 7 } })];
    for (const [paths, bodies] of [[['/passkey/options', '/passkey'], bad], [['/passkey'], badAssertions]] as const) {
      for (const body of bodies) for (const path of paths) {
        const answer = await send(path, body);
        expect(answer.status, `${path} ${body.slice(0, 40)}`).toBeGreaterThanOrEqual(400);
        expect(answer.status, `${path} ${body.slice(0, 40)}`).toBeLessThan(500);
      }
    }
    const { rows } = await app.deps.db.query<{ count: string }>('SELECT count(*) FROM mfa_factors');
    expect(Number(rows[0]!.count)).toBe(0);
  });

  it('answers the account API with 400 for wrong types, a NUL byte and malformed JSON, and 413 for an oversized body; the profile stays as it was', async () => {
    const resource = `${app.issuer}/account/api`;
    const request = await authorizationRequest(rp.config, { resource, scope: 'openid account:read account:write' }, { offline: false });
    const { callback } = await signInThroughPages(new Browser(), request.url, { email: rp.email, password: PASSWORD });
    const token = (await client.authorizationCodeGrant(rp.config, new URL(callback), { pkceCodeVerifier: request.verifier, expectedState: request.state, expectedNonce: request.nonce }, { resource })).access_token;
    const patch = (body: string) => fetch(new URL('/account/api/profile', app.issuer), { method: 'PATCH', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body });
    for (const body of [JSON.stringify({ name: 42 }), JSON.stringify({ name: 'Ada\u0000' }), JSON.stringify({ givenName: ['x'] }), '{"name":', JSON.stringify({ locale: 'x'.repeat(5000) })]) {
      const answer = await patch(body);
      expect(answer.status, body.slice(0, 40)).toBe(400);
      expect((await answer.json() as { error: string }).error).toBeTruthy();
    }
    expect((await patch(JSON.stringify({ name: 'x'.repeat(100_000) }))).status).toBe(413);
    expect((await app.deps.accounts.findByEmail(rp.email))!.name).toBe('Ada Lovelace');
  });
});
