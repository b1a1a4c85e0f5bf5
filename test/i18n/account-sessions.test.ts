import { readdirSync } from 'node:fs';
import { renderStrict } from './render-strict.ts';
import { describe, expect, it } from 'vitest';
import { builtinLocalesDir, createCatalogue } from '../../src/i18n/catalogue.ts';

/*
 * The security page's recent activity, the devices page and the connected-apps page of the
 * account console (views/account/security.ejs, sessions.ejs, apps.ejs) render in every shipped
 * language with no message missing: strict catalogue, no English fallback. Each fixture takes a
 * different branch; the words the handlers pick themselves (events, reasons, notices) are looked up too.
 */

const shipped = readdirSync(builtinLocalesDir).filter((file) => file.endsWith('.json')).map((file) => file.slice(0, -5)).sort();

const when = { text: '2 Jun 2026, 09:00 UTC', iso: '2026-06-02T09:00:00.000Z' };
const security = { email: 'a@b.example', apps: [], passkeys: [], hasFactor: false, codesLeft: 0, fresh: true, reauthMinutes: 1, notice: null };
const session = { uid: 'abc', current: true, browser: 'Firefox 128 on Linux', ip: '127.0.0.1', firstUsed: when, lastUsed: when, apps: ['Web App'] };
const client = { id: 'web-app', name: 'Web App', logoUri: 'https://app.example/logo.png', policyUri: null, tosUri: null, homeUri: null, initiateLoginUri: null };
const app = {
  clientId: 'web-app', client, grantedAt: '2 Jun 2026', lastUsed: '3 Jun 2026', remembered: true,
  scopes: [{ scope: 'openid', text: 'x', withdrawable: false }, { scope: 'email', text: 'y', withdrawable: true }],
  resources: [{ indicator: 'https://api.example/', name: 'Reports', scopes: ['read:reports'] }, { indicator: 'https://other.example/', name: null, scopes: ['write'] }],
};
const list = (items: string[]) => items.join(', ');

const fixtures: Array<[string, string, Record<string, unknown>]> = [
  ['account/security', 'security.title', { ...security, activity: [
    { text: 'x', failure: true, when, ip: '127.0.0.1', browser: 'Chrome 130 on Android' },
    { text: 'y', failure: false, when, ip: null, browser: null },
  ] }],
  ['account/security', 'security.title', { ...security, activity: [] }],
  ['account/sessions', 'account.sessions.title', { sessions: [session, { ...session, current: false, ip: null, lastUsed: null, apps: [] }, { ...session, current: false, firstUsed: null }], list, others: true, notice: 'x' }],
  ['account/sessions', 'account.sessions.title', { sessions: [session], list, others: false, notice: null }],
  ['account/sessions', 'account.sessions.title', { sessions: [], list, others: false, notice: null }],
  ['account/apps', 'account.apps.title', { apps: [app, { ...app, client: { ...client, logoUri: null }, grantedAt: null, remembered: false, scopes: [], resources: [] }], notice: 'x' }],
  ['account/apps', 'account.apps.title', { apps: [{ ...app, lastUsed: null }], notice: null }],
  ['account/apps', 'account.apps.title', { apps: [], notice: null }],
];

const events = [
  'login_succeeded', 'login_succeeded_passkey', 'login_succeeded_second_step', 'login_failed', 'account_locked', 'account_registered',
  'account_registration_attempted', 'email_verification_sent', 'email_verified', 'password_reset_requested', 'password_reset_completed',
  'password_changed', 'account_disabled', 'account_enabled', 'token_replay_detected', 'federation_signed_in', 'federation_account_created',
  'federation_linked', 'federation_unlinked', 'federation_refused', 'federation_failed', 'mfa_failed', 'mfa_reset', 'mfa_enrolled', 'mfa_removed',
  'mfa_renamed', 'mfa_recovery_codes_generated', 'session_revoked', 'grant_scope_withdrawn', 'grant_revoked',
  'profile_updated', 'email_change_requested', 'email_change_attempted', 'email_changed', 'account_exported', 'other',
];
const reasons = ['bad_password', 'no_password', 'locked', 'account_limit', 'ip_limit', 'email_unverified', 'disabled', 'invalid', 'factor_limit', 'passkey'];
const handlerKeys = [
  ...events.map((event) => `account.activity.events.${event}`), ...reasons.map((reason) => `account.activity.reasons.${reason}`), 'account.activity.with_reason',
  'account.sessions.browser_on', 'account.sessions.unknown_browser', 'account.sessions.done.ended', 'account.sessions.done.ended_others',
  'account.sessions.signed_out_title', 'account.sessions.signed_out', 'account.sessions.sign_in_again',
  'account.apps.done.scope_withdrawn', 'account.apps.done.removed',
];

describe('the activity, devices and connected-apps pages', () => {
  describe.each(shipped)('%s', (locale) => {
    it('renders every page with no message missing', () => {
      const { t, missing } = renderStrict(locale, fixtures, { path: '/account/sessions', data: { consoleSections: ['/account/security', '/account/sessions', '/account/apps'] } });
      for (const key of handlerKeys) t(key, { event: 'e', reason: 'r', browser: 'b', os: 'o' });
      expect(missing).toEqual([]);
    });

    it('has words of its own for every event and reason, not the English ones', () => {
      if (locale === 'en') return;
      const catalogue = createCatalogue({ strict: true });
      const english = catalogue.t('en');
      const own = catalogue.t(locale);
      const same = handlerKeys.filter((key) => key !== 'account.activity.with_reason' && own(key, { event: 'e', reason: 'r', browser: 'b', os: 'o' }) === english(key, { event: 'e', reason: 'r', browser: 'b', os: 'o' }));
      expect(same).toEqual([]);
    });
  });
});
