import { readdirSync } from 'node:fs';
import { renderStrict } from './render-strict.ts';
import { describe, expect, it } from 'vitest';
import { builtinLocalesDir } from '../../src/i18n/catalogue.ts';
import { viewsDir } from '../../src/pages/render.ts';

/*
 * The linked-accounts and your-data pages of the account console (views/account/linked*.ejs,
 * views/account/data*.ejs) render in every shipped language with no message missing: strict
 * catalogue, no English fallback. Each fixture takes a different branch of its page; the words
 * the handlers pick themselves (notices, failures, refusals) are looked up too.
 */

const shipped = readdirSync(builtinLocalesDir).filter((file) => file.endsWith('.json')).map((file) => file.slice(0, -5)).sort();

const identity = { upstreamId: 'google', name: 'Google', email: 'ada@gmail.example', linked: '2 Jun 2026', lastUsed: '3 Jun 2026', signsIn: true };
const available = [{ id: 'github', kind: 'github', name: 'GitHub' }];

const fixtures: Array<[string, string, Record<string, unknown>]> = [
  ['account/linked', 'account.linked.title', { identities: [identity, { ...identity, upstreamId: 'corp', name: 'corp', email: null, signsIn: false }], available, fresh: false, reauthMinutes: 5, notice: 'x', problem: null }],
  ['account/linked', 'account.linked.title', { identities: [], available, fresh: true, reauthMinutes: 1, notice: null, problem: 'x' }],
  ['account/linked', 'account.linked.title', { identities: [], available: [], fresh: false, reauthMinutes: 1, notice: null, problem: null }],
  ['account/linked', 'account.linked.title', { identities: [identity], available: [], fresh: true, reauthMinutes: 5, notice: null, problem: null }],
  ['account/linked-unlink', 'account.linked.unlink.title', { upstreamId: 'google', name: 'Google', email: 'ada@gmail.example', refused: false }],
  ['account/linked-unlink', 'account.linked.unlink.title', { upstreamId: 'google', name: 'Google', email: null, refused: false }],
  ['account/linked-unlink', 'account.linked.unlink.title', { upstreamId: 'google', name: 'Google', email: null, refused: true }],
  ['account/data', 'account.data.title', { email: 'a@b.example', fresh: true, reauthMinutes: 5 }],
  ['account/data', 'account.data.title', { email: 'a@b.example', fresh: false, reauthMinutes: 1 }],
  ['account/data-delete', 'account.data.delete.title', { email: 'a@b.example', typed: '', problem: null }],
  ['account/data-delete', 'account.data.delete.title', { email: 'a@b.example', typed: 'x', problem: 'x' }],
  ['account/data-deleted', 'account.data.deleted.title', {}],
];

const handlerKeys = [
  'account.linked.done.linked', 'account.linked.done.already', 'account.linked.done.unlinked',
  ...['denied', 'upstream_error', 'unreachable', 'token_rejected', 'invalid_response', 'expired', 'linked_elsewhere', 'upstream_taken'].map((reason) => `account.linked.failed.${reason}`),
  'account.data.delete.missing', 'account.data.delete.mismatch',
];

describe('the linked-accounts and your-data pages', () => {
  it('has a fixture for each of their views', () => {
    const views = readdirSync(`${viewsDir}account`).filter((file) => /^(linked|data)/.test(file) && file.endsWith('.ejs')).map((file) => `account/${file.slice(0, -4)}`);
    expect(views.length).toBeGreaterThanOrEqual(5);
    for (const view of views) expect(fixtures.some(([name]) => name === view), `a fixture for views/${view}.ejs`).toBe(true);
  });

  describe.each(shipped)('%s', (locale) => {
    it('renders every page with no message missing', () => {
      const { t, missing } = renderStrict(locale, fixtures, { path: '/account/linked', data: { consoleSections: ['/account/security', '/account/linked', '/account/data'] } });
      for (const key of handlerKeys) t(key, { name: 'Google' });
      expect(missing).toEqual([]);
    });
  });
});
