import { readFileSync } from 'node:fs';
import ejs from 'ejs';
import { viewsDir } from '../pages/render.ts';

export type MailTemplate = 'verify-email' | 'reset-password' | 'registration-attempt' | 'password-changed';
export type RenderMail = (template: MailTemplate, data: Record<string, unknown>) => { subject: string; text: string; html: string };

export const mailTemplates: readonly MailTemplate[] = ['verify-email', 'reset-password', 'registration-attempt', 'password-changed'];

/** Subjects live here, not in the templates, so that they are plain strings (no markup, no line breaks). */
const subjects: Record<MailTemplate, string> = {
  'verify-email': 'Confirm your email address',
  'reset-password': 'Reset your password',
  'registration-attempt': 'Someone tried to create an account with your email',
  'password-changed': 'Your password was changed',
};

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

const UNITS = [['day', 86_400], ['hour', 3600], ['minute', 60]] as const;

/**
 * `2 hours`, `90 minutes`, `3 days`: a link lifetime in the largest unit that states it exactly.
 * The configuration only admits whole minutes (src/config/schema.ts), so nothing is rounded.
 */
export function linkLifetime(seconds: unknown, field = 'expiresInSeconds'): string {
  if (typeof seconds !== 'number' || !Number.isInteger(seconds) || seconds < 60 || seconds % 60 !== 0) {
    throw new TypeError(`mail field ${field} must be a whole number of minutes, in seconds`);
  }
  // "24 hours" reads better than "1 day"; days only from two on.
  const [unit, size] = UNITS.find(([name, length]) => seconds % length === 0 && (name !== 'day' || seconds >= 2 * length))!;
  const value = seconds / size;
  return `${value} ${unit}${value === 1 ? '' : 's'}`;
}

/** Checks and shapes what each template needs; the templates then only print. */
function prepare(template: MailTemplate, data: Record<string, unknown>): Record<string, unknown> {
  switch (template) {
    case 'verify-email':
      return { name: shortName(data.name), link: httpUrl(data.link, 'link'), expiresIn: linkLifetime(data.expiresInSeconds) };
    case 'reset-password':
      return { link: httpUrl(data.link, 'link'), expiresIn: linkLifetime(data.expiresInSeconds) };
    case 'registration-attempt':
      return { loginUrl: data.loginUrl == null ? null : httpUrl(data.loginUrl, 'loginUrl') };
    case 'password-changed':
      if (typeof data.when !== 'string' || !data.when.trim()) throw new TypeError('mail field when must be a non-empty string');
      return { when: data.when };
  }
}

/**
 * Renders `views/mail/<name>.text.ejs` and `views/mail/<name>.html.ejs` (inside
 * `views/mail/layout.html.ejs`). Compiled once, like the pages; every dynamic value goes through
 * `<%= %>`, which HTML-escapes in the HTML part.
 */
export function createMailRenderer(options: { productName: string; dir?: string }): RenderMail {
  const dir = options.dir ?? `${viewsDir}mail/`;
  const compiled = new Map<string, ejs.TemplateFunction>();
  const template = (name: string, kind: 'text' | 'html'): ejs.TemplateFunction => {
    const key = `${name}.${kind}`;
    let fn = compiled.get(key);
    if (!fn) {
      const filename = `${dir}${key}.ejs`;
      fn = ejs.compile(readFileSync(filename, 'utf8'), {
        filename,
        strict: true,
        localsName: 'it',
        ...(kind === 'text' ? { escape: plainText } : {}),
      });
      compiled.set(key, fn);
    }
    return fn;
  };
  return (name, data) => {
    const subject = subjects[name];
    const locals = { ...prepare(name, data), productName: options.productName, subject };
    const text = template(name, 'text')(locals);
    const body = template(name, 'html')(locals);
    const html = template('layout', 'html')({ ...locals, body });
    return { subject, text, html };
  };
}
