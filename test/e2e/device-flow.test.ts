import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { Browser, readForm } from '../helpers/browser.ts';
import { PASSWORD } from '../helpers/oidc.ts';
import { testClock, type TestClock } from '../helpers/clock.ts';

/*
 * RFC 8628 end to end over HTTP: a device asks for a code and polls; a person enters the code in
 * a browser without JavaScript, confirms it, signs in, consents, and the device gets its tokens.
 */

const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const EMAIL = 'ada@example.com';
const TV_USER_AGENT = 'LivingRoomTV/3.1 (SmartOS 12)';

interface DeviceAuthorization {
  device_code: string;
  user_code: string;
  verification_uri: string;
  verification_uri_complete: string;
  expires_in: number;
  interval: number;
}

async function seed(app: TestApp): Promise<void> {
  await app.deps.clients.create({
    id: 'tv-app',
    name: 'Living Room TV',
    public: true,
    grantTypes: [DEVICE_GRANT, 'refresh_token'],
    scope: 'openid profile email offline_access',
  });
  await app.deps.accounts.create({ email: EMAIL, password: PASSWORD, name: 'Ada Lovelace', emailVerified: true });
}

async function post(app: TestApp, path: string, form: Record<string, string>, headers: Record<string, string> = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${app.issuer}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', ...headers },
    body: new URLSearchParams(form),
  });
  return { status: response.status, body: await response.json() as Record<string, unknown> };
}

async function startDevice(app: TestApp, scope = 'openid profile email offline_access'): Promise<DeviceAuthorization> {
  const { status, body } = await post(app, '/device/auth', { client_id: 'tv-app', scope }, { 'user-agent': TV_USER_AGENT });
  expect(status).toBe(200);
  return body as unknown as DeviceAuthorization;
}

const poll = (app: TestApp, deviceCode: string) => post(app, '/token', { grant_type: DEVICE_GRANT, device_code: deviceCode, client_id: 'tv-app' });

/** Opens the code page and submits `code` as typed; returns the page that answers. */
async function enterCode(app: TestApp, browser: Browser, code: string): Promise<{ status: number; html: string; retryAfter: string | null }> {
  const page = await browser.navigate(`${app.issuer}/device`);
  expect(page.status).toBe(200);
  const form = readForm(page.html, '/device');
  const response = await browser.request(new URL(form.action, app.issuer), { form: { ...form.fields, user_code: code } });
  return { status: response.status, html: await response.text(), retryAfter: response.headers.get('retry-after') };
}

const alert = (html: string) => /role="alert"[^>]*>([^<]+)</.exec(html)?.[1] ?? null;
const unescape = (text: string) => text.replace(/&#39;/g, '\'').replace(/&#34;/g, '"').replace(/&amp;/g, '&');

/** From the confirm page: approves (or denies) and follows the sign-in to the page it ends on. */
async function answerConfirm(app: TestApp, browser: Browser, confirmHtml: string, answer: 'confirm' | 'abort'): Promise<{ status: number; html: string; url: string; seen: string[] }> {
  const seen: string[] = [];
  const form = readForm(confirmHtml, '/device');
  let step = await browser.follow(new URL(form.action, app.issuer), 'about:never', { form: { ...form.fields, [answer]: 'yes' } });
  for (let pages = 0; pages < 4 && 'page' in step; pages++) {
    if (step.html.includes('/login"')) {
      seen.push('login');
      const login = readForm(step.html, '/login');
      step = await browser.follow(new URL(login.action, app.issuer), 'about:never', { form: { ...login.fields, email: EMAIL, password: PASSWORD } });
    } else if (step.html.includes('/confirm"')) {
      seen.push('consent');
      const consent = readForm(step.html, '/confirm');
      step = await browser.follow(new URL(consent.action, app.issuer), 'about:never', { form: consent.fields });
    } else {
      break;
    }
  }
  if (!('page' in step)) throw new Error(`left for ${step.url}`);
  return { status: step.page.status, html: step.html, url: step.pageUrl, seen };
}

describe('device authorization grant (RFC 8628) through the hosted pages', () => {
  let app: TestApp;
  let clock: TestClock;
  let device: DeviceAuthorization;
  const browser = new Browser();
  let confirmHtml = '';

  beforeAll(async () => {
    clock = testClock();
    app = await startTestApp({}, { clock });
    await seed(app);
  });
  afterAll(async () => app?.close());

  it('answers POST /device/auth with a device code, a user code, where to enter it, its lifetime and the interval', async () => {
    device = await startDevice(app);
    expect(device.device_code).toMatch(/^[\w-]{20,}$/);
    expect(device.user_code).toMatch(/^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/);
    expect(device.verification_uri).toBe(`${app.issuer}/device`);
    expect(device.verification_uri_complete).toBe(`${app.issuer}/device?user_code=${device.user_code}`);
    expect(device.expires_in).toBe(600);
    expect(device.interval).toBe(5);
  });

  it('answers a poll before approval with authorization_pending', async () => {
    expect(await poll(app, device.device_code)).toMatchObject({ status: 400, body: { error: 'authorization_pending' } });
  });

  it('answers a poll sooner than the interval with slow_down, and the interval grows by 5 seconds', async () => {
    expect(await poll(app, device.device_code)).toMatchObject({ status: 400, body: { error: 'slow_down' } });
    // The interval is now 10 s from that poll: at 9 s still too soon, which makes it 15 s; 15 s later, pending again.
    clock.advance(9_000);
    expect((await poll(app, device.device_code)).body.error).toBe('slow_down');
    clock.advance(15_000);
    expect((await poll(app, device.device_code)).body.error).toBe('authorization_pending');
  });

  it('shows the code prefilled when the verification_uri_complete is opened, in a form that needs no script', async () => {
    const page = await new Browser().navigate(device.verification_uri_complete);
    expect(page.status).toBe(200);
    expect(page.html).toContain(`value="${device.user_code}"`);
    expect(page.html).not.toContain('<script');
    const form = readForm(page.html, '/device');
    expect(form.fields.xsrf).toBeTruthy();
    expect(page.html).toMatch(/<label for="user-code">/);
    expect(page.html).toMatch(/<input id="user-code" name="user_code"[^>]*autocomplete="one-time-code"[^>]*autocapitalize="characters"[^>]*spellcheck="false"/);
  });

  it('takes the code in lower case with a space for the dash, and the confirm page names the client, the code and the device', async () => {
    const typed = device.user_code.toLowerCase().replace('-', ' ');
    const page = await enterCode(app, browser, typed);
    expect(page.status).toBe(200);
    confirmHtml = page.html;
    expect(page.html).toContain('Connect Living Room TV?');
    expect(page.html).toContain(`<code class="secret" id="device-user-code">${device.user_code}</code>`);
    // The scopes in the consent page's words, and where the request came from.
    expect(unescape(page.html)).toContain('See your email address and whether it is verified');
    expect(page.html).toMatch(/Requested from [^<]*127\.0\.0\.1[^<]*\(LivingRoomTV 3\)/);
    expect(page.html).toContain('name="confirm" value="yes"');
    expect(page.html).toContain('name="abort" value="yes"');
    expect(readForm(page.html, '/device').fields.xsrf).toBeTruthy();
  });

  it('refuses the confirm form without oidc-provider\'s xsrf token', async () => {
    const form = readForm(confirmHtml, '/device');
    const { xsrf: _, ...rest } = form.fields;
    const response = await browser.request(new URL(form.action, app.issuer), { form: { ...rest, confirm: 'yes' } });
    expect(response.status).toBe(400);
    expect(alert(await response.text())).toBe('This page was open for too long. Enter the code again.');
  });

  it('approves, signs in, consents and ends on the done page', async () => {
    // The xsrf failure above rotated the token: the confirm page is asked for again.
    confirmHtml = (await enterCode(app, browser, device.user_code)).html;
    const done = await answerConfirm(app, browser, confirmHtml, 'confirm');
    expect(done.seen).toEqual(['login', 'consent']);
    expect(done.status).toBe(200);
    expect(new URL(done.url).pathname).toMatch(/^\/device\/[\w-]+$/);
    expect(done.html).toContain('Your device is connected');
    expect(done.html).toContain('Living Room TV is now signed in');
  });

  it('refuses a code that was already approved', async () => {
    const page = await enterCode(app, browser, device.user_code);
    expect(page.status).toBe(400);
    expect(alert(page.html)).toBe('That code has already been used. Start again on your device to get a new code.');
  });

  it('gives the device an access token, a signed ID token for it, and a refresh token on its next poll', async () => {
    const { status, body } = await poll(app, device.device_code);
    expect(status).toBe(200);
    expect(body).toMatchObject({ token_type: expect.stringMatching(/^bearer$/i), access_token: expect.any(String), id_token: expect.any(String), refresh_token: expect.any(String) });
    const jwks = createRemoteJWKSet(new URL(`${app.issuer}/jwks`));
    const { payload } = await jwtVerify(body.id_token as string, jwks, { issuer: app.issuer, audience: 'tv-app' });
    expect(payload.sub).toBe((await app.deps.accounts.findByEmail(EMAIL))!.id);
    expect(String(body.scope).split(' ')).toEqual(expect.arrayContaining(['openid', 'email', 'offline_access']));
    // The code is spent: polling again is refused.
    expect((await poll(app, device.device_code)).body.error).toBe('invalid_grant');
  });

  it('answers access_denied to the device when the person denies at the confirm page', async () => {
    const second = await startDevice(app);
    const own = new Browser();
    const page = await enterCode(app, own, second.user_code);
    const done = await answerConfirm(app, own, page.html, 'abort');
    expect(done.seen).toEqual([]); // no sign-in
    expect(done.status).toBe(200);
    expect(done.html).toContain('Request cancelled');
    expect(await poll(app, second.device_code)).toMatchObject({ status: 400, body: { error: 'access_denied' } });
  });

  it('answers access_denied when the person cancels at the sign-in instead', async () => {
    const third = await startDevice(app, 'openid');
    const own = new Browser();
    const confirm = await enterCode(app, own, third.user_code);
    const form = readForm(confirm.html, '/device');
    const login = await own.follow(new URL(form.action, app.issuer), 'about:never', { form: { ...form.fields, confirm: 'yes' } });
    if (!('page' in login)) throw new Error('expected the login page');
    const cancel = readForm(login.html, '/abort');
    const done = await own.follow(new URL(cancel.action, app.issuer), 'about:never', { form: cancel.fields });
    if (!('page' in done)) throw new Error('expected the done page');
    expect(done.html).toContain('Request cancelled');
    expect((await poll(app, third.device_code)).body.error).toBe('access_denied');
  });
});

describe('device codes that are wrong, expired, guessed or malformed', () => {
  let app: TestApp;
  let clock: TestClock;

  beforeAll(async () => {
    clock = testClock();
    app = await startTestApp({ TTL_DEVICE_CODE: '1', LIMIT_DEVICE_CODE_FAILURES_PER_IP: '3/15m' }, { clock });
    await seed(app);
  });
  afterAll(async () => app?.close());

  it('refuses an expired code on the page and to the polling device', async () => {
    const device = await startDevice(app);
    expect(device.expires_in).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    const page = await enterCode(app, new Browser(), device.user_code);
    expect(page.status).toBe(400);
    // The record outlives the code (src/oidc/device-code-records.ts), so both say "expired", not "not found".
    expect(alert(page.html)).toBe('That code has expired. Start again on your device to get a new code.');
    expect((await poll(app, device.device_code)).body.error).toBe('expired_token');
    clock.advance(15 * 60_000); // that attempt counted as a wrong code; the next tests start afresh
  });

  it('shows a wrong code as an error linked to the input, keeping what was typed', async () => {
    const page = await enterCode(app, new Browser(), 'bcdf-ghjk');
    expect(page.status).toBe(400);
    expect(alert(page.html)).toBe('That code is not right, or it has expired. Check the code on your device and try again.');
    expect(page.html).toMatch(/<p class="alert" role="alert" id="device-problem">/);
    expect(page.html).toMatch(/<input id="user-code"[^>]*value="bcdf-ghjk"[^>]*aria-describedby="device-problem user-code-hint"[^>]*aria-invalid="true"/);
  });

  it('after the limit answers 429 without looking the code up, even for a right one, until the window ends', async () => {
    const browser = new Browser();
    for (const code of ['BCDF-GHJL', 'BCDF-GHJM']) expect((await enterCode(app, browser, code)).status).toBe(400);
    // Past the limit even a right code gets no further: nothing is looked up.
    const limited = await enterCode(app, browser, (await startDevice(app)).user_code);
    expect(limited.status).toBe(429);
    expect(Number(limited.retryAfter)).toBeGreaterThan(800);
    expect(limited.html).toContain('Too many attempts');
    expect(limited.html).toMatch(/wait \d+ minutes and try again/);
    clock.advance(15 * 60_000);
    expect((await enterCode(app, browser, 'BCDF-GHJN')).status).toBe(400);
  });

  it('answers a NUL byte, a lone surrogate and a 10 KB code with a 4xx page, never a 5xx', async () => {
    clock.advance(15 * 60_000);
    const browser = new Browser();
    const page = await browser.navigate(`${app.issuer}/device`);
    const form = readForm(page.html, '/device');
    const action = new URL(form.action, app.issuer);
    const raw = (body: string) => fetch(action, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' }, body });
    const xsrf = `xsrf=${encodeURIComponent(form.fields.xsrf!)}`;
    for (const bad of ['BCDF%00GHJK', 'BCDF%ED%A0%80GHJK']) {
      const response = await raw(`${xsrf}&user_code=${bad}`);
      expect(response.status, bad).toBe(400);
      expect(await response.text()).toContain('request.invalid_characters');
      const query = await fetch(`${app.issuer}/device?user_code=${bad}`, { headers: { accept: 'text/html' } });
      expect(query.status, `query ${bad}`).toBe(400);
    }
    const long = await browser.request(action, { form: { ...form.fields, user_code: 'B'.repeat(10_240) } });
    expect(long.status).toBe(400);
    const html = await long.text();
    expect(html).not.toContain('B'.repeat(100));
    const longQuery = await new Browser().navigate(`${app.issuer}/device?user_code=${'B'.repeat(10_240)}`);
    expect(longQuery.status).toBe(400);
    expect(longQuery.html).not.toContain('B'.repeat(100));
  });
});
