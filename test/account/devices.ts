import { Browser, readForm } from '../helpers/browser.ts';
import type { TestApp } from '../helpers/app.ts';
import { mainOf, url } from './console.ts';

/*
 * Helpers for the devices and connected-apps pages: a browser that says which browser it is, and
 * reading the page's list of sessions back.
 */

export const FIREFOX_LINUX = 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0';
export const CHROME_ANDROID = 'Mozilla/5.0 (Linux; Android 14; Pixel 9) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Mobile Safari/537.36';
export const VIVALDI_WINDOWS = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 Vivaldi/7.0';
export const SAFARI_IPHONE = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1';

/** The test Browser, sending a User-Agent header of a real browser on every request. */
export class BrowserAs extends Browser {
  private readonly userAgent: string;

  constructor(userAgent: string) {
    super();
    this.userAgent = userAgent;
  }

  override request(target: string | URL, init: Parameters<Browser['request']>[1] = {}): Promise<Response> {
    return super.request(target, { ...init, headers: { 'user-agent': this.userAgent, ...init.headers } });
  }
}

export interface ListedSession {
  uid: string;
  current: boolean;
  text: string;
}

/** The sessions the devices page lists, in its order. */
export function sessionsOf(html: string): ListedSession[] {
  const list = /<ul class="factors devices">([\s\S]*?)<\/ul>/.exec(html)?.[1] ?? '';
  return [...list.matchAll(/<li>([\s\S]*?)<\/li>/g)].map((item) => {
    const uid = /action="\/account\/sessions\/([^/"]+)\/end"/.exec(item[1]!)?.[1];
    if (!uid) throw new Error(`a listed session without its sign-out form:\n${mainOf(html)}`);
    return { uid: decodeURIComponent(uid), current: item[1]!.includes('class="this-device"'), text: item[1]!.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim() };
  });
}

/** Submits the login page with a wrong password: one failed sign-in, from this browser. */
export async function failSignIn(browser: Browser, app: TestApp, email: string): Promise<void> {
  const page = await browser.navigate(url(app, '/account/security'));
  const form = readForm(page.html.slice(page.html.lastIndexOf('<form', page.html.indexOf('name="password"'))), '/login');
  const answer = await browser.navigate(url(app, form.action), { ...form.fields, email, password: 'not the password at all' });
  if (!answer.html.includes('type="password"')) throw new Error(`the wrong password was not refused:\n${mainOf(answer.html)}`);
}
