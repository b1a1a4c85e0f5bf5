import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { authorizationRequest, PASSWORD, REDIRECT_URI, seedWebClient, signInThroughPages } from '../helpers/oidc.ts';
import { startSmtpServer } from '../helpers/smtp.ts';
import { Browser, readForm } from '../helpers/browser.ts';
import { open, submit } from '../helpers/self-service.ts';

/*
 * The hosted pages over HTTP: the language each page is in and why, the pages that used to be
 * oidc-provider's or plain text, and the ways on after every step (no dead ends).
 */

type Smtp = Awaited<ReturnType<typeof startSmtpServer>>;
type Rp = Awaited<ReturnType<typeof seedWebClient>>;

const langOf = (html: string) => /<html lang="([^"]+)"/.exec(html)?.[1];
const h1 = (html: string) => /<h1>([^<]*)<\/h1>/.exec(html)?.[1];

/** Starts a sign-in and returns the login page, with headers the browser sends on every request. */
async function loginPage(rp: Rp, extra: Record<string, string> = {}, headers: Record<string, string> = {}) {
  const browser = new Browser();
  const request = await authorizationRequest(rp.config, extra, { offline: false });
  let response = await browser.request(request.url, { headers });
  let url = request.url.href;
  while (response.status >= 300 && response.status < 400) {
    url = new URL(response.headers.get('location')!, url).href;
    response = await browser.request(url, { headers });
  }
  const html = await response.text();
  const uid = /\/interaction\/([^/"]+)\/login"/.exec(html)?.[1];
  if (!uid) throw new Error(`no login page:\n${html}`);
  return { browser, request, uid, html, response, url };
}

describe('hosted pages: languages, our own pages, no dead ends', () => {
  let smtp: Smtp;
  let app: TestApp;
  let rp: Rp;

  beforeAll(async () => {
    smtp = await startSmtpServer();
    app = await startTestApp({ SMTP_URL: smtp.url });
    rp = await seedWebClient(app);
    // An application that can start a sign-in itself (OIDC Core §4) and has a home page.
    const stored = await app.deps.clients.get('web-app');
    await app.deps.db.query('UPDATE clients SET metadata = $2 WHERE id = $1', ['web-app', {
      ...stored!.metadata, initiate_login_uri: 'https://app.example/login', client_uri: 'https://app.example/', policy_uri: 'https://app.example/privacy', tos_uri: 'https://app.example/terms',
    }]);
    app.deps.configCache.invalidate();
  });
  afterAll(async () => {
    await app?.close();
    await smtp?.close();
  });

  it('advertises the languages in discovery', async () => {
    const discovery = await (await fetch(`${app.issuer}/.well-known/openid-configuration`)).json() as { ui_locales_supported: string[] };
    expect(discovery.ui_locales_supported).toEqual(expect.arrayContaining(['en', 'de', 'fr', 'es', 'ja']));
    expect(discovery.ui_locales_supported[0]).toBe('en');
  });

  it('follows ui_locales, then Accept-Language, then the default; lang and Content-Language follow', async () => {
    const german = await loginPage(rp, { ui_locales: 'xx-YY de-CH' }, { 'accept-language': 'fr' });
    expect(langOf(german.html)).toBe('de');
    expect(german.response.headers.get('content-language')).toBe('de');
    expect(h1(german.html)).toBe('Anmelden');
    const french = await loginPage(rp, {}, { 'accept-language': 'ja;q=0.5, fr-CA;q=0.9' });
    expect(langOf(french.html)).toBe('fr');
    const fallback = await loginPage(rp, {}, { 'accept-language': 'tlh' });
    expect(langOf(fallback.html)).toBe('en');
    expect(fallback.html).toContain('hreflang="ja" lang="ja">日本語</a>');
  });

  it('switches language on the page, and remembers the choice for the rest of the visit', async () => {
    const login = await loginPage(rp, { ui_locales: 'de' });
    const spanish = await open(login.browser, app, `/interaction/${login.uid}?lang=es`);
    expect(langOf(spanish.html)).toBe('es');
    expect(spanish.html).toContain('aria-current="true">Español</a>');
    const register = await open(login.browser, app, `/interaction/${login.uid}/register`);
    expect(langOf(register.html)).toBe('es');
  });

  it('speaks the signed-in person\'s locale claim on the consent page', async () => {
    await app.deps.accounts.create({ email: 'kenji@example.com', password: PASSWORD, emailVerified: true, locale: 'ja' });
    const login = await loginPage(rp, { prompt: 'consent', scope: 'openid profile' }, { 'accept-language': 'en' });
    const form = readForm(login.html, '/login');
    const consent = await login.browser.navigate(new URL(form.action, app.issuer).href, { ...form.fields, email: 'kenji@example.com', password: PASSWORD });
    expect(consent.html).toContain('/confirm"');
    expect(langOf(consent.html)).toBe('ja');
    expect(consent.html).toContain('https://app.example/privacy');
  });

  it('mails in the language of the request, with links that keep it and lead back', async () => {
    const login = await loginPage(rp, { ui_locales: 'fr' });
    const forgot = await open(login.browser, app, `/interaction/${login.uid}/forgot`);
    await submit(login.browser, app, forgot.html, '/forgot', { email: rp.email });
    const mail = await smtp.waitFor((message) => message.to.includes(rp.email) && message.subject.includes('mot de passe'));
    const link = new URL(mail.links.find((href) => href.includes('/account/reset-password'))!);
    expect(link.searchParams.get('lang')).toBe('fr');
    expect(link.searchParams.get('interaction')).toBe(login.uid);
    // The reset page carries the account's address for password managers, then leads back into the sign-in.
    const page = await open(login.browser, app, `${link.pathname}${link.search}`);
    expect(langOf(page.html)).toBe('fr');
    expect(page.html).toMatch(/autocomplete="username" value="ada@example.com"/);
    const done = await submit(login.browser, app, page.html, '/account/reset-password', { password: 'a brand new passphrase' });
    const back = /<a class="button" href="([^"]+)"/.exec(done.html)?.[1]?.replace(/&amp;/g, '&');
    expect(back).toBe(`/interaction/${login.uid}?client_id=web-app`);
    const again = await open(login.browser, app, back!);
    expect(again.html).toContain(`/interaction/${login.uid}/login"`);
  });

  it('continues the sign-in that registered, signed in, when the email needs no verification first', async () => {
    const login = await loginPage(rp, { ui_locales: 'de' });
    const register = await open(login.browser, app, `/interaction/${login.uid}/register`);
    const checkEmail = await submit(login.browser, app, register.html, '/register', { email: 'new.person@example.com', password: 'a long enough passphrase', name: 'Neu' });
    expect(langOf(checkEmail.html)).toBe('de');
    const mail = await smtp.waitFor((message) => message.to.includes('new.person@example.com'));
    expect(new URL(mail.links.find((href) => href.includes('/account/verify-email'))!).searchParams.get('lang')).toBe('de');
    const next = /<a class="button" href="([^"]+)"/.exec(checkEmail.html)?.[1];
    expect(next).toBe(`/interaction/${login.uid}`);
    const done = await signInThroughPages(login.browser, new URL(next!, app.issuer), { email: 'unused@example.com', password: 'never typed' });
    expect(new URL(done.callback).searchParams.get('code')).toBeTruthy();
  });

  it('restarts an expired sign-in at the application, keeping what was typed', async () => {
    const login = await loginPage(rp);
    const form = readForm(login.html, '/login');
    const stranger = new Browser(); // no interaction cookie: as after expiry
    const response = await stranger.request(new URL(form.action, app.issuer), { form: { ...form.fields, email: 'ada@example.com', password: 'x' } });
    expect(response.status).toBe(303);
    const target = new URL(response.headers.get('location')!);
    expect(`${target.origin}${target.pathname}`).toBe('https://app.example/login');
    expect(target.searchParams.get('iss')).toBe(app.issuer);
    expect(target.searchParams.get('login_hint')).toBe('ada@example.com');
    // Without a named application the page says what to do, in our layout.
    const bare = await fetch(`${app.issuer}/interaction/gone-interaction`, { headers: { accept: 'text/html' } });
    expect(bare.status).toBe(400);
    const html = await bare.text();
    expect(h1(html)).toBe('This sign-in has expired');
    expect(html).toContain('class="hint details"');
  });

  it('serves an unknown path as a page in our layout (JSON for API callers)', async () => {
    const page = await fetch(`${app.issuer}/no/such/page`, { headers: { accept: 'text/html', 'accept-language': 'de' } });
    expect(page.status).toBe(404);
    const html = await page.text();
    expect(langOf(html)).toBe('de');
    expect(html).toMatch(/<title>[^<]+ · Sign-in<\/title>/);
    const api = await fetch(`${app.issuer}/no/such/page`, { headers: { accept: 'application/json' } });
    expect(api.status).toBe(404);
    expect(await api.json()).toMatchObject({ error: 'not_found' });
  });

  it('words protocol errors plainly, with the detail on a line for support', async () => {
    const request = await authorizationRequest(rp.config, { redirect_uri: 'https://attacker.example/steal', ui_locales: 'es' });
    const response = await fetch(request.url, { redirect: 'manual' });
    expect(response.status).toBe(400);
    const html = await response.text();
    expect(langOf(html)).toBe('es');
    expect(h1(html)).not.toMatch(/redirect_uri/);
    expect(html).toMatch(/class="hint details">[^<]*<code>invalid_redirect_uri<\/code>[^<]*redirect_uri/);
    expect(html).not.toContain('attacker.example');
  });

  it('makes the sign-out without a session our page, which works without JavaScript', async () => {
    const response = await fetch(`${app.issuer}/session/end?client_id=web-app&ui_locales=fr`);
    const html = await response.text();
    expect(html).not.toContain('does not support JavaScript');
    expect(langOf(html)).toBe('fr');
    expect(html).toMatch(/<form method="post" action="[^"]*\/session\/end\/confirm" data-auto-submit>/);
    expect(html).toMatch(/<button type="submit" class="primary"/);
    expect(html).toContain('<script src="/assets/auto-submit.js" defer></script>');
    expect((await fetch(`${app.issuer}/assets/auto-submit.js`)).status).toBe(200);
  });

  it('names the application on the sign-out question, and leads back to it afterwards', async () => {
    await app.deps.accounts.create({ email: 'sam@example.com', password: PASSWORD, emailVerified: true });
    const login = await loginPage(rp, { ui_locales: 'en' });
    await signInThroughPages(login.browser, new URL(login.url), { email: 'sam@example.com', password: PASSWORD });
    const question = await open(login.browser, app, '/session/end?client_id=web-app');
    expect(question.html).toContain('Web App is signing you out');
    const confirm = readForm(question.html, '/session/end/confirm');
    const done = await login.browser.navigate(new URL(confirm.action, app.issuer).href, { ...confirm.fields, logout: 'yes' });
    expect(done.html).toContain('Web App');
    expect(done.html).toContain('href="https://app.example/"');
  });
});

describe('registration with REQUIRE_VERIFIED_EMAIL: back into the sign-in after verifying', () => {
  let smtp: Smtp;
  let app: TestApp;
  let rp: Rp;

  beforeAll(async () => {
    smtp = await startSmtpServer();
    app = await startTestApp({ SMTP_URL: smtp.url, REQUIRE_VERIFIED_EMAIL: 'true' });
    rp = await seedWebClient(app);
  });
  afterAll(async () => {
    await app?.close();
    await smtp?.close();
  });

  it('signs in the new account once its mailed link is used, without the password again', async () => {
    const login = await loginPage(rp);
    const register = await open(login.browser, app, `/interaction/${login.uid}/register`);
    const checkEmail = await submit(login.browser, app, register.html, '/register', { email: 'grace@example.com', password: 'a long enough passphrase' });
    const mail = await smtp.waitFor((message) => message.to.includes('grace@example.com'));
    const link = new URL(mail.links.find((href) => href.includes('/account/verify-email'))!);
    // Not verified yet: continuing shows the login page again, nothing is signed in.
    const early = await login.browser.follow(new URL(`/interaction/${login.uid}`, app.issuer), REDIRECT_URI);
    expect('html' in early && early.html).toContain('/login"');
    expect(checkEmail.html).toContain(`href="/interaction/${login.uid}"`);
    const verify = await open(login.browser, app, `${link.pathname}${link.search}`);
    const verified = await submit(login.browser, app, verify.html, '/account/verify-email');
    const next = /<a class="button" href="([^"]+)"/.exec(verified.html)?.[1]?.replace(/&amp;/g, '&');
    expect(next).toBe(`/interaction/${login.uid}?client_id=web-app`);
    const done = await signInThroughPages(login.browser, new URL(next!, app.issuer), { email: 'unused@example.com', password: 'never typed' });
    expect(new URL(done.callback).searchParams.get('code')).toBeTruthy();
  });

  it('does not sign in a stranger who registered an email that already had an account', async () => {
    const login = await loginPage(rp);
    const register = await open(login.browser, app, `/interaction/${login.uid}/register`);
    await submit(login.browser, app, register.html, '/register', { email: rp.email, password: 'a long enough passphrase' });
    await smtp.waitFor((message) => message.to.includes(rp.email));
    const back = await login.browser.follow(new URL(`/interaction/${login.uid}`, app.issuer), REDIRECT_URI);
    expect('html' in back && back.html).toContain('/login"');
  });
});
