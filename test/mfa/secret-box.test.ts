import { describe, expect, it } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import { createSecretBox, MfaSecretError, parseSecretKey, type MfaSecretErrorCode } from '../../src/mfa/secret-box.ts';

const newKey = (): string => randomBytes(32).toString('base64');
const keyIdOf = (key: string): string => createHash('sha256').update(Buffer.from(key, 'base64')).digest('hex').slice(0, 8);

function expectSecretError(action: () => unknown, code: MfaSecretErrorCode): void {
  let caught: unknown;
  try {
    action();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(MfaSecretError);
  expect((caught as MfaSecretError).code).toBe(code);
}

/** Flips one bit of the decoded bytes of part `index` (2 iv, 3 ciphertext, 4 tag). */
function tamper(sealed: string, index: number): string {
  const parts = sealed.split('.');
  const bytes = Buffer.from(parts[index]!, 'base64url');
  bytes[0]! ^= 1;
  parts[index] = bytes.toString('base64url');
  return parts.join('.');
}

/** A key whose id has a letter in it, so the uppercase-id case below always changes the value (an all-digit id happens 1 time in 43). */
function keyWithLetterInId(): string {
  for (;;) {
    const candidate = newKey();
    if (/[a-f]/.test(keyIdOf(candidate))) return candidate;
  }
}

describe('secret box', () => {
  const key = keyWithLetterInId();
  const box = createSecretBox([key]);

  it('opens what it sealed, in the v1 format under the key id', () => {
    const sealed = box.seal('JBSWY3DPEHPK3PXP', 'factor:1');
    expect(sealed).toMatch(/^v1\.[0-9a-f]{8}\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{22}$/);
    expect(sealed.split('.')[1]).toBe(keyIdOf(key));
    expect(sealed).not.toContain('JBSWY3DPEHPK3PXP');
    expect(box.open(sealed, 'factor:1')).toBe('JBSWY3DPEHPK3PXP');
  });

  it('round-trips empty and non-ASCII plaintext', () => {
    expect(box.open(box.seal('', 'c'), 'c')).toBe('');
    expect(box.open(box.seal('clé 🔑', 'c'), 'c')).toBe('clé 🔑');
  });

  it('uses a fresh IV each time', () => {
    const a = box.seal('same', 'c');
    const b = box.seal('same', 'c');
    expect(a).not.toBe(b);
    expect(a.split('.')[2]).not.toBe(b.split('.')[2]);
  });

  it('accepts base64url keys without padding', () => {
    const raw = randomBytes(32);
    const urlBox = createSecretBox([raw.toString('base64url')]);
    const sealed = urlBox.seal('x', 'c');
    expect(createSecretBox([raw.toString('base64')]).open(sealed, 'c')).toBe('x');
  });

  describe('rotation', () => {
    const oldKey = newKey();
    const newerKey = newKey();
    const oldBox = createSecretBox([oldKey]);
    const rotated = createSecretBox([newerKey, oldKey]);

    it('still opens values sealed under the old key', () => {
      expect(rotated.open(oldBox.seal('seed', 'factor:7'), 'factor:7')).toBe('seed');
    });

    it('seals with the first key', () => {
      const sealed = rotated.seal('seed', 'factor:7');
      expect(sealed.split('.')[1]).toBe(keyIdOf(newerKey));
      expect(createSecretBox([newerKey]).open(sealed, 'factor:7')).toBe('seed');
    });

    it('cannot open values sealed under a key that was removed', () => {
      const sealed = oldBox.seal('seed', 'factor:7');
      expectSecretError(() => createSecretBox([newerKey]).open(sealed, 'factor:7'), 'mfa.sealed_unknown_key');
    });
  });

  it('refuses another context (a value moved to another row)', () => {
    const sealed = box.seal('seed', 'factor:1');
    expectSecretError(() => box.open(sealed, 'factor:2'), 'mfa.sealed_unauthentic');
    expectSecretError(() => box.open(sealed, ''), 'mfa.sealed_unauthentic');
  });

  it.each([
    [2, 'iv'],
    [3, 'ciphertext'],
    [4, 'tag'],
  ])('refuses a tampered %s (part %i)', (index) => {
    const sealed = box.seal('seed', 'factor:1');
    expectSecretError(() => box.open(tamper(sealed, index), 'factor:1'), 'mfa.sealed_unauthentic');
  });

  it('refuses a value relabelled with another configured key id', () => {
    const other = newKey();
    const both = createSecretBox([key, other]);
    const parts = both.seal('seed', 'c').split('.');
    parts[1] = keyIdOf(other);
    expectSecretError(() => both.open(parts.join('.'), 'c'), 'mfa.sealed_unauthentic');
  });

  it('refuses an unknown key id', () => {
    const sealed = createSecretBox([newKey()]).seal('seed', 'c');
    expectSecretError(() => box.open(sealed, 'c'), 'mfa.sealed_unknown_key');
  });

  it.each([
    ['empty', () => ''],
    ['not sealed', () => 'JBSWY3DPEHPK3PXP'],
    ['another version', (s: string) => s.replace(/^v1/, 'v2')],
    ['a part missing', (s: string) => s.split('.').slice(0, 4).join('.')],
    ['a part too many', (s: string) => `${s}.AAAA`],
    ['a truncated tag', (s: string) => s.replace(/\.[^.]+$/, `.${randomBytes(12).toString('base64url')}`)],
    ['a short IV', (s: string) => s.split('.').map((p, i) => (i === 2 ? 'AAAA' : p)).join('.')],
    ['non-base64url characters', (s: string) => s.replace(/\.([^.]+)$/, '.+$1')],
    ['an uppercase key id', (s: string) => s.replace(/^v1\.([0-9a-f]{8})/, (_, id: string) => `v1.${id.toUpperCase()}`)],
  ])('refuses %s as malformed', (_name, mangle) => {
    const sealed = box.seal('seed', 'c');
    const mangled = mangle(sealed);
    expect(mangled).not.toBe(sealed);
    expectSecretError(() => box.open(mangled, 'c'), 'mfa.sealed_malformed');
  });

  it('refuses to start without keys, with a bad key, or with a repeated key', () => {
    expectSecretError(() => createSecretBox([]), 'mfa.key_invalid');
    expect(() => createSecretBox([key, 'short'])).toThrow(/^\[1\] must be 32 bytes/);
    expect(() => createSecretBox([key, Buffer.from(key, 'base64').toString('base64url')])).toThrow(/\[1\] repeats/);
  });
});

describe('parseSecretKey', () => {
  it('returns the 32 key bytes from base64 or base64url', () => {
    const raw = randomBytes(32);
    expect(parseSecretKey(raw.toString('base64')).equals(raw)).toBe(true);
    expect(parseSecretKey(raw.toString('base64url')).equals(raw)).toBe(true);
    expect(parseSecretKey(`${raw.toString('base64')}\n`).equals(raw)).toBe(true);
  });

  it.each([
    ['16 bytes', randomBytes(16).toString('base64'), /got 16 bytes/],
    ['33 bytes', randomBytes(33).toString('base64'), /got 33 bytes/],
    ['a 64-character hex key (48 bytes as base64)', randomBytes(32).toString('hex'), /got 48 bytes/],
    ['empty', '', /must be 32 bytes/],
    ['not base64', `${randomBytes(32).toString('base64').slice(0, 40)}!!!!`, /must be 32 bytes, base64:/],
    ['base64 with a space inside', `${randomBytes(32).toString('base64').slice(0, 20)} ${randomBytes(32).toString('base64').slice(20)}`, /base64:/],
  ])('refuses %s, saying how to make one', (_name, value, detail) => {
    let caught: unknown;
    try {
      parseSecretKey(value);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(MfaSecretError);
    expect((caught as MfaSecretError).code).toBe('mfa.key_invalid');
    expect((caught as Error).message).toMatch(detail);
    expect((caught as Error).message).toContain('openssl rand -base64 32');
    if (value) expect((caught as Error).message).not.toContain(value.trim());
  });
});
