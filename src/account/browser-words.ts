import type { Translate } from '../i18n/catalogue.ts';
import { summariseUserAgent } from './user-agent.ts';

/** "Firefox 128 on Linux", "Android", or "Unknown browser", in the page's language. */
export function browserWords(t: Translate, userAgent: string | null): string {
  const { browser, os } = summariseUserAgent(userAgent);
  if (browser && os) return t('account.sessions.browser_on', { browser, os });
  return browser ?? os ?? t('account.sessions.unknown_browser');
}
