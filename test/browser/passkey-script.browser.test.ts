import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, warnIfChromiumMissing } from '../helpers/chromium.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { createWebAuthn, type WebAuthn } from '../../src/mfa/webauthn.ts';
import { createSqlAttemptStore } from '../../src/federation/attempt-store.ts';
import { insertAccount } from '../../src/accounts/repository.ts';
import { systemClock } from '../../src/clock.ts';
import { viewsDir } from '../../src/pages/render.ts';
import { webauthnBrowserBundlePath } from '../../src/mfa/browser-bundle.ts';

/*
 * views/passkey.js in a real browser: Chromium with a virtual authenticator (DevTools protocol,
 * WebAuthn domain), against the real WebAuthn service. The pages that use the script are not
 * needed: a page of our own follows the script's contract (the data-passkey attributes), under
 * the app's script policy, and tiny JSON endpoints stand for the interaction and account routes.
 * This proves what the software authenticator of test/mfa/webauthn.test.ts cannot: that a
 * browser's own WebAuthn answers are accepted, and that the script drives the forms as promised.
 */

const chromiumMissing = warnIfChromiumMissing('passkey-script.browser.test.ts');
const CSRF = 'csrf-token-for-the-harness';

/** The test page; with `autofill`, a login form whose email field offers passkeys (conditional mediation). */
const page = (autofill: boolean) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Passkeys</title>
<script src="/assets/webauthn-browser.js" defer></script>
<script src="/assets/passkey.js" defer></script>
</head><body>
<p id="supported" data-passkey-supported hidden>Passkeys work here.</p>
<form id="register" method="post" action="/no-script" data-passkey="register" data-passkey-options="/register/options" data-passkey-verify="/register/verify" data-passkey-cancelled="No passkey was added.">
  <input type="hidden" name="csrf" value="${CSRF}">
  <label>Name <input name="name"></label>
  <p data-passkey-error role="alert" hidden></p>
  <button type="submit">Add a passkey</button>
</form>
<form id="signin" method="post" action="/no-script" data-passkey="authenticate" data-passkey-options="/signin/options" data-passkey-verify="/signin/verify" data-passkey-cancelled="Signing in with a passkey did not work.">
  <input type="hidden" name="csrf" value="${CSRF}">
  <p data-passkey-error role="alert" hidden></p>
  <button type="submit">Sign in with a passkey</button>
</form>
${autofill ? `<form id="login" method="post" action="/no-script">
  <input type="hidden" name="csrf" value="${CSRF}">
  <label>Email <input name="email" autocomplete="username webauthn" data-passkey-autofill data-passkey-options="/signin/options" data-passkey-verify="/signin/verify"></label>
</form>` : ''}
</body></html>`;

interface Seen {
  path: string;
  contentType: string | undefined;
  body: Record<string, unknown>;
}

describe.skipIf(chromiumMissing)('the passkey script in a real browser (Chromium, virtual authenticator)', () => {
  let test: TestDatabase;
  let webauthn: WebAuthn;
  let accountId: string;
  let server: ReturnType<typeof createServer>;
  let origin: string;
  let browser: Browser;
  const seen: Seen[] = [];

  async function readJson(request: IncomingMessage): Promise<Record<string, unknown>> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    try {
      return JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
    } catch {
      return {};
    }
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const send = (status: number, type: string, body: string) => {
      // The app's policy (src/http/security-headers.ts) plus connect-src 'self': under default-src
      // 'none' alone, the script's fetches are blocked (the app's policy needs that directive too).
      response.writeHead(status, { 'content-type': type, 'content-security-policy': "default-src 'none'; script-src 'self'; connect-src 'self'" });
      response.end(body);
    };
    const json = (status: number, body: unknown) => send(status, 'application/json', JSON.stringify(body));
    const url = new URL(request.url ?? '/', origin);
    const path = url.pathname;
    if (request.method === 'GET') {
      if (path === '/') return send(200, 'text/html; charset=utf-8', page(url.searchParams.get('autofill') !== 'no'));
      if (path === '/assets/passkey.js') return send(200, 'text/javascript', readFileSync(`${viewsDir}passkey.js`, 'utf8'));
      if (path === '/assets/webauthn-browser.js') return send(200, 'text/javascript', readFileSync(webauthnBrowserBundlePath(), 'utf8'));
      if (path === '/done') return send(200, 'text/html; charset=utf-8', '<!doctype html><title>Done</title><p>Done.</p>');
      return send(404, 'text/plain', 'not found');
    }
    const body = await readJson(request);
    seen.push({ path, contentType: request.headers['content-type'], body });
    if (body.csrf !== CSRF) return json(403, { error: 'The form was stale.' });
    const account = { id: accountId, email: 'ada@example.com', name: 'Ada' };
    if (path === '/register/options') return json(200, await webauthn.registrationOptions('harness:register', account));
    if (path === '/register/verify') {
      const result = await webauthn.verifyRegistration('harness:register', accountId, body.response, String(body.name ?? ''));
      return result.ok ? json(200, { location: `/done?factor=${result.factorId}` }) : json(400, { error: `Refused: ${result.reason}.` });
    }
    if (path === '/signin/options') return json(200, await webauthn.authenticationOptions('harness:signin'));
    if (path === '/signin/verify') {
      const result = await webauthn.verifyAuthentication('harness:signin', body.response);
      return result.ok ? json(200, { location: `/done?account=${result.accountId}&amr=${result.amr.join('+')}` }) : json(400, { error: `Refused: ${result.reason}.` });
    }
    return send(404, 'text/plain', 'not found');
  }

  beforeAll(async () => {
    test = await createTestDatabase();
    accountId = (await insertAccount(test.db, { email: 'ada@example.com', emailVerified: true, passwordHash: null })).id;
    server = createServer((request, response) => {
      handle(request, response).catch((error: unknown) => {
        response.writeHead(500).end(String(error));
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    // localhost, not 127.0.0.1: an RP id must be a domain, and browsers refuse IP addresses.
    origin = `http://localhost:${(server.address() as AddressInfo).port}`;
    webauthn = createWebAuthn({ db: test.db, issuer: origin, brandName: 'Acme ID', clock: systemClock, challenges: createSqlAttemptStore(test.db) });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    server?.close();
    await test?.drop();
  });

  /** A tab with a virtual platform authenticator (resident keys, user verification, presence always given). */
  async function tabWithAuthenticator(): Promise<{ tab: Page; problems: string[] }> {
    const context = await browser.newContext();
    context.setDefaultTimeout(15_000);
    const tab = await context.newPage();
    const problems: string[] = [];
    tab.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`));
    tab.on('console', (message) => {
      if (message.type() === 'error') problems.push(`console: ${message.text()}`);
    });
    const cdp = await context.newCDPSession(tab);
    await cdp.send('WebAuthn.enable');
    await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
    });
    return { tab, problems };
  }

  it('adds a passkey from a form, signs in through autofill and through a form, and shows refusals', async () => {
    const { tab, problems } = await tabWithAuthenticator();
    await tab.goto(`${origin}/`);
    await expect.poll(() => tab.locator('#supported').isVisible()).toBe(true);
    // Conditional mediation (autofill) starts on its own, with options of its own, and waits:
    // the authenticator holds no passkey yet.
    await expect.poll(() => seen.filter((request) => request.path === '/signin/options').length).toBe(1);

    // Adding a passkey cancels the pending autofill ceremony first (WebAuthnAbortService).
    await tab.locator('#register [name=name]').fill('  Harness key ');
    await tab.locator('#register button').click();
    await tab.waitForURL(/\/done\?factor=/);
    const factorId = new URL(tab.url()).searchParams.get('factor')!;
    const { rows } = await test.db.query<{ name: string; kind: string }>('SELECT name, kind FROM mfa_factors WHERE id = $1', [factorId]);
    expect(rows[0]).toEqual({ name: 'Harness key', kind: 'webauthn' });
    const verify = seen.find((request) => request.path === '/register/verify')!;
    expect(verify.contentType).toBe('application/json');
    expect(verify.body).toMatchObject({ csrf: CSRF, name: '  Harness key ', response: { type: 'public-key' } });

    // Now the page's autofill finds the passkey: the virtual authenticator picks it at once, as a
    // person would in the autofill list, and the script signs in with it.
    await tab.goto(`${origin}/`);
    await tab.waitForURL(/\/done\?account=/);
    expect(new URL(tab.url()).searchParams.get('account')).toBe(accountId);

    // Without autofill on the page, from here on. The same authenticator again: excluded, so
    // the browser refuses, and the form shows its own words and can be used again.
    await tab.goto(`${origin}/?autofill=no`);
    await tab.locator('#register button').click();
    const registerError = tab.locator('#register [data-passkey-error]');
    await expect.poll(() => registerError.isVisible()).toBe(true);
    expect(await registerError.textContent()).toBe('No passkey was added.');
    expect(await tab.locator('#register button').isEnabled()).toBe(true);

    // Passwordless from the form: the discoverable passkey names the account, verified by its PIN.
    await tab.locator('#signin button').click();
    await tab.waitForURL(/\/done\?account=/);
    const done = new URL(tab.url()).searchParams;
    expect(done.get('account')).toBe(accountId);
    expect(done.get('amr')).toMatch(/^(hwk|swk) user mfa$/);

    // The passkey removed on the server: the browser still offers it, the server refuses, the form shows why.
    await test.db.query('DELETE FROM mfa_factors WHERE id = $1', [factorId]);
    await tab.goto(`${origin}/?autofill=no`);
    await tab.locator('#signin button').click();
    const signInError = tab.locator('#signin [data-passkey-error]');
    await expect.poll(() => signInError.isVisible()).toBe(true);
    expect(await signInError.textContent()).toBe('Refused: unknown_credential.');
    expect(await tab.locator('#signin button').isEnabled()).toBe(true);

    expect(seen.filter((request) => request.path.endsWith('/options')).every((request) => request.contentType === 'application/json' && request.body.csrf === CSRF)).toBe(true);
    expect(seen.some((request) => request.path === '/no-script')).toBe(false);
    // Chromium logs 4xx answers as failed resources; those are the refusals this test asked for.
    expect(problems.filter((problem) => !/status of 400/.test(problem))).toEqual([]);
    await tab.context().close();
  });
});
