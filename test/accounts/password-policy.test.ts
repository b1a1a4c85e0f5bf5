import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPasswordPolicy } from '../../src/accounts/password-policy.ts';

const listFile = new URL('../../lists/common-passwords.txt', import.meta.url);

// Scratch list files for the tests that pass listPath.
const dir = mkdtempSync(join(tmpdir(), 'idp-password-policy-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let listCount = 0;
function writeList(entries: string[]): string {
  const path = join(dir, `list-${listCount++}.txt`);
  writeFileSync(path, entries.map((entry) => `${entry}\n`).join(''));
  return path;
}

describe('common password list (lists/common-passwords.txt)', () => {
  const text = readFileSync(listFile, 'utf8');
  const lines = text.split('\n').slice(0, -1); // the file ends with a newline

  it('has exactly 10,000 lowercase, distinct, non-blank lines ending in a newline', () => {
    expect(text.endsWith('\n')).toBe(true);
    expect(lines).toHaveLength(10_000);
    expect(lines.filter((line) => line.trim() === '' || line !== line.trim())).toEqual([]);
    expect(lines.filter((line) => line !== line.toLowerCase())).toEqual([]);
    expect(new Set(lines).size).toBe(10_000);
  });

  it('is in rank order, most common first', () => {
    expect(lines.slice(0, 4)).toEqual(['123456', 'password', '12345678', 'qwerty']);
  });

  it('does not contain passwords that other tests and the demo rely on', () => {
    const used = ['correct horse battery staple', 'bobs password 123', 'kept-password', 'demo-password-123', 'another password', 'a long passphrase', 'another passphrase'];
    const list = new Set(lines);
    expect(used.filter((password) => list.has(password.toLowerCase()))).toEqual([]);
    const policy = createPasswordPolicy();
    for (const password of used) expect(policy.check(password)).toEqual({ ok: true });
  });
});

describe('password policy', () => {
  const policy = createPasswordPolicy();

  it('defaults to 8 to 256 characters', () => {
    expect(policy.minLength).toBe(8);
    expect(policy.maxLength).toBe(256);
  });

  it('rejects 7 characters and accepts 8', () => {
    expect(policy.check('tr0ub4d')).toEqual({ ok: false, code: 'password.too_short', message: 'Use at least 8 characters.' });
    expect(policy.check('tr0ub4d&')).toEqual({ ok: true });
  });

  it('accepts 64- and 256-character passphrases and rejects 257 characters', () => {
    const phrase = (length: number) => 'correct horse battery staple '.repeat(10).slice(0, length);
    expect(policy.check(phrase(64))).toEqual({ ok: true });
    expect(policy.check(phrase(256))).toEqual({ ok: true });
    expect(policy.check(phrase(257))).toEqual({ ok: false, code: 'password.too_long', message: 'Use at most 256 characters.' });
  });

  it('counts code points, not UTF-16 units or bytes', () => {
    expect('🔑'.repeat(8).length).toBe(16); // two UTF-16 units each
    expect(policy.check('🔑'.repeat(8))).toEqual({ ok: true });
    expect(policy.check('🔑'.repeat(7))).toMatchObject({ ok: false, code: 'password.too_short' });
    expect(policy.check('🔑'.repeat(256))).toEqual({ ok: true }); // 512 units, 1024 bytes
    expect(policy.check('🔑'.repeat(257))).toMatchObject({ ok: false, code: 'password.too_long' });
    expect(policy.check('pässwörd')).toEqual({ ok: true }); // 8 code points, 10 UTF-8 bytes
  });

  it('has no composition rules', () => {
    expect(policy.check('lowercase letters only')).toEqual({ ok: true });
    expect(policy.check('9314728560')).toEqual({ ok: true });
  });

  it('uses the password as typed: surrounding spaces count and are not trimmed', () => {
    expect(policy.check('  abc   ')).toEqual({ ok: true }); // 8 code points including the spaces
    expect(policy.check(' abc   ')).toMatchObject({ code: 'password.too_short' });
  });

  it('rejects common passwords in any case', () => {
    const common = { ok: false, code: 'password.common', message: 'This password is one of the most common passwords; choose one that is harder to guess.' };
    for (const password of ['password', 'Password1', 'PASSWORD1', 'QWERTY123', 'qwerty123', 'Passw0rd', 'iloveyou', 'TrustNo1', 'password123', 'Welcome1']) {
      expect(policy.check(password), password).toEqual(common);
    }
  });

  it('rejects a password equal to the email, ignoring case and surrounding spaces of the email', () => {
    const equals = { ok: false, code: 'password.equals_email', message: 'Your password must not be your email address.' };
    expect(policy.check('Grace@Example.com', { email: 'grace@example.com' })).toEqual(equals);
    expect(policy.check('grace@example.com', { email: '  GRACE@example.COM ' })).toEqual(equals);
    expect(policy.check('grace@example.com', { email: 'ada@example.com' })).toEqual({ ok: true });
    expect(policy.check('grace@example.com', { email: null })).toEqual({ ok: true });
    expect(policy.check('grace@example.com', {})).toEqual({ ok: true });
  });

  it('checks in order: too short, too long, equals email, common', () => {
    expect(policy.check('a@b.io', { email: 'a@b.io' })).toMatchObject({ code: 'password.too_short' });
    expect(policy.check('x'.repeat(255) + '@b.io', { email: 'x'.repeat(255) + '@b.io' })).toMatchObject({ code: 'password.too_long' });
    // An email that is also a common password reports the email problem.
    const emailPolicy = createPasswordPolicy({ listPath: writeList(['me@example.com']) });
    expect(emailPolicy.check('me@example.com', { email: 'me@example.com' })).toMatchObject({ code: 'password.equals_email' });
    expect(emailPolicy.check('me@example.com')).toMatchObject({ code: 'password.common' });
  });

  it('applies a longer minLength', () => {
    const strict = createPasswordPolicy({ minLength: 12 });
    expect(strict.minLength).toBe(12);
    expect(strict.check('elevenchars')).toEqual({ ok: false, code: 'password.too_short', message: 'Use at least 12 characters.' });
    expect(strict.check('twelve chars')).toEqual({ ok: true });
  });

  it('accepts minLength from 8 to 64 and throws outside it', () => {
    expect(createPasswordPolicy({ minLength: 8 }).minLength).toBe(8);
    expect(createPasswordPolicy({ minLength: 64 }).check('x'.repeat(64))).toEqual({ ok: true });
    for (const minLength of [7, 0, -1, 65, 8.5, Number.NaN]) {
      expect(() => createPasswordPolicy({ minLength }), String(minLength)).toThrow(/minLength/);
    }
  });
});

describe('password list loading', () => {
  it('uses a list from listPath, ignoring blank lines and CRLF endings', () => {
    const path = join(dir, 'crlf.txt');
    writeFileSync(path, 'Hunter2hunter2\r\n\r\nsecond-entry\r\n');
    const custom = createPasswordPolicy({ listPath: path });
    expect(custom.check('hunter2HUNTER2')).toMatchObject({ code: 'password.common' });
    expect(custom.check('second-entry')).toMatchObject({ code: 'password.common' });
    expect(custom.check('password')).toEqual({ ok: true }); // only this list applies
  });

  it('reads each list file once per process', () => {
    const path = writeList(['first-version']);
    expect(createPasswordPolicy({ listPath: path }).check('first-version')).toMatchObject({ code: 'password.common' });
    writeFileSync(path, 'second-version\n');
    const again = createPasswordPolicy({ listPath: path });
    expect(again.check('first-version')).toMatchObject({ code: 'password.common' });
    expect(again.check('second-version')).toEqual({ ok: true });
  });

  it('throws when the list file is missing', () => {
    expect(() => createPasswordPolicy({ listPath: join(dir, 'missing.txt') })).toThrow(/ENOENT/);
  });
});

