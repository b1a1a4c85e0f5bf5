import { readdirSync, readFileSync } from 'node:fs';
import { renderStrict } from './render-strict.ts';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { builtinLocalesDir } from '../../src/i18n/catalogue.ts';
import { viewsDir } from '../../src/pages/render.ts';

/*
 * The account console's pages (views/account/, with the partials they share with the sign-in)
 * render in every shipped language with no message missing: strict catalogue, no English
 * fallback. Each fixture takes a different branch of its page.
 */

const shipped = readdirSync(builtinLocalesDir).filter((file) => file.endsWith('.json')).map((file) => file.slice(0, -5)).sort();

const factor = (kind: 'totp' | 'webauthn') => ({ id: '0b7e3c52-3f0e-4a8e-9d57-8c3c7f5d2a10', kind, name: 'Pixel 9', added: '2 Jun 2026', lastUsed: null as string | null, synced: kind === 'webauthn' ? true : null });
const enrol = { action: '/account/security/totp', csrf: 'c', hidden: [{ name: 'x', value: 'y' }], qr: 'data:image/png;base64,AA==', uri: 'otpauth://totp/x', secret: 'JBSWY3DPEHPK3PXPJBSWY3DP', submitLabel: 'Add' };
const codes = Array.from({ length: 10 }, (_, index) => `abcde-fgh${index}k`);

const fixtures: Array<[string, string, Record<string, unknown>]> = [
  ['account/security', 'security.title', {
    email: 'a@b.example', apps: [factor('totp'), { ...factor('totp'), lastUsed: '3 Jun 2026' }], passkeys: [factor('webauthn'), { ...factor('webauthn'), synced: false }, { ...factor('webauthn'), synced: null }],
    hasFactor: true, codesLeft: 1, fresh: false, reauthMinutes: 5, notice: 'x',
  }],
  ['account/security', 'security.title', { email: 'a@b.example', apps: [], passkeys: [], hasFactor: false, codesLeft: 0, fresh: true, reauthMinutes: 1, notice: null }],
  ['account/security', 'security.title', { email: 'a@b.example', apps: [factor('totp')], passkeys: [], hasFactor: true, codesLeft: 8, fresh: true, reauthMinutes: 5, notice: null }],
  ['account/totp', 'security.totp.title', { enrol: { ...enrol, name: '', problem: null, problemField: 'code' } }],
  ['account/totp', 'security.totp.title', { enrol: { ...enrol, name: 'x', problem: 'x', problemField: 'name' } }],
  ['account/totp', 'security.totp.title', { enrol: { ...enrol, name: null, problem: 'x', problemField: 'code' } }],
  ['account/recovery-codes', 'security.codes.shown_title', { recovery: { codes, continue: { href: '/account/security' }, continueLabel: 'x' } }],
  ['account/recovery-codes', 'security.codes.shown_title', { recovery: { codes, continue: { action: '/x', csrf: 'c', hidden: [{ name: 'a', value: 'b' }] }, continueLabel: 'x' } }],
  ['account/recovery-codes', 'security.codes.shown_title', { recovery: null }],
  ['account/recovery-new', 'security.codes.new_title', { codesLeft: 0 }],
  ['account/recovery-new', 'security.codes.new_title', { codesLeft: 1 }],
  ['account/recovery-new', 'security.codes.new_title', { codesLeft: 7 }],
  ['account/remove', 'security.remove.title', { factor: factor('totp'), last: true, refused: false }],
  ['account/remove', 'security.remove.title', { factor: factor('webauthn'), last: false, refused: false }],
  ['account/remove', 'security.remove.title', { factor: factor('totp'), last: true, refused: true }],
  ['account/remove', 'security.remove.title', { factor: factor('webauthn'), last: true, refused: 'last_way' }],
  ['account/passkey-new', 'security.passkeys.new_title', { name: '' }],
  ['account/passkey-rename', 'security.rename.title', { factor: factor('webauthn'), name: 'x', problem: 'x' }],
  ['account/passkey-rename', 'security.rename.title', { factor: factor('webauthn'), name: 'x', problem: null }],
];

describe('the account console pages', () => {
  it('has a fixture for every view in views/account, here or in another test/i18n/account-*.test.ts', () => {
    const views = readdirSync(`${viewsDir}account`).filter((file) => file.endsWith('.ejs')).map((file) => `account/${file.slice(0, -4)}`);
    // Each area of the console keeps its fixtures in a file of its own, as this one does.
    const here = dirname(fileURLToPath(import.meta.url));
    const elsewhere = readdirSync(here).filter((file) => /^account-.+\.test\.ts$/.test(file)).map((file) => readFileSync(join(here, file), 'utf8')).join('\n');
    for (const view of views) expect(fixtures.some(([name]) => name === view) || elsewhere.includes(`['${view}', `), `a fixture for views/${view}.ejs`).toBe(true);
  });

  describe.each(shipped)('%s', (locale) => {
    it('renders every page with no message missing', () => {
      const { t, missing } = renderStrict(locale, fixtures, { path: '/account/security' });
      // Words the handlers pick themselves (refusals, notices, defaults).
      for (const key of ['account.try_again', 'security.name_too_long', 'security.rename.empty', 'security.passkeys.needs_script_title', 'security.passkeys.needs_script',
        'security.passkeys.failed_expired', 'security.passkeys.failed_invalid', 'security.passkeys.failed_duplicate', 'security.passkeys.default_name',
        'security.totp.default_name', 'security.totp.expired', 'security.totp.invalid', 'security.totp.malformed', 'security.codes.saved',
        'security.done.app_added', 'security.done.passkey_added', 'security.done.renamed', 'security.done.removed']) t(key, { max: 64 });
      expect(missing).toEqual([]);
    });
  });
});
