import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestApp, captureLogs, type TestApp } from '../helpers/app.ts';
import { Browser } from '../helpers/browser.ts';
import { seedWebClient } from '../helpers/oidc.ts';
import { freePort } from '../helpers/ports.ts';
import { startFakeOidcUpstream, type FakeOidcUpstream } from '../helpers/fake-oidc-upstream.ts';
import { allowIfAsked, asPage, counts, pressUpstreamButton, redeem } from '../helpers/federation.ts';

describe('failed upstream sign-ins: a clear page, an audit line, nothing written', () => {
  let google: FakeOidcUpstream;
  let app: TestApp;
  let rp: Awaited<ReturnType<typeof seedWebClient>>;
  let before: { accounts: number; identities: number };
  const logs = captureLogs();
  const callbackPrefix = () => `${app.issuer}/federation/google/callback`;

  beforeAll(async () => {
    google = await startFakeOidcUpstream();
    // A second upstream whose issuer nobody listens on.
    const deadPort = await freePort();
    app = await startTestApp({
      ...google.env('google'),
      UPSTREAM_CORP_KIND: 'oidc',
      UPSTREAM_CORP_DISPLAY_NAME: 'Corp SSO',
      UPSTREAM_CORP_ISSUER: `http://127.0.0.1:${deadPort}`,
      UPSTREAM_CORP_CLIENT_ID: 'corp',
      UPSTREAM_CORP_CLIENT_SECRET: 'corp-secret',
      // Short, so the stuck-upstream case below ends soon; the fake answers everything else at once.
      UPSTREAM_TIMEOUT_MS: '1500',
    }, { logger: logs.logger });
    rp = await seedWebClient(app);
  });
  afterAll(async () => {
    await app?.close();
    await google?.close();
  });
  beforeEach(async () => {
    google.faults = {};
    google.person = { sub: 'g-fail', email: 'fail@gmail.test', email_verified: true, name: 'Fail' };
    before = await counts(app);
  });

  const lastFailure = () => logs.lines.filter((line) => line.event === 'federation.failed').at(-1);

  async function expectFailurePage(step: Parameters<typeof asPage>[0], status: number, code: string, text: string) {
    const page = asPage(step);
    expect(page.status).toBe(status);
    expect(page.html).toContain(text);
    expect(page.html).toContain(`federation.${code}`);
    expect(lastFailure()).toMatchObject({ event: 'federation.failed', reason: code });
    expect(await counts(app)).toEqual(before);
    return page;
  }

  it.each([
    ['wrong_signature', 'signed with a key the JWKS does not hold'],
    ['wrong_aud', 'issued for another client'],
    ['wrong_nonce', 'carrying another nonce'],
    ['wrong_iss', 'from another issuer'],
    ['expired', 'already expired'],
  ] as const)('rejects an ID token %s (%s)', async (fault, _why) => {
    google.faults.idToken = fault;
    const { step } = await pressUpstreamButton(app, rp.config, new Browser(), 'google');
    const page = await expectFailurePage(step, 400, 'invalid_response', 'could not be verified');
    expect(page.html).toContain('Back to sign-in');
  });

  it('an upstream error other than access_denied names the error', async () => {
    google.faults.authorizeError = 'temporarily_unavailable';
    const { step } = await pressUpstreamButton(app, rp.config, new Browser(), 'google');
    await expectFailurePage(step, 400, 'upstream_error', 'temporarily_unavailable');
    expect(lastFailure()).toMatchObject({ upstream: 'google', upstreamError: 'temporarily_unavailable' });
  });

  it('rejects a tampered state and lets the person start again from the login page', async () => {
    const browser = new Browser();
    const { step, loginUrl } = await pressUpstreamButton(app, rp.config, browser, 'google', { stopAt: callbackPrefix() });
    if (!('url' in step)) throw new Error('expected the upstream redirect');
    const callback = new URL(step.url);
    const state = callback.searchParams.get('state')!;
    callback.searchParams.set('state', `${state.slice(0, -4)}AAAA`);
    const page = await expectFailurePage(await browser.follow(callback, 'http://127.0.0.1:9/'), 400, 'state_invalid', 'no longer valid');
    const back = /href="(\/interaction\/[^"]+)"/.exec(page.html)![1]!;
    expect(new URL(back, app.issuer).href).toBe(loginUrl);

    // The real state was consumed by nothing: the untampered callback still works once.
    callback.searchParams.set('state', state);
    const finished = await allowIfAsked(app, browser, await browser.follow(callback, 'http://127.0.0.1:9/'));
    expect('url' in finished).toBe(true);
  });

  it('rejects a state that is not ours at all', async () => {
    const response = await new Browser().request(`${callbackPrefix()}?code=abc&state=forged`);
    expect(response.status).toBe(400);
    expect(await response.text()).toContain('federation.state_invalid');
    expect(await counts(app)).toEqual(before);
  });

  it('uses a callback once: a replay, even a concurrent one, is rejected', async () => {
    const browser = new Browser();
    const { request, step } = await pressUpstreamButton(app, rp.config, browser, 'google', { stopAt: callbackPrefix() });
    if (!('url' in step)) throw new Error('expected the upstream redirect');
    // Both requests carry the same cookies and the same code and state.
    const relay = await browser.request(step.url);
    const target = new URL(relay.headers.get('location')!, app.issuer);
    const [first, second] = await Promise.all([browser.request(target), browser.request(target)]);
    const statuses = [first.status, second.status].sort();
    expect(statuses).toEqual([303, 400]);
    const winner = first.status === 303 ? first : second;
    const loser = first.status === 303 ? second : first;
    expect(await loser.text()).toContain('federation.state_invalid');
    const done = await allowIfAsked(app, browser, await browser.follow(new URL(winner.headers.get('location')!, app.issuer), 'http://127.0.0.1:9/callback'));
    const tokens = await redeem(rp.config, done, request);
    expect(tokens.claims()!.sub).toBeTruthy();

    // Replayed after the sign-in finished: the interaction is over.
    const replay = await browser.request(target);
    expect(replay.status).toBe(400);
  });

  it('a callback in a browser that did not start the sign-in goes nowhere', async () => {
    const { step } = await pressUpstreamButton(app, rp.config, new Browser(), 'google', { stopAt: callbackPrefix() });
    if (!('url' in step)) throw new Error('expected the upstream redirect');
    const stranger = new Browser();
    const page = await stranger.navigate(step.url);
    expect(page.status).toBe(400);
    expect(page.html).toContain('This sign-in has expired');
    expect(await counts(app)).toEqual(before);
  });

  it('an unreachable upstream (discovery) shows a page, not an error', async () => {
    const { step } = await pressUpstreamButton(app, rp.config, new Browser(), 'corp');
    const page = await expectFailurePage(step, 502, 'unreachable', 'Corp SSO cannot be reached right now');
    expect(page.html).toContain('Back to sign-in');
    expect(lastFailure()).toMatchObject({ upstream: 'corp' });
  });

  it('an upstream that drops the token request shows the unreachable page', async () => {
    google.faults.dropTokenRequests = true;
    const { step } = await pressUpstreamButton(app, rp.config, new Browser(), 'google');
    await expectFailurePage(step, 502, 'unreachable', 'Google cannot be reached right now');
  });

  it('an upstream that takes the token request and never answers is "cannot be reached", not a failed check', async () => {
    google.faults.hangTokenRequests = true;
    const { step } = await pressUpstreamButton(app, rp.config, new Browser(), 'google');
    await expectFailurePage(step, 502, 'unreachable', 'Google cannot be reached right now');
  });

  it('an unknown upstream id is a 404 page', async () => {
    const response = await new Browser().request(`${app.issuer}/federation/nope/callback?state=x.y&code=z`);
    expect(response.status).toBe(404);
  });

  it('never logs codes, tokens, state or the client secret', () => {
    const text = logs.lines.map((line) => JSON.stringify(line)).join('\n');
    expect(logs.lines.some((line) => line.event === 'federation.signed_in')).toBe(true);
    for (const secret of [google.clientSecret, ...google.issued]) expect(text).not.toContain(secret);
    for (const params of google.authorizeRequests) {
      expect(text).not.toContain(params.get('state')!.split('.')[1]);
      expect(text).not.toContain(params.get('nonce')!);
    }
  });
});
