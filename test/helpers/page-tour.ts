import type { Page, Response } from 'playwright-core';
import type * as client from 'openid-client';
import type { TestApp } from './app.ts';
import type { CaughtMail } from './smtp.ts';
import type { FakeOidcUpstream } from './fake-oidc-upstream.ts';
import { authorizationRequest, REDIRECT_URI } from './oidc.ts';

/*
 * Walking a real browser to one of the hosted pages, the way a person gets there. Elements are
 * found by what does not change with the language or the wording: form actions, `name`
 * attributes, link targets. Never by text: the pages come in several languages.
 */

/** What the walks need: the app, its relying party, the mail it sends, the fake upstream. */
export interface TourWorld {
  app: TestApp;
  rp: { email: string; config: client.Configuration };
  upstream: FakeOidcUpstream;
  waitForMail(predicate: (mail: CaughtMail) => boolean): Promise<CaughtMail>;
}

const isRedirect = (status: number) => status >= 300 && status < 400;

let emails = 0;

export class PageTour {
  readonly page: Page;
  readonly world: TourWorld;
  readonly language: string;
  /** The status of the page the last step ended on (after redirects). */
  status = 0;

  constructor(page: Page, world: TourWorld, language: string) {
    this.page = page;
    this.world = world;
    this.language = language;
  }

  /** An address no other walk uses, so per-email limits and mail lookups never mix two walks. */
  uniqueEmail(tag: string): string {
    emails += 1;
    return `${tag}-${this.language}-${emails}@example.com`.toLowerCase();
  }

  /** The path of the page now shown. */
  get path(): string {
    return new URL(this.page.url()).pathname;
  }

  /** Runs `action` and waits for the page it leads to (the end of any redirects) to load. */
  async navigation(action: () => Promise<unknown>): Promise<void> {
    const page = this.page;
    const landed = page.waitForResponse((response: Response) => response.frame() === page.mainFrame() && response.request().isNavigationRequest() && !isRedirect(response.status()));
    // If the action fails, its error is the one to see, not the wait's timeout after it.
    landed.catch(() => {});
    await action();
    this.status = (await landed).status();
    await page.waitForLoadState('load');
  }

  /** Opens a path of ours, or an absolute URL (a mailed link). */
  async open(pathOrUrl: string): Promise<void> {
    const url = new URL(pathOrUrl, this.world.app.issuer).href;
    await this.navigation(() => this.page.goto(url));
  }

  /**
   * Starts a sign-in at the relying party, in this tour's language (`ui_locales`, OIDC Core
   * §3.1.2.1), and lands on the login page. `consent`: ask with prompt=consent (and
   * offline_access), so the consent page follows the login.
   */
  async startSignIn(options: { consent?: boolean; extra?: Record<string, string> } = {}): Promise<void> {
    const request = await authorizationRequest(this.world.rp.config, { ui_locales: this.language, ...options.extra }, { offline: options.consent ?? false });
    await this.open(request.url.href);
  }

  /** Clicks the element (a link or a submit button) and waits for the next page. */
  async press(selector: string): Promise<void> {
    const target = this.page.locator(selector);
    await this.navigation(() => target.click());
  }

  /** Fills the named fields of the form whose action ends with `action`, and submits it with its submit button. */
  async submit(action: string, fields: Record<string, string> = {}): Promise<void> {
    const form = this.page.locator(`form[action$="${action}"]`);
    for (const [name, value] of Object.entries(fields)) await form.locator(`[name="${name}"]`).fill(value);
    await this.press(`form[action$="${action}"] button[type=submit]`);
  }

  /** On the login page: signs in with email and password. */
  async signIn(email: string, password: string): Promise<void> {
    await this.submit('/login', { email, password });
  }

  /** On the consent page, if the sign-in shows one (consents are remembered per account): allows. */
  async allowIfAsked(): Promise<void> {
    if (await this.page.locator('form[action$="/confirm"]').count()) await this.submit('/confirm');
  }

  /**
   * Keeps pages that post themselves onward (views/form-post.ejs) standing, as a browser without
   * JavaScript shows them: their script is served empty.
   */
  async holdAutoSubmit(): Promise<void> {
    await this.page.route('**/assets/auto-submit.js', (route) => route.fulfill({ contentType: 'text/javascript', body: '' }));
  }

  /**
   * Signs in at the relying party all the way: login, consent when asked (consents are
   * remembered per account, so only the first time), and the redirect back with a code. Returns
   * that redirect. Chromium refuses to load the relying party's port (9), so the request is what
   * there is to see, not a page.
   */
  async signInToRelyingParty(email: string, password: string): Promise<URL> {
    const page = this.page;
    await this.startSignIn();
    const toRelyingParty = page.waitForRequest((request) => request.url().startsWith(`${REDIRECT_URI}?`));
    // …and then shows its error page: wait for that too, or it would cut off the next navigation.
    const errorPage = page.waitForEvent('framenavigated', (frame) => frame === page.mainFrame() && frame.url().startsWith('chrome-error:'));
    for (const wait of [toRelyingParty, errorPage]) wait.catch(() => {});
    const form = page.locator('form[action$="/login"]');
    await form.locator('[name=email]').fill(email);
    await form.locator('[name=password]').fill(password);
    const consent = page.locator('form[action$="/confirm"] button[type=submit]');
    await form.locator('button[type=submit]').click();
    const next = await Promise.race([toRelyingParty.then(() => 'back' as const), consent.waitFor().then(() => 'consent' as const)]);
    if (next === 'consent') await consent.click();
    const [request] = await Promise.all([toRelyingParty, errorPage]);
    return new URL(request.url());
  }

  /**
   * A device (the `tv-app` client) asks for a code (RFC 8628 §3.1), as a TV would, outside the
   * browser; returns the user code and where to enter it.
   */
  async startDevice(): Promise<{ userCode: string; verificationUriComplete: string }> {
    const response = await fetch(new URL('/device/auth', this.world.app.issuer), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({ client_id: 'tv-app', scope: 'openid profile email' }),
    });
    if (response.status !== 200) throw new Error(`device authorization failed: ${response.status} ${await response.text()}`);
    const body = await response.json() as { user_code: string; verification_uri_complete: string };
    return { userCode: body.user_code, verificationUriComplete: body.verification_uri_complete };
  }

  /** Starts a device and enters its code on /device in this browser: lands on the confirm page. */
  async openDeviceConfirm(): Promise<void> {
    const { userCode } = await this.startDevice();
    await this.open('/device');
    await this.submit('/device', { user_code: userCode });
  }

  /** Opens the link to `path` (for example /account/verify-email) in the mail to `to` (each walk has its own address). */
  async openMailedLink(to: string, path: string): Promise<void> {
    const prefix = `${this.world.app.issuer}${path}?`;
    const mail = await this.world.waitForMail((message) => message.to.includes(to) && message.links.some((link) => link.startsWith(prefix)));
    await this.open(mail.links.find((link) => link.startsWith(prefix))!);
  }
}

