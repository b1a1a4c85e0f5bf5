import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { builtinLocalesDir, createCatalogue } from '../../src/i18n/catalogue.ts';
import { createPages, viewsDir } from '../../src/pages/render.ts';
import { createMailRenderer, mailTemplates } from '../../src/mail/templates.ts';
import { errorCodes } from '../../src/error-codes.ts';
import { fakeContext } from './fake-context.ts';

/*
 * Every shipped language is complete: the same messages as English (each plural form its
 * language needs), and every page and mail renders in it without one message missing. The
 * catalogue runs strict here (no English fallback), so a missing message cannot hide behind
 * English.
 */

const shipped = readdirSync(builtinLocalesDir).filter((file) => file.endsWith('.json')).map((file) => file.slice(0, -5)).sort();
const PLURAL = /_(zero|one|two|few|many|other)$/;

type Messages = { [key: string]: string | Messages };
function flatten(messages: Messages, prefix = ''): Map<string, string> {
  const out = new Map<string, string>();
  for (const [key, value] of Object.entries(messages)) {
    if (typeof value === 'string') out.set(`${prefix}${key}`, value);
    else for (const [inner, text] of flatten(value, `${prefix}${key}.`)) out.set(inner, text);
  }
  return out;
}
const load = (locale: string) => flatten(JSON.parse(readFileSync(`${builtinLocalesDir}${locale}.json`, 'utf8')) as Messages);
const base = (key: string) => key.replace(PLURAL, '');
const placeholders = (text: string) => [...text.matchAll(/\{\{(\w+)\}\}/g)].map((match) => match[1]).sort();

const client = { id: 'app', name: 'Example App', logoUri: 'https://app.example/logo.png', policyUri: 'https://app.example/privacy', tosUri: 'https://app.example/terms', homeUri: null, initiateLoginUri: null };
const step = { uid: 'uid-123456789', csrf: 'csrf', client, clientId: 'app' };

/** Every page with data that shows each of its branches. */
const pageFixtures: Array<[string, Record<string, unknown>]> = [
  ['home', {}],
  ['not-found', {}],
  ['login', { ...step, upstreams: [{ id: 'google', kind: 'google', displayName: 'Google' }], registrationEnabled: true, email: 'a@b.example', error: 'x', errorField: 'email' }],
  ['consent', { ...step, scopes: [{ scope: 'openid', text: 'x' }], resources: [{ indicator: 'https://api.example', scopes: ['read', 'write'] }], list: (items: string[]) => items.join(', ') }],
  ['register', { ...step, minLength: 8, email: '', name: '', problem: { field: 'password', message: 'x' } }],
  ['register', { ...step, minLength: 1, email: '', name: '', problem: null }],
  ['check-email', { ...step, email: 'a@b.example', after: 'registered' }],
  ['check-email', { ...step, email: 'a@b.example', after: 'reset' }],
  ['check-email', { ...step, email: 'a@b.example', after: 'resent' }],
  ['forgot-password', { ...step, email: '', problem: 'x' }],
  ['verify-required', { ...step, email: 'a@b.example' }],
  ['link-account', { ...step, email: 'a@b.example', upstreamName: 'Google', hasPassword: true, error: 'x' }],
  ['link-account', { ...step, email: 'a@b.example', upstreamName: 'Google', hasPassword: false, error: null }],
  ['verify-email', { token: 't', csrf: 'c', interaction: '', clientId: '' }],
  ['reset-password', { token: 't', csrf: 'c', interaction: '', clientId: '', email: 'a@b.example', minLength: 8, problem: { field: 'password', message: 'x' } }],
  ['logout', { form: '', clientName: 'Example App' }],
  ['logout', { form: '', clientName: null }],
  ['logged-out', { clientName: 'Example App', clientHome: 'https://app.example/' }],
  ['logged-out', { clientName: null, clientHome: null }],
  ['second-factor', { ...step, problem: 'x', method: 'totp', methods: ['totp', 'recovery', 'passkey'], offerTrust: true, trustDays: 30 }],
  ['second-factor', { ...step, problem: null, method: 'recovery', methods: ['recovery', 'totp'], offerTrust: false, trustDays: 0 }],
  ['second-factor', { ...step, problem: null, method: 'passkey', methods: ['passkey', 'totp'], offerTrust: true, trustDays: 1 }],
  ['passkey-required', { ...step }],
  ['recovery-used', { ...step, left: 1, returnTo: '/auth/x' }],
  ['recovery-used', { ...step, left: 0, returnTo: '/auth/x' }],
  ['enrol', { ...step, passkeyOnly: false }],
  ['enrol', { ...step, passkeyOnly: true }],
  ['enrol-totp', { ...step, enrol: { action: '/interaction/u/enrol/totp/confirm', csrf: 'c', hidden: [], qr: 'data:image/svg+xml;base64,AA', uri: 'otpauth://totp/x', secret: 'JBSWY3DPEHPK3PXP', name: null, problem: 'x', problemField: 'code', submitLabel: 'Confirm' } }],
  ['enrol-done', { ...step, recovery: { codes: ['aaaa-bbbb', 'cccc-dddd'], continue: { action: '/interaction/u/enrol/done', csrf: 'c', hidden: [] }, continueLabel: 'Continue' } }],
  ['enrol-done', { ...step, recovery: null }],
  ['notice', { title: 'x', text: 'y', action: null, hint: 'z' }],
  ['error', { title: 'x', text: 'y', code: 'server_error', detail: null, requestId: 'r', action: null }],
  ['form-post', { title: 'x', signingOut: true, clientName: null, action: '/session/end/confirm', fields: [{ name: 'xsrf', value: 'v' }] }],
  ['form-post', { title: 'x', signingOut: false, clientName: 'Example App', action: 'https://app.example/cb', fields: [] }],
  ['device-code', { title: 'x', action: '/device', xsrf: 'x', userCode: 'bcdf ghjk', problem: 'x' }],
  ['device-code', { title: 'x', action: '/device', xsrf: 'x', userCode: '', problem: null }],
  ['device-confirm', { title: 'x', client, userCode: 'BCDF-GHJK', scopes: [{ scope: 'openid', text: 'x' }], requestedFrom: { address: '203.0.113.5', device: 'x' }, action: '/device', xsrf: 'x' }],
  ['device-confirm', { title: 'x', client, userCode: 'BCDF-GHJK', scopes: [], requestedFrom: null, action: '/device', xsrf: 'x' }],
  ['device-done', { title: 'x', outcome: 'approved', clientName: 'Example App' }],
  ['device-done', { title: 'x', outcome: 'approved', clientName: null }],
  ['device-done', { title: 'x', outcome: 'denied', clientName: null }],
];

const mailFixtures = {
  'verify-email': { name: 'Ada', link: 'https://id.example/account/verify-email?token=t', expiresInSeconds: 86_400 },
  'reset-password': { link: 'https://id.example/account/reset-password?token=t', expiresInSeconds: 1800 },
  'registration-attempt': { loginUrl: 'https://id.example/' },
  'password-changed': { when: Date.UTC(2025, 2, 4, 10, 20) },
} as const;

describe('the message catalogue', () => {
  it('answers a message asked for by key alone from memory, and still interpolates and pluralises per call', () => {
    const t = createCatalogue().t('en');
    expect(t('layout.languages')).toBe('Language');
    expect(t('layout.languages')).toBe('Language');
    expect(t('client.about', { client: 'Acme' })).toBe('About Acme:');
    expect(t('client.about', { client: 'Beta' })).toBe('About Beta:');
    expect(t('register.password_hint', { count: 1 })).toMatch(/^At least 1 character\./);
    expect(t('register.password_hint', { count: 12 })).toMatch(/^At least 12 characters\./);
    // Each language its own.
    expect(createCatalogue().t('de')('layout.languages')).not.toBe('Language');
  });

  it('reports a missing message on every call when someone listens, not only the first', () => {
    const missing: string[] = [];
    const t = createCatalogue({ onMissing: (lng, key) => missing.push(`${lng}: ${key}`) }).t('en');
    t('no.such.message');
    t('no.such.message');
    expect(missing).toEqual(['en: no.such.message', 'en: no.such.message']);
  });

  it('gives each language its writing direction', () => {
    const catalogue = createCatalogue();
    expect(catalogue.direction('en')).toBe('ltr');
    expect(catalogue.direction('ar')).toBe('rtl');
  });

  const english = load('en');

  it('ships English, German, French, Spanish and Japanese', () => {
    expect(shipped).toEqual(expect.arrayContaining(['de', 'en', 'es', 'fr', 'ja']));
  });

  it('has every message the error table and the pages name, in English', () => {
    for (const { key } of Object.values(errorCodes)) {
      expect(english.has(`${key}.title`), `${key}.title`).toBe(true);
      expect(english.has(`${key}.text`), `${key}.text`).toBe(true);
    }
    const views = readdirSync(viewsDir).filter((file) => file.endsWith('.ejs') && file !== 'layout.ejs').map((file) => file.slice(0, -4));
    for (const view of views) expect(pageFixtures.some(([name]) => name === view), `a fixture for views/${view}.ejs`).toBe(true);
  });

  describe.each(shipped.filter((locale) => locale !== 'en'))('%s', (locale) => {
    const messages = load(locale);

    it('has exactly the English messages, each plural form its language needs, the same placeholders', () => {
      const bases = (map: Map<string, string>) => [...new Set([...map.keys()].map(base))].sort();
      expect(bases(messages)).toEqual(bases(english));
      const categories = new Intl.PluralRules(locale).resolvedOptions().pluralCategories.filter((category) => category !== 'zero' || locale === 'ar');
      for (const key of new Set([...english.keys()].filter((name) => PLURAL.test(name)).map(base))) {
        for (const category of categories) expect(messages.has(`${key}_${category}`), `${locale}: ${key}_${category}`).toBe(true);
      }
      for (const [key, text] of english) {
        const translated = messages.get(key) ?? messages.get(`${base(key)}_other`);
        expect(translated, `${locale}: ${key}`).toBeTruthy();
        // Plural forms may leave the count out ("one item"); every other placeholder stays.
        const wanted = placeholders(text).filter((name) => !(PLURAL.test(key) && name === 'count'));
        for (const name of wanted) expect(placeholders(translated!), `${locale}: ${key} keeps {{${name}}}`).toContain(name);
      }
    });

    it('renders every page and every mail with no message missing', () => {
      const missing: string[] = [];
      const catalogue = createCatalogue({ strict: true, onMissing: (lng, key) => missing.push(`${lng}: ${key}`) });
      const pages = createPages({ brand: { name: 'Acme ID' }, catalogue });
      for (const [view, data] of pageFixtures) {
        const ctx = fakeContext({ lang: locale });
        pages.render(ctx, view, data);
        expect(ctx.body).toContain(`<html lang="${locale}"`);
        expect(ctx.headers.get('content-language')).toBe(locale);
      }
      const t = catalogue.t(locale);
      for (const { key } of Object.values(errorCodes)) for (const part of ['title', 'text']) t(`${key}.${part}`, { name: 'Google', wait: '1', count: 1 });
      for (const scope of ['openid', 'profile', 'email', 'roles', 'offline_access', 'other']) t(`scopes.${scope}`, { scope: 'x' });
      for (const problem of ['email.invalid', 'name.too_long', 'password.too_short', 'password.too_long', 'password.equals_email', 'password.common']) {
        for (const count of [1, 8]) t(`problems.${problem}`, { count });
      }
      const mail = createMailRenderer({ productName: 'Acme ID', catalogue });
      for (const template of mailTemplates) {
        const rendered = mail(template, mailFixtures[template], locale);
        expect(rendered.html).toContain(`<html lang="${locale}"`);
        expect(rendered.subject).not.toBe(createMailRenderer({ productName: 'Acme ID', catalogue }).call(null, template, mailFixtures[template], 'en').subject);
      }
      expect(missing).toEqual([]);
    });
  });
});
