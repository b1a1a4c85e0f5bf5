import { readdirSync } from 'node:fs';
import { renderStrict } from './render-strict.ts';
import { describe, expect, it } from 'vitest';
import { builtinLocalesDir, createCatalogue } from '../../src/i18n/catalogue.ts';
import { accountMailTemplates, createMailRenderer, type AccountMailTemplate } from '../../src/mail/templates.ts';
import { findLinks } from '../helpers/smtp.ts';

/*
 * The profile, email-change and password pages of the account console (views/account/profile.ejs,
 * email*.ejs, password.ejs) and the mails they cause render in every shipped language with no
 * message missing: strict catalogue, no English fallback. Each fixture takes a different branch;
 * the words the handlers pick themselves (problems, notices) are looked up too.
 */

const shipped = readdirSync(builtinLocalesDir).filter((file) => file.endsWith('.json')).map((file) => file.slice(0, -5)).sort();

const values = { name: 'Ada Lovelace', givenName: 'Ada', familyName: 'Lovelace', picture: 'https://example.com/ada.png', locale: 'de' };
const empty = { name: '', givenName: '', familyName: '', picture: '', locale: '' };
const locales = [{ value: 'en', name: 'English' }, { value: 'de', name: 'Deutsch' }];
const profile = { locales, email: 'a@b.example', reauthMinutes: 5 };
const allProblems = { name: 'x', givenName: 'x', familyName: 'x', picture: 'x', locale: 'x' };
const password = { email: 'a@b.example', minLength: 8, signOutOthers: true };

const fixtures: Array<[string, string, Record<string, unknown>]> = [
  ['account/profile', 'account.profile.title', { ...profile, values, problem: {}, notice: 'x', emailVerified: true, hasPassword: true, fresh: true }],
  ['account/profile', 'account.profile.title', { ...profile, values: empty, problem: allProblems, notice: null, emailVerified: false, hasPassword: false, fresh: false }],
  ['account/profile', 'account.profile.title', { ...profile, values, problem: { picture: 'x' }, notice: null, emailVerified: true, hasPassword: true, fresh: false, reauthMinutes: 1 }],
  ['account/email', 'account.profile.email.title', { email: 'a@b.example', typed: '', problem: null }],
  ['account/email', 'account.profile.email.title', { email: 'a@b.example', typed: 'x', problem: 'x' }],
  ['account/email-sent', 'account.profile.email.sent_title', { email: 'a@b.example', sentTo: 'c@d.example', expiresIn: '24 hours' }],
  ['account/email-confirm', 'account.profile.email.confirm_title', { invalid: false, taken: false, token: 't', from: 'a@b.example', to: 'c@d.example' }],
  ['account/email-confirm', 'account.profile.email.confirm_title', { invalid: false, taken: true, to: 'c@d.example' }],
  ['account/email-confirm', 'account.profile.email.invalid_title', { invalid: true }],
  ['account/password', 'account.profile.password.title_change', { ...password, hasPassword: true, problem: null, problemField: null }],
  ['account/password', 'account.profile.password.title_change', { ...password, hasPassword: true, problem: 'x', problemField: 'current', signOutOthers: false }],
  ['account/password', 'account.profile.password.title_set', { ...password, hasPassword: false, problem: 'x', problemField: 'password' }],
  ['account/password', 'account.profile.password.title_set', { ...password, hasPassword: false, problem: null, problemField: null }],
];

const handlerKeys = [
  ...['too_long', 'bad_characters', 'picture_not_https', 'picture_invalid', 'locale_unknown'].map((code) => `account.profile.problems.${code}`),
  ...['saved', 'unchanged', 'email_changed', 'password_changed', 'password_set'].map((done) => `account.profile.done.${done}`),
  'account.profile.email.problems.invalid', 'account.profile.email.problems.unchanged',
  'account.profile.password.missing_current', 'account.profile.password.wrong_current', 'account.profile.password.now_required',
];

const mailFixtures: Record<AccountMailTemplate, Record<string, unknown>> = {
  'email-change-confirm': { link: 'https://id.example/account/email/confirm?token=t&lang=de', expiresInSeconds: 86_400 },
  'email-change-attempt': { loginUrl: 'https://id.example/' },
  'email-changed': { email: 'new@example.com', when: Date.UTC(2026, 5, 4, 10, 20) },
  'password-set': { when: Date.UTC(2026, 5, 4, 10, 20) },
};

describe('the profile, email and password pages', () => {
  describe.each(shipped)('%s', (locale) => {
    it('renders every page and every mail with no message missing, in its own words', () => {
      const { t, missing, catalogue } = renderStrict(locale, fixtures, { path: '/account/profile', data: { consoleSections: ['/account/profile', '/account/security'] } });
      for (const key of handlerKeys) t(key, { count: 200 });
      for (const count of [1, 8]) t('problems.password.too_short', { count });

      const mail = createMailRenderer({ productName: 'Acme ID', catalogue });
      const english = createMailRenderer({ productName: 'Acme ID', catalogue: createCatalogue({ strict: true }) });
      const rendered = [
        ...accountMailTemplates.map((template) => [template, mail(template, mailFixtures[template], locale), english(template, mailFixtures[template], 'en')] as const),
        ...(['others', 'none'] as const).map((sessions) => [`password-changed ${sessions}`, mail('password-changed', { when: 0, sessions }, locale), english('password-changed', { when: 0, sessions }, 'en')] as const),
      ];
      for (const [name, ours, theirs] of rendered) {
        expect(ours.html, name).toContain(`<html lang="${locale}"`);
        if (locale !== 'en') expect(ours.text, name).not.toBe(theirs.text);
      }
      expect(missing).toEqual([]);
    });
  });

  describe('the mails', () => {
    const render = createMailRenderer({ productName: 'Sign-in', catalogue: createCatalogue() });

    it.each(accountMailTemplates)('%s has a one-line subject, a plain text part and a standalone HTML part fetching nothing', (template) => {
      const mail = render(template, mailFixtures[template]);
      expect(mail.subject).toMatch(/^[^\r\n<>]+$/);
      expect(mail.text).toContain('Sign-in');
      expect(mail.text).not.toMatch(/&amp;|&lt;|&#/);
      expect(mail.html).toMatch(/^<!doctype html>/i);
      expect(mail.html).toContain(`<title>${mail.subject}</title>`);
      expect(mail.html).not.toMatch(/<script|<link|<img|<style|src=|url\(/i);
    });

    it('email-change-confirm carries the link once in the text, with its lifetime', () => {
      const mail = render('email-change-confirm', mailFixtures['email-change-confirm']);
      expect(findLinks(mail.text)).toEqual(['https://id.example/account/email/confirm?token=t&lang=de']);
      expect(mail.text).toContain('24 hours');
      expect(mail.html).toContain('href="https://id.example/account/email/confirm?token=t&amp;lang=de"');
    });

    it('email-changed names the new address and what to do if it was not them; a malformed address is a bug, not a mail', () => {
      const mail = render('email-changed', mailFixtures['email-changed']);
      expect(mail.text).toContain('new@example.com');
      expect(mail.text).toMatch(/June 4, 2026/);
      expect(mail.text).toMatch(/contact your administrator/);
      expect(() => render('email-changed', { email: 'a\r\nb', when: 0 })).toThrow(TypeError);
    });

    it('password-changed says which sessions ended: all after a reset, the others, or none', () => {
      expect(render('password-changed', { when: 0 }).text).toMatch(/Every session was signed out/);
      expect(render('password-changed', { when: 0, sessions: 'others' }).text).toMatch(/Every other session was signed out/);
      expect(render('password-changed', { when: 0, sessions: 'none' }).text).toMatch(/stay signed in/);
    });
  });
});
