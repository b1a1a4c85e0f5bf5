import { builtinTheme, templateCache, type PageTheme } from '../pages/render.ts';
import type { Catalogue } from '../i18n/catalogue.ts';
import { exactDuration } from '../i18n/durations.ts';

export type MailTemplate = 'verify-email' | 'reset-password' | 'registration-attempt' | 'password-changed';
/** Mails of a person's own changes in the account console (src/accounts/settings.ts). */
export type AccountMailTemplate = 'email-change-confirm' | 'email-change-attempt' | 'email-changed' | 'password-set';
export type RenderMail = (template: MailTemplate | AccountMailTemplate, data: Record<string, unknown>, locale?: string) => { subject: string; text: string; html: string };

export const mailTemplates: readonly MailTemplate[] = ['verify-email', 'reset-password', 'registration-attempt', 'password-changed'];
export const accountMailTemplates: readonly AccountMailTemplate[] = ['email-change-confirm', 'email-change-attempt', 'email-changed', 'password-set'];

/**
 * The text part is not HTML: `<%= %>` there must not turn `&` in a link into `&amp;`. It only
 * flattens control characters (line breaks included) so that a value cannot start lines of its own.
 */
// eslint-disable-next-line no-control-regex
const plainText = (value: unknown): string => String(value ?? '').replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ');

/**
 * A display name is chosen by whoever registers, and the verification mail goes to an address
 * they typed: keep it to one short line so it cannot carry a message of its own.
 */
function shortName(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const name = plainText(value).replace(/\s+/g, ' ').trim();
  if (!name) return null;
  const chars = [...name];
  return chars.length > 40 ? `${chars.slice(0, 40).join('').trimEnd()}…` : name;
}

/** Links are made by the server; anything but an absolute http(s) URL is a bug, not something to mail. */
function httpUrl(value: unknown, field: string): string {
  if (typeof value === 'string' && URL.canParse(value)) {
    const { protocol } = new URL(value);
    if (protocol === 'https:' || protocol === 'http:') return value;
  }
  throw new TypeError(`mail field ${field} must be an absolute http(s) URL`);
}

/**
 * `2 hours`, `90 minutes`, `3 days`: a link lifetime in the largest unit that states it exactly,
 * in the mail's language (src/i18n/durations.ts).
 */
export function linkLifetime(seconds: unknown, field = 'expiresInSeconds', locale = 'en'): string {
  if (typeof seconds !== 'number' || !Number.isInteger(seconds) || seconds < 60 || seconds % 60 !== 0) {
    throw new TypeError(`mail field ${field} must be a whole number of minutes, in seconds`);
  }
  return exactDuration(locale, seconds);
}

/** The moment, in the reader's language; UTC, since we do not know the reader's zone. */
function moment(value: unknown, locale: string): string {
  const when = value instanceof Date ? value : typeof value === 'number' ? new Date(value) : null;
  if (!when || Number.isNaN(when.getTime())) throw new TypeError('mail field when must be a Date or epoch milliseconds');
  return new Intl.DateTimeFormat(locale, { year: 'numeric', month: 'long', day: 'numeric', hour: 'numeric', minute: '2-digit', timeZone: 'UTC', timeZoneName: 'short' }).format(when);
}

/** An address the account layer checked, printed as one plain line. */
function address(value: unknown, field: string): string {
  if (typeof value !== 'string' || !/^[^\s@]+@[^\s@]+$/.test(value)) throw new TypeError(`mail field ${field} must be an email address`);
  return plainText(value);
}

/** Checks and shapes what each template needs; the templates then only print. */
function prepare(template: MailTemplate | AccountMailTemplate, data: Record<string, unknown>, locale: string): Record<string, unknown> {
  switch (template) {
    case 'verify-email':
      return { name: shortName(data.name), link: httpUrl(data.link, 'link'), expiresIn: linkLifetime(data.expiresInSeconds, 'expiresInSeconds', locale) };
    case 'reset-password':
      return { link: httpUrl(data.link, 'link'), expiresIn: linkLifetime(data.expiresInSeconds, 'expiresInSeconds', locale) };
    case 'registration-attempt':
      return { loginUrl: data.loginUrl == null ? null : httpUrl(data.loginUrl, 'loginUrl') };
    case 'password-changed':
      // `sessions`: which sessions the change ended: all (a reset), the others, or none.
      return { when: moment(data.when, locale), sessions: data.sessions === 'others' || data.sessions === 'none' ? data.sessions : 'all' };
    case 'password-set':
      return { when: moment(data.when, locale) };
    case 'email-change-confirm':
      return { link: httpUrl(data.link, 'link'), expiresIn: linkLifetime(data.expiresInSeconds, 'expiresInSeconds', locale) };
    case 'email-change-attempt':
      return { loginUrl: data.loginUrl == null ? null : httpUrl(data.loginUrl, 'loginUrl') };
    case 'email-changed':
      return { email: address(data.email, 'email'), when: moment(data.when, locale) };
  }
}

/**
 * Renders `views/mail/<name>.text.ejs` and `views/mail/<name>.html.ejs` (inside
 * `views/mail/layout.html.ejs`) in the language of the request that caused the mail. Compiled
 * once, like the pages, from the theme's directory first; every dynamic value goes through
 * `<%= %>`, which HTML-escapes in the HTML part. Subjects are catalogue messages
 * (`mail.<name>.subject`): plain strings, no markup, no line breaks.
 */
export function createMailRenderer(options: { productName: string; catalogue: Catalogue; theme?: PageTheme }): RenderMail {
  const theme = options.theme ?? builtinTheme;
  const html = templateCache(theme);
  const text = templateCache(theme, { escape: plainText, variant: 'text' });
  return (name, data, locale = options.catalogue.defaultLocale) => {
    const t = options.catalogue.t(locale);
    const subject = plainText(t(`mail.${name}.subject`));
    const locals = { ...prepare(name, data, locale), productName: options.productName, subject, t, locale, dir: options.catalogue.direction(locale) };
    const body = html(`mail/${name}.html.ejs`)(locals);
    return {
      subject,
      text: text(`mail/${name}.text.ejs`)(locals),
      html: html('mail/layout.html.ejs')({ ...locals, body }),
    };
  };
}
