import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOTP } from 'otpauth';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { Browser, readForm } from '../helpers/browser.ts';
import { seedWebClient, REDIRECT_URI } from '../helpers/oidc.ts';
import { startFakeOidcUpstream, type FakeOidcUpstream } from '../helpers/fake-oidc-upstream.ts';
import { allowIfAsked, asPage, pressUpstreamButton, redeem } from '../helpers/federation.ts';

/*
 * An upstream sign-in is one factor here: an account with a second factor is asked for it after
 * Google, and the ID token says so (amr fed, otp, mfa). Without our factor, Google alone gives
 * acr=password, whatever Google itself asked of the person.
 */
describe('a second factor after an upstream sign-in (fake Google on loopback)', () => {
  let google: FakeOidcUpstream;
  let app: TestApp;
  let rp: Awaited<ReturnType<typeof seedWebClient>>;

  beforeAll(async () => {
    google = await startFakeOidcUpstream();
    app = await startTestApp(google.env('google'));
    rp = await seedWebClient(app);
  });
  afterAll(async () => {
    await app?.close();
    await google?.close();
  });

  it('says acr=password and amr=[fed] without a factor, and asks for the code once the account has one', async () => {
    google.person = { sub: 'g-mfa-1', email: 'ida@gmail.test', email_verified: true, name: 'Ida' };
    const first = new Browser();
    const plain = await pressUpstreamButton(app, rp.config, first, 'google');
    const claims = (await redeem(rp.config, await allowIfAsked(app, first, plain.step), plain.request)).claims()!;
    expect(claims.acr).toBe('password');
    expect(claims.amr).toEqual(['fed']);

    const enrolment = await app.deps.mfa.enrolTotp(claims.sub, 'ida@gmail.test');
    const totp = new TOTP({ secret: enrolment.secret, digits: 6, period: 30, algorithm: 'SHA1' });
    expect(await app.deps.mfa.confirmTotp(claims.sub, enrolment.factorId, totp.generate({ timestamp: Date.now() - 30_000 }))).toBe('ok');

    const browser = new Browser();
    const { request, step } = await pressUpstreamButton(app, rp.config, browser, 'google');
    const page = asPage(step);
    expect(page.pageUrl).toMatch(/\/second-factor$/);
    const form = readForm(page.html, '/second-factor');
    const done = await browser.follow(new URL(form.action, app.issuer), REDIRECT_URI, { form: { ...form.fields, code: totp.generate() } });
    const upgraded = (await redeem(rp.config, await allowIfAsked(app, browser, done), request)).claims()!;
    expect(upgraded.sub).toBe(claims.sub);
    expect(upgraded.amr).toEqual(['fed', 'otp', 'mfa']);
    expect(upgraded.acr).toBe('mfa');
  });
});
