import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PublicKeyCredentialCreationOptionsJSON } from '@simplewebauthn/server';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { testClock } from '../helpers/clock.ts';
import { Browser } from '../helpers/browser.ts';
import { createSoftAuthenticator, type SoftAuthenticator } from '../helpers/soft-authenticator.ts';
import { auditEvents, csrfOf, mainOf, openConsole, postJson, recoveryCodesOf, seedPerson, url } from './console.ts';

/*
 * Passkeys in the account console: the register form for views/passkey.js, its two JSON
 * endpoints driven here by a software authenticator (what the script does in a browser), the
 * form's plain submit without JavaScript, several named passkeys, renaming and removing.
 */

describe('passkeys in the account console', () => {
  const clock = testClock(Date.UTC(2026, 5, 5, 9, 0, 0));
  let app: TestApp;
  let accountId: string;
  let laptop: SoftAuthenticator;
  let yubikey: SoftAuthenticator;
  let codes: string[] = [];
  const email = 'ada@example.com';
  // Once the account has a passkey, signing in asks for a second factor: here, a recovery code.
  const person = { email, recovery: () => codes.shift()! };

  beforeAll(async () => {
    app = await startTestApp({}, { clock });
    accountId = (await seedPerson(app, email)).id;
    const issuer = new URL(app.issuer);
    // Two devices: one authenticator holds one passkey per site, as real ones do.
    laptop = createSoftAuthenticator({ origin: issuer.origin, rpId: issuer.hostname });
    yubikey = createSoftAuthenticator({ origin: issuer.origin, rpId: issuer.hostname });
  });
  afterAll(async () => app?.close());

  /** One ceremony through the JSON endpoints, as the script runs it. */
  async function register(browser: Browser, authenticator: SoftAuthenticator, csrf: string, name: string, knobs: Parameters<SoftAuthenticator['register']>[1] = {}) {
    const options = await postJson(browser, url(app, '/account/security/passkeys/options'), { csrf });
    expect(options.status).toBe(200);
    const response = authenticator.register(options.body as unknown as PublicKeyCredentialCreationOptionsJSON, knobs);
    return { options: options.body, response, result: await postJson(browser, url(app, '/account/security/passkeys'), { csrf, name, response }) };
  }

  it('renders the register form for the script, and says passkeys need JavaScript when it is submitted plainly', async () => {
    const { browser } = await openConsole(app, { email });
    const page = await browser.navigate(url(app, '/account/security/passkeys/new'));
    expect(page.status).toBe(200);
    expect(page.html).toMatch(/<form method="post" action="\/account\/security\/passkeys\/new" data-passkey="register" data-passkey-options="\/account\/security\/passkeys\/options" data-passkey-verify="\/account\/security\/passkeys" data-passkey-cancelled="[^"]+"/);
    expect(page.html).toContain('<p class="alert" role="alert" data-passkey-error hidden></p>');
    expect(page.html).toMatch(/<label for="passkey-name">[^<]+<\/label>\s*<input id="passkey-name" name="name"/);
    expect(page.html).toContain('<script src="/assets/passkey.js" defer></script>');
    const plain = await browser.navigate(url(app, '/account/security/passkeys/new'), { csrf: csrfOf(page.html), name: 'Laptop' });
    expect(plain.status).toBe(200);
    expect(plain.html).toContain('Passkeys need JavaScript');
  });

  it('registers named passkeys through the JSON endpoints; the first brings recovery codes', async () => {
    const { browser, page } = await openConsole(app, { email });
    const csrf = csrfOf(page.html);
    const first = await register(browser, laptop, csrf, 'Laptop', { backupEligible: true });
    expect(first.options).toMatchObject({ rp: { id: new URL(app.issuer).hostname }, user: { name: email } });
    expect(first.result).toEqual({ status: 200, body: { location: '/account/security/recovery-codes' } });
    codes = recoveryCodesOf((await browser.navigate(url(app, '/account/security/recovery-codes'))).html);
    expect(codes).toHaveLength(10);
    // The same answer again: its ceremony is used up.
    const replay = await postJson(browser, url(app, '/account/security/passkeys'), { csrf, name: 'Laptop', response: first.response });
    expect(replay.status).toBe(400);
    expect(replay.body.error).toEqual(expect.any(String));

    const second = await register(browser, yubikey, csrf, 'YubiKey', { backupEligible: false });
    expect(second.result.body).toEqual({ location: '/account/security?done=passkey_added' });
    const security = await browser.navigate(url(app, '/account/security?done=passkey_added'));
    expect(security.html).toMatch(/Laptop<\/span>[\s\S]*Synced: backed up to your other devices/);
    expect(security.html).toMatch(/YubiKey<\/span>[\s\S]*On one device only: not backed up/);
    expect(security.html).toContain('not used yet');
    const enrolled = await auditEvents(app, accountId, 'mfa.enrolled');
    expect(enrolled.map((event) => event.details)).toEqual([
      { kind: 'webauthn', factorId: expect.any(String), name: 'Laptop' },
      { kind: 'webauthn', factorId: expect.any(String), name: 'YubiKey' },
    ]);
  });

  it('refuses the JSON endpoints without a session, without the session\'s token, and with a stale sign-in', async () => {
    const stranger = await postJson(new Browser(), url(app, '/account/security/passkeys/options'), { csrf: 'x' });
    expect(stranger.status).toBe(401);
    expect(stranger.body.error).toEqual(expect.stringContaining('sign in again'));
    const { browser, page } = await openConsole(app, person);
    expect(page.sawSecondFactor).toBe(true);
    expect(page.url, mainOf(page.html)).toBe(url(app, '/account/security'));
    for (const body of [{}, { csrf: 'wrong' }]) {
      const refused = await postJson(browser, url(app, '/account/security/passkeys/options'), body);
      expect(refused.status).toBe(403);
      expect(refused.body.error).toEqual(expect.any(String));
    }
    // Not JSON at all: the same shape, in words, for the script to show.
    const endpoint = new URL(url(app, '/account/security/passkeys/options'));
    const garbled = await fetch(endpoint, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json', cookie: browser['cookieHeader'](endpoint) }, body: '{"csrf":' });
    expect(garbled.status).toBe(400);
    expect(await garbled.json()).toEqual({ error: expect.stringMatching(/ /) });
    clock.advance(301_000);
    const stale = await postJson(browser, url(app, '/account/security/passkeys/options'), { csrf: csrfOf(page.html) });
    expect(stale.status).toBe(401);
    expect(stale.body.error).toEqual(expect.stringContaining('sign in again'));
  });

  it('renames a passkey, and removes one', async () => {
    const { browser, page } = await openConsole(app, person);
    const [laptop, key] = (await app.deps.mfa.listFactors(accountId)).filter((factor) => factor.kind === 'webauthn');
    const form = await browser.navigate(url(app, `/account/security/passkeys/${laptop!.id}/name`));
    expect(form.html).toContain('value="Laptop"');
    const empty = await browser.navigate(url(app, `/account/security/passkeys/${laptop!.id}/name`), { csrf: csrfOf(page.html), name: '   ' });
    expect(empty.status).toBe(400);
    expect(empty.html).toContain('role="alert"');
    const tooLong = await browser.navigate(url(app, `/account/security/passkeys/${laptop!.id}/name`), { csrf: csrfOf(page.html), name: 'x'.repeat(65) });
    expect(tooLong.status).toBe(400);
    const renamed = await browser.navigate(url(app, `/account/security/passkeys/${laptop!.id}/name`), { csrf: csrfOf(page.html), name: 'Work laptop' });
    expect(renamed.url).toBe(url(app, '/account/security?done=renamed'));
    expect(renamed.html).toContain('Work laptop');
    expect((await auditEvents(app, accountId, 'mfa.renamed')).at(-1)?.details).toEqual({ kind: 'webauthn', factorId: laptop!.id, from: 'Laptop', name: 'Work laptop' });

    const confirm = await browser.navigate(url(app, `/account/security/factors/${key!.id}/remove`));
    const removed = await browser.navigate(url(app, `/account/security/factors/${key!.id}/remove`), { csrf: csrfOf(confirm.html) });
    expect(removed.url).toBe(url(app, '/account/security?done=removed'));
    expect(removed.html).not.toContain('YubiKey');
    expect((await auditEvents(app, accountId, 'mfa.removed')).at(-1)?.details).toEqual({ kind: 'webauthn', factorId: key!.id, name: 'YubiKey' });
  });
});
