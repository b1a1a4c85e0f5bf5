import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { testClock } from '../helpers/clock.ts';
import { Browser } from '../helpers/browser.ts';
import { auditEvents, codeAt, csrfOf, mainOf, openConsole, recoveryCodesOf, secretOf, seedPerson, throughSignIn, url } from './console.ts';

/*
 * Authenticator apps and recovery codes in the account console, over real HTTP without
 * JavaScript: enrolment from the secret as text, confirmed by a first code; ten recovery codes
 * shown once; the next sign-in asks for a code; removal; and a stale sign-in signs in again first.
 */

describe('authenticator apps in the account console', () => {
  const clock = testClock(Date.UTC(2026, 5, 3, 9, 0, 0));
  let app: TestApp;
  let accountId: string;
  let secret = '';
  let codes: string[] = [];
  const email = 'ada@example.com';
  // A code of the enrolled app at the test clock's now, a step later each time (each is good once).
  const nextCode = () => {
    clock.advance(30_000);
    return codeAt(secret, clock.now());
  };

  beforeAll(async () => {
    app = await startTestApp({}, { clock });
    accountId = (await seedPerson(app, email)).id;
  });
  afterAll(async () => app?.close());

  it('enrols an app from the secret as text: a wrong first code is refused with the same secret, the right one confirms it', async () => {
    const { browser, page } = await openConsole(app, { email });
    expect(page.html).toContain('href="/account/security/totp"');
    const enrol = await browser.navigate(url(app, '/account/security/totp'));
    expect(enrol.status).toBe(200);
    expect(enrol.html).toMatch(/<img class="qr" src="data:image\/(png|svg\+xml);base64,[A-Za-z0-9+/=]+" alt="[^"]+"/);
    expect(enrol.html).toMatch(/<label for="totp-code">/);
    expect(enrol.html).toMatch(/<label for="totp-name">/);
    secret = secretOf(enrol.html);
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    // The secret stays server-side: no form field carries it.
    expect(enrol.html).not.toMatch(new RegExp(`value="[^"]*${secret.slice(0, 8)}`));

    const wrong = await browser.navigate(url(app, '/account/security/totp'), { csrf: csrfOf(enrol.html), name: 'Pixel', code: '000000' });
    expect(wrong.status).toBe(400);
    expect(wrong.html).toContain('role="alert"');
    expect(wrong.html).toContain('aria-invalid="true"');
    expect(secretOf(wrong.html)).toBe(secret);
    // A reload shows the same enrolment too.
    expect(secretOf((await browser.navigate(url(app, '/account/security/totp'))).html)).toBe(secret);

    const confirmed = await browser.navigate(url(app, '/account/security/totp'), { csrf: csrfOf(wrong.html), name: 'Pixel  9 ', code: nextCode() });
    expect(confirmed.url).toBe(url(app, '/account/security/recovery-codes'));
    codes = recoveryCodesOf(confirmed.html);
    expect(codes).toHaveLength(10);
    expect(new Set(codes).size).toBe(10);

    // Shown once: a reload says they were shown and shows none.
    const reload = await browser.navigate(url(app, '/account/security/recovery-codes'));
    expect(recoveryCodesOf(reload.html)).toEqual([]);
    expect(reload.html).toContain('href="/account/security/recovery-codes/new"');
    // Stored hashed: no code appears in the table.
    const { rows } = await app.deps.db.query<{ code_hash: string }>('SELECT code_hash FROM mfa_recovery_codes WHERE account_id = $1', [accountId]);
    expect(rows).toHaveLength(10);
    for (const code of codes) for (const row of rows) expect(row.code_hash).not.toContain(code.replace('-', ''));

    const security = await browser.navigate(url(app, '/account/security?done=app_added'));
    expect(security.html).toContain('Pixel 9');
    expect(security.html).toContain('role="status"');
    expect(security.html).toMatch(/10 unused recovery codes left/);

    const enrolled = await auditEvents(app, accountId, 'mfa.enrolled');
    expect(enrolled).toHaveLength(1);
    expect(enrolled[0]).toMatchObject({ ip: expect.any(String), user_agent: expect.any(String), details: { kind: 'totp', name: 'Pixel 9', factorId: expect.any(String) } });
    expect(await auditEvents(app, accountId, 'mfa.recovery_codes_generated')).toHaveLength(1);
    expect((await auditEvents(app, accountId, 'mfa.failed')).at(-1)).toMatchObject({ details: { kind: 'totp', step: 'enrolment' } });
  });

  it('asks for the code at the next sign-in', async () => {
    const { page } = await openConsole(app, { email, code: nextCode });
    expect(page.sawSecondFactor).toBe(true);
    expect(page.url).toBe(url(app, '/account/security'));
  });

  it('makes new recovery codes, which replace the old ones', async () => {
    const { browser } = await openConsole(app, { email, code: nextCode });
    const confirm = await browser.navigate(url(app, '/account/security/recovery-codes/new'));
    expect(confirm.status).toBe(200);
    const made = await browser.navigate(url(app, '/account/security/recovery-codes'), { csrf: csrfOf(confirm.html) });
    const fresh = recoveryCodesOf(made.html);
    expect(fresh).toHaveLength(10);
    expect(fresh).not.toEqual(codes);
    expect((await app.deps.mfa.useRecoveryCode(accountId, codes[0]!)).ok).toBe(false);
    expect((await app.deps.mfa.useRecoveryCode(accountId, fresh[0]!)).ok).toBe(true);
    expect(await auditEvents(app, accountId, 'mfa.recovery_codes_generated')).toHaveLength(2);
  });

  it('asks a stale sign-in to sign in again (password and code) before adding, and comes back to the page', async () => {
    const { browser } = await openConsole(app, { email, code: nextCode });
    clock.advance(301_000);
    const security = await browser.navigate(url(app, '/account/security'));
    expect(security.html).toContain('id="reauth-hint"');
    const start = await browser.request(url(app, '/account/security/totp'));
    expect(start.status).toBe(303);
    const auth = new URL(start.headers.get('location')!);
    expect(auth.searchParams.get('max_age')).toBe('0');
    expect(auth.searchParams.get('prompt')).toBe('login');
    // The provider session is alive, yet the password and the code are asked for again.
    const back = await throughSignIn(browser, app, await browser.navigate(auth.href), { email, code: nextCode });
    expect(back.sawLogin).toBe(true);
    expect(back.sawSecondFactor).toBe(true);
    expect(back.url).toBe(url(app, '/account/security/totp'));
    expect(back.html).toContain('id="totp-secret"');
    // A second app: no new recovery codes this time.
    const second = secretOf(back.html);
    clock.advance(30_000);
    const added = await browser.request(url(app, '/account/security/totp'), { form: { csrf: csrfOf(back.html), name: '', code: codeAt(second, clock.now()) } });
    expect(added.status).toBe(303);
    expect(added.headers.get('location')).toBe('/account/security?done=app_added');
    const apps = (await app.deps.mfa.listFactors(accountId)).filter((factor) => factor.confirmed);
    expect(apps.map((factor) => factor.name)).toEqual(['Pixel 9', 'Authenticator app']);
  });

  it('removes a factor after a confirmation, signing in again first when the sign-in is stale', async () => {
    const { browser } = await openConsole(app, { email, code: nextCode });
    const [first, second] = (await app.deps.mfa.listFactors(accountId)).filter((factor) => factor.confirmed);
    const confirm = await browser.navigate(url(app, `/account/security/factors/${second!.id}/remove`));
    expect(confirm.status).toBe(200);
    const removed = await browser.request(url(app, `/account/security/factors/${second!.id}/remove`), { form: { csrf: csrfOf(confirm.html) } });
    expect(removed.status).toBe(303);
    expect((await app.deps.mfa.listFactors(accountId)).map((factor) => factor.id)).toEqual([first!.id]);
    expect((await auditEvents(app, accountId, 'mfa.removed')).at(-1)).toMatchObject({ details: { kind: 'totp', factorId: second!.id, name: 'Authenticator app' } });

    // Stale: the POST is not carried out; the person signs in again and is back at the confirmation.
    const page = await browser.navigate(url(app, `/account/security/factors/${first!.id}/remove`));
    expect(page.html).toContain('class="notice"');
    clock.advance(301_000);
    const stale = await browser.request(url(app, `/account/security/factors/${first!.id}/remove`), { form: { csrf: csrfOf(page.html) } });
    expect(stale.status).toBe(303);
    expect(new URL(stale.headers.get('location')!).searchParams.get('max_age')).toBe('0');
    expect((await app.deps.mfa.listFactors(accountId)).map((factor) => factor.id)).toEqual([first!.id]);
    const back = await throughSignIn(browser, app, await browser.navigate(stale.headers.get('location')!), { email, code: nextCode });
    expect(back.url).toBe(url(app, `/account/security/factors/${first!.id}/remove`));
    const gone = await browser.navigate(url(app, `/account/security/factors/${first!.id}/remove`), { csrf: csrfOf(back.html) });
    expect(gone.url).toBe(url(app, '/account/security?done=removed'));
    expect(await app.deps.mfa.hasFactor(accountId)).toBe(false);
    // Without a factor, the sign-in asks for none.
    expect((await openConsole(app, { email })).page.sawSecondFactor).toBe(false);
  });

  it('refuses a POST without the session\'s CSRF token, and factors of other accounts', async () => {
    const { browser, page } = await openConsole(app, { email });
    const forms: Array<Record<string, string>> = [{}, { csrf: 'not-the-token' }, { csrf: `${csrfOf(page.html).slice(0, -2)}AA` }];
    for (const form of forms) {
      const refused = await browser.request(url(app, '/account/security/recovery-codes'), { form });
      expect(refused.status, JSON.stringify(form)).toBe(403);
    }
    const other = await seedPerson(app, 'grace@example.com');
    const hers = await app.deps.mfa.enrolTotp(other.id, 'grace@example.com');
    await app.deps.mfa.confirmTotp(other.id, hers.factorId, codeAt(hers.secret, clock.now()));
    const notMine = await browser.navigate(url(app, `/account/security/factors/${hers.factorId}/remove`));
    expect(notMine.status).toBe(404);
    const post = await browser.request(url(app, `/account/security/factors/${hers.factorId}/remove`), { form: { csrf: csrfOf(page.html) } });
    expect(post.status).toBe(404);
    expect(await app.deps.mfa.hasFactor(other.id)).toBe(true);
    expect((await browser.navigate(url(app, '/account/security/factors/not-a-uuid/remove'))).status).toBe(404);
  });
});

describe('an account that must keep a second factor (MFA_REQUIRED=true)', () => {
  const clock = testClock(Date.UTC(2026, 5, 4, 9, 0, 0));
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp({ MFA_REQUIRED: 'true' }, { clock });
  });
  afterAll(async () => app?.close());

  it('refuses to remove its last factor, and allows it once there is another', async () => {
    const email = 'kept@example.com';
    const account = await seedPerson(app, email);
    const enrolment = await app.deps.mfa.enrolTotp(account.id, email, 'Phone');
    expect(await app.deps.mfa.confirmTotp(account.id, enrolment.factorId, codeAt(enrolment.secret, clock.now()))).toBe('ok');
    const code = () => {
      clock.advance(30_000);
      return codeAt(enrolment.secret, clock.now());
    };
    const { browser, page } = await openConsole(app, { email, code });
    expect(page.url, mainOf(page.html)).toBe(url(app, '/account/security'));
    const confirm = await browser.navigate(url(app, `/account/security/factors/${enrolment.factorId}/remove`));
    expect(confirm.status).toBe(409);
    expect(confirm.html).toContain('role="alert"');
    expect(confirm.html).not.toContain(`action="/account/security/factors/${enrolment.factorId}/remove"`);
    const forced = await browser.navigate(url(app, `/account/security/factors/${enrolment.factorId}/remove`), { csrf: csrfOf(page.html) });
    expect(forced.status).toBe(409);
    expect(await app.deps.mfa.hasFactor(account.id)).toBe(true);
    expect(await auditEvents(app, account.id, 'mfa.removed')).toHaveLength(0);

    const spare = await app.deps.mfa.enrolTotp(account.id, email, 'Tablet');
    await app.deps.mfa.confirmTotp(account.id, spare.factorId, codeAt(spare.secret, clock.now()));
    const allowed = await browser.navigate(url(app, `/account/security/factors/${enrolment.factorId}/remove`), { csrf: csrfOf(page.html) });
    expect(allowed.url).toBe(url(app, '/account/security?done=removed'));
    expect((await app.deps.mfa.listFactors(account.id)).map((factor) => factor.id)).toEqual([spare.factorId]);
  });

  it('a new browser without a session still signs in through the provider first', async () => {
    const response = await new Browser().request(url(app, '/account/security/factors/00000000-0000-4000-8000-000000000000/remove'), { form: { csrf: 'x' } });
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toContain('/auth?');
  });
});
