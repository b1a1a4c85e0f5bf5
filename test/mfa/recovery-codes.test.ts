import { describe, expect, it } from 'vitest';
import { createHmac, randomBytes } from 'node:crypto';
import { hashRecoveryCode, newRecoveryCodes, normaliseRecoveryCode } from '../../src/mfa/recovery-codes.ts';

const ALPHABET = '23456789abcdefghjkmnpqrstuvwxyz';
const FORMAT = /^[23456789abcdefghjkmnpqrstuvwxyz]{5}-[23456789abcdefghjkmnpqrstuvwxyz]{5}$/;

describe('newRecoveryCodes', () => {
  it('makes ten distinct codes shown as xxxxx-xxxxx by default', () => {
    const codes = newRecoveryCodes();
    expect(codes).toHaveLength(10);
    expect(new Set(codes).size).toBe(10);
    for (const code of codes) expect(code).toMatch(FORMAT);
  });

  it('makes as many as asked', () => {
    expect(newRecoveryCodes(3)).toHaveLength(3);
    expect(newRecoveryCodes(1)).toHaveLength(1);
  });

  it('draws from all 31 symbols and none of 0, o, 1, i, l', () => {
    const chars = new Set(newRecoveryCodes(300).join('').replaceAll('-', ''));
    expect([...chars].sort().join('')).toBe(ALPHABET);
  });

  it('differs between calls', () => {
    expect(newRecoveryCodes()).not.toEqual(newRecoveryCodes());
  });

  it.each([0, -1, 1.5, Number.NaN])('refuses count %s', (count) => {
    expect(() => newRecoveryCodes(count)).toThrow(RangeError);
  });

  it('gives codes that normalise to themselves without the dash', () => {
    for (const code of newRecoveryCodes()) expect(normaliseRecoveryCode(code)).toBe(code.replace('-', ''));
  });
});

describe('normaliseRecoveryCode', () => {
  it.each(['ABCDE-FGHJK', 'abcde-fghjk', 'ABCDEFGHJK', ' abcde fghjk\n', 'AbCdE - fGhJk', 'ab-cd-ef-gh-jk'])(
    'accepts %j',
    (input) => {
      expect(normaliseRecoveryCode(input)).toBe('abcdefghjk');
    },
  );

  it.each([
    ['too short', 'ABCDE-FGHJ'],
    ['too long', 'ABCDE-FGHJKM'],
    ['empty', ''],
    ['only dashes', '----------'],
    ['a zero', 'ABCDE-FGHJ0'],
    ['an O', 'ABCDE-FGHJO'],
    ['a one', 'ABCDE-FGHJ1'],
    ['an I', 'ABCDE-FGHJI'],
    ['an L', 'ABCDE-FGHJL'],
    ['an underscore', 'ABCDE_FGHJK'],
    ['a fullwidth letter', 'ABCDE-FGHJＫ'],
    ['an accented letter', 'ABCDE-FGHJÉ'],
  ])('refuses %s', (_name, input) => {
    expect(normaliseRecoveryCode(input)).toBeNull();
  });
});

describe('hashRecoveryCode', () => {
  const pepper = randomBytes(32);

  it('is HMAC-SHA256 of the normalised code under the pepper, as hex', () => {
    const expected = createHmac('sha256', pepper).update('abcdefghjk').digest('hex');
    expect(hashRecoveryCode('ABCDE-FGHJK', pepper)).toBe(expected);
    expect(expected).toMatch(/^[0-9a-f]{64}$/);
  });

  it('is stable across calls and ways of typing the code', () => {
    const hash = hashRecoveryCode('abcde-fghjk', pepper);
    expect(hashRecoveryCode('abcde-fghjk', pepper)).toBe(hash);
    expect(hashRecoveryCode(' ABCDE FGHJK ', pepper)).toBe(hash);
  });

  it('depends on the pepper and on the code', () => {
    const hash = hashRecoveryCode('abcde-fghjk', pepper);
    expect(hashRecoveryCode('abcde-fghjk', randomBytes(32))).not.toBe(hash);
    expect(hashRecoveryCode('abcde-fghjm', pepper)).not.toBe(hash);
  });

  it('refuses input that is not a recovery code, and a short pepper', () => {
    expect(() => hashRecoveryCode('abcde-fghj0', pepper)).toThrow(TypeError);
    expect(() => hashRecoveryCode('abcde-fghjk', Buffer.alloc(0))).toThrow(RangeError);
  });
});
