import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as client from 'openid-client';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { Browser, readForm } from '../helpers/browser.ts';
import { seedWebClient, authorizationRequest, signInThroughPages, PASSWORD, REDIRECT_URI } from '../helpers/oidc.ts';

describe('requests that must fail, and how', () => {
  let app: TestApp;
  let rp: Awaited<ReturnType<typeof seedWebClient>>;

  beforeAll(async () => {
    app = await startTestApp();
    rp = await seedWebClient(app);
    await app.deps.accounts.create({ email: 'gone@example.com', password: PASSWORD });
    await app.deps.accounts.setDisabled('gone@example.com', true);
  });
  afterAll(async () => app?.close());

  async function loginPage(browser: Browser) {
    const request = await authorizationRequest(rp.config);
    const step = await browser.follow(request.url, REDIRECT_URI);
    if (!('page' in step)) throw new Error('expected the login page');
    return { request, form: readForm(step.html, '/login'), html: step.html };
  }

  it('rejects a wrong password, an unknown email and a disabled account with one generic message', async () => {
    const seen = new Set<string>();
    for (const [email, password] of [[rp.email, 'wrong password!'], ['nobody@example.com', PASSWORD], ['gone@example.com', PASSWORD]] as const) {
      const browser = new Browser();
      const { form } = await loginPage(browser);
      const response = await browser.request(new URL(form.action, app.issuer), { form: { ...form.fields, email, password } });
      expect(response.status).toBe(400);
      expect(response.headers.get('location')).toBeNull();
      const html = await response.text();
      const message = /role="alert"[^>]*>([^<]+)</.exec(html)?.[1];
      expect(message).toBe('Incorrect email or password.');
      seen.add(html.replace(/value="[^"]*"/g, '').replace(/\/interaction\/[^/"]+/g, ''));
    }
    expect(seen.size).toBe(1); // identical but for the echoed email, the interaction and its token
  });

  it('refuses a login post without the CSRF token', async () => {
    const browser = new Browser();
    const { form } = await loginPage(browser);
    const response = await browser.request(new URL(form.action, app.issuer), { form: { email: rp.email, password: PASSWORD } });
    expect(response.status).toBe(403);
    expect(response.headers.get('location')).toBeNull();
  });

  it('answers an oversized login form with 413 and a page, not a 500', async () => {
    const browser = new Browser();
    const { form } = await loginPage(browser);
    const response = await browser.request(new URL(form.action, app.issuer), { form: { ...form.fields, email: 'a'.repeat(40_000), password: 'x' } });
    expect(response.status).toBe(413);
    expect(await response.text()).toContain('request.too_large');
  });

  it('sets strict security headers on the login page', async () => {
    const browser = new Browser();
    const request = await authorizationRequest(rp.config);
    const step = await browser.follow(request.url, REDIRECT_URI);
    if (!('page' in step)) throw new Error('expected the login page');
    const csp = step.page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("default-src 'none'");
    expect(step.page.headers.get('x-frame-options')).toBe('DENY');
    expect(step.page.headers.get('x-content-type-options')).toBe('nosniff');
    expect(step.html).toMatch(/<label for="email">/);
    expect(step.html).toMatch(/<label for="password">/);
  });

  it('answers an authorization request without PKCE with invalid_request at the redirect URI', async () => {
    const url = client.buildAuthorizationUrl(rp.config, { redirect_uri: REDIRECT_URI, scope: 'openid', state: 'abc' });
    const response = await fetch(url, { redirect: 'manual' });
    expect(response.status).toBe(303);
    const location = new URL(response.headers.get('location')!);
    expect(location.origin + location.pathname).toBe(REDIRECT_URI);
    expect(location.searchParams.get('error')).toBe('invalid_request');
    expect(location.searchParams.get('error_description')).toMatch(/PKCE/);
    expect(location.searchParams.get('state')).toBe('abc');
  });

  it('rejects a wrong code_verifier, then a reused code, with invalid_grant', async () => {
    const browser = new Browser();
    const request = await authorizationRequest(rp.config);
    const { callback } = await signInThroughPages(browser, request.url, { email: rp.email, password: PASSWORD });
    await expect(client.authorizationCodeGrant(rp.config, new URL(callback), {
      pkceCodeVerifier: client.randomPKCECodeVerifier(), expectedState: request.state, expectedNonce: request.nonce,
    })).rejects.toMatchObject({ error: 'invalid_grant' });

    const second = await authorizationRequest(rp.config);
    const next = await signInThroughPages(browser, second.url, { email: rp.email, password: PASSWORD });
    const checks = { pkceCodeVerifier: second.verifier, expectedState: second.state, expectedNonce: second.nonce };
    await client.authorizationCodeGrant(rp.config, new URL(next.callback), checks);
    await expect(client.authorizationCodeGrant(rp.config, new URL(next.callback), checks)).rejects.toMatchObject({ error: 'invalid_grant' });
  });

  it('answers one of six parallel exchanges of one code, the rest invalid_grant as JSON, and keeps no token the losers made', async () => {
    const browser = new Browser();
    const request = await authorizationRequest(rp.config);
    const { callback } = await signInThroughPages(browser, request.url, { email: rp.email, password: PASSWORD });
    const code = new URL(callback).searchParams.get('code')!;
    const redis = app.deps.redis;
    const prefix = app.storage.redisPrefix;
    const indexesBefore = new Set(redis ? await redis.keys(`${prefix}grant:*`) : []);
    const basic = `Basic ${Buffer.from(`web-app:${rp.secret}`).toString('base64')}`;
    const answers = await Promise.all(Array.from({ length: 6 }, async () => {
      const response = await fetch(`${app.issuer}/token`, {
        method: 'POST',
        headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: request.verifier }),
      });
      return { status: response.status, body: await response.json() as { access_token?: string; refresh_token?: string; error?: string } };
    }));
    const winners = answers.filter((answer) => answer.status === 200);
    expect(winners).toHaveLength(1);
    expect(answers.filter((answer) => answer.status === 400).map((answer) => answer.body.error)).toEqual(Array(5).fill('invalid_grant'));
    const { access_token: accessToken, refresh_token: refreshToken } = winners[0]!.body;
    // A loser that found the code already used is a replay, and revokes the grant (RFC 6749
    // §4.1.2): the winner's tokens then go too. One that lost the race to consume it writes nothing.
    if (redis) {
      // This sign-in's grant: the index that was not there before the exchanges.
      const grantIndexes = (await redis.keys(`${prefix}grant:*`)).filter((index) => !indexesBefore.has(index));
      const members = (await Promise.all(grantIndexes.map((index) => redis.smembers(index)))).flat();
      const live = (await Promise.all(members.map(async (member) => ((await redis.exists(member)) ? member : null)))).filter(Boolean);
      const tokens = live.filter((member) => /:(AccessToken|RefreshToken):/.test(member!));
      const mine = [`${prefix}AccessToken:${accessToken}`, `${prefix}RefreshToken:${refreshToken}`];
      for (const token of tokens) expect(mine).toContain(token);
    }
  });

  it('renders an error page, never a redirect, for an unregistered redirect_uri', async () => {
    const request = await authorizationRequest(rp.config, { redirect_uri: 'https://attacker.example/steal' });
    const response = await fetch(request.url, { redirect: 'manual' });
    expect(response.status).toBe(400);
    expect(response.headers.get('location')).toBeNull();
    const html = await response.text();
    expect(html).toContain('redirect_uri');
    expect(html).not.toContain('attacker.example');
  });

  it('renders an error page for an unknown client at the authorization endpoint', async () => {
    const url = new URL(`${app.issuer}/auth`);
    url.search = new URLSearchParams({ client_id: 'no-such-client', response_type: 'code', scope: 'openid', redirect_uri: REDIRECT_URI, code_challenge: 'x'.repeat(43), code_challenge_method: 'S256' }).toString();
    const response = await fetch(url, { redirect: 'manual' });
    expect(response.status).toBe(400);
    expect(response.headers.get('location')).toBeNull();
    expect(await response.text()).toContain('invalid_client');
  });

  it('answers the token endpoint with JSON errors: unknown client 401, malformed request 400', async () => {
    const unknown = await fetch(`${app.issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from('nobody:secret').toString('base64')}` },
      body: 'grant_type=authorization_code&code=abc&redirect_uri=x&code_verifier=y',
    });
    expect(unknown.status).toBe(401);
    expect(await unknown.json()).toMatchObject({ error: 'invalid_client' });

    const basic = `Basic ${Buffer.from(`web-app:${rp.secret}`).toString('base64')}`;
    const malformed = await fetch(`${app.issuer}/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic }, body: 'grant_type=authorization_code' });
    expect(malformed.status).toBe(400);
    expect(malformed.headers.get('content-type')).toMatch(/application\/json/);
    expect(await malformed.json()).toMatchObject({ error: 'invalid_request' });

    const unsupported = await fetch(`${app.issuer}/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic }, body: 'grant_type=password&username=a&password=b' });
    expect(unsupported.status).toBe(400);
    expect(await unsupported.json()).toMatchObject({ error: 'unsupported_grant_type' });

    const notForm = await fetch(`${app.issuer}/token`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: basic }, body: '{"grant_type":' });
    expect(notForm.status).toBe(400);
    expect(await notForm.json()).toHaveProperty('error');
  });

  it('shows a friendly page for an unknown or expired interaction', async () => {
    const response = await fetch(`${app.issuer}/interaction/does-not-exist`, { headers: { accept: 'text/html' } });
    expect(response.status).toBe(400);
    const html = await response.text();
    expect(html).toContain('This sign-in has expired');
    expect(html).toContain('href="/"');
    expect(html).not.toMatch(/at .*\.ts:\d+/); // no stack trace
  });

  it('returns access_denied to the client when the person denies consent', async () => {
    const browser = new Browser();
    const request = await authorizationRequest(rp.config, { prompt: 'consent' });
    const login = await browser.follow(request.url, REDIRECT_URI);
    if (!('page' in login)) throw new Error('expected the login page');
    const form = readForm(login.html, '/login');
    const consent = await browser.follow(new URL(form.action, app.issuer), REDIRECT_URI, { form: { ...form.fields, email: rp.email, password: PASSWORD } });
    if (!('page' in consent)) throw new Error('expected the consent page');
    expect(consent.html).toContain('Web App');
    expect(consent.html).toContain('See your email address');
    const deny = readForm(consent.html, '/abort');
    const result = await browser.follow(new URL(deny.action, app.issuer), REDIRECT_URI, { form: deny.fields });
    if (!('url' in result)) throw new Error('expected a redirect to the client');
    expect(new URL(result.url).searchParams.get('error')).toBe('access_denied');
  });
});
