import { afterEach, describe, expect, it, vi } from 'vitest';
import { Secret, TOTP, URI } from 'otpauth';
import { checkTotp, newTotpSecret, totpUri } from '../../src/mfa/totp.ts';

// RFC 6238 Appendix B: the SHA-1 seed is the ASCII string "12345678901234567890".
const rfcSecret = Secret.fromLatin1('12345678901234567890');
const rfcBase32 = rfcSecret.base32;
const rfcVectors: Array<[seconds: number, code: string]> = [
  [59, '94287082'],
  [1111111109, '07081804'],
  [1111111111, '14050471'],
  [1234567890, '89005924'],
  [2000000000, '69279037'],
  [20000000000, '65353130'],
];

const codeAtStep = (step: number, secret = rfcSecret): string =>
  TOTP.generate({ secret, algorithm: 'SHA1', digits: 6, period: 30, timestamp: step * 30_000 });

afterEach(() => vi.restoreAllMocks());

describe('RFC 6238 Appendix B (SHA-1)', () => {
  it.each(rfcVectors)('otpauth gives the 8-digit vector at T=%i', (seconds, code) => {
    expect(TOTP.generate({ secret: rfcSecret, algorithm: 'SHA1', digits: 8, period: 30, timestamp: seconds * 1000 })).toBe(
      code,
    );
  });

  // A 6-digit HOTP value is the same dynamic truncation mod 10^6 (RFC 4226 §5.3), i.e. the
  // last six digits of the 8-digit vector.
  it.each(rfcVectors)('checkTotp accepts the 6-digit form at T=%i, at the right step', (seconds, code) => {
    const result = checkTotp({ secret: rfcBase32, code: code.slice(2), now: seconds * 1000, lastUsedStep: null });
    expect(result).toEqual({ ok: true, step: Math.floor(seconds / 30) });
  });
});

describe('checkTotp', () => {
  const now = 1111111111_000;
  const step = Math.floor(now / 30_000);

  it.each([-1, 0, 1])('accepts a code %i step(s) away and reports the matched step', (delta) => {
    expect(checkTotp({ secret: rfcBase32, code: codeAtStep(step + delta), now, lastUsedStep: null })).toEqual({
      ok: true,
      step: step + delta,
    });
  });

  it.each([-2, 2, -10])('refuses a code %i steps away', (delta) => {
    expect(checkTotp({ secret: rfcBase32, code: codeAtStep(step + delta), now, lastUsedStep: null })).toEqual({
      ok: false,
      reason: 'invalid',
    });
  });

  it('refuses a code for another secret', () => {
    const other = Secret.fromBase32(newTotpSecret());
    const code = codeAtStep(step, other);
    expect(code).not.toBe(codeAtStep(step));
    expect(checkTotp({ secret: rfcBase32, code, now, lastUsedStep: null })).toEqual({ ok: false, reason: 'invalid' });
  });

  it('refuses the same step a second time', () => {
    const code = codeAtStep(step);
    const first = checkTotp({ secret: rfcBase32, code, now, lastUsedStep: null });
    expect(first).toEqual({ ok: true, step });
    expect(checkTotp({ secret: rfcBase32, code, now: now + 5_000, lastUsedStep: step })).toEqual({
      ok: false,
      reason: 'replayed',
    });
  });

  it('refuses an older step, still inside the window, after a newer one was used', () => {
    expect(checkTotp({ secret: rfcBase32, code: codeAtStep(step - 1), now, lastUsedStep: step })).toEqual({
      ok: false,
      reason: 'replayed',
    });
  });

  it('accepts a newer step after an older one was used', () => {
    expect(checkTotp({ secret: rfcBase32, code: codeAtStep(step + 1), now, lastUsedStep: step })).toEqual({
      ok: true,
      step: step + 1,
    });
  });

  it('reports a wrong code as invalid, not replayed, even with a last used step', () => {
    const wrong = codeAtStep(step) === '000000' ? '111111' : '000000';
    expect(checkTotp({ secret: rfcBase32, code: wrong, now, lastUsedStep: step })).toEqual({ ok: false, reason: 'invalid' });
  });

  it.each(['', '12345', '1234567', '12a456', '12.456', '１２３４５６', '٢٨٧٠٨٢', '+28708'])(
    'refuses %j as malformed',
    (code) => {
      expect(checkTotp({ secret: rfcBase32, code, now, lastUsedStep: null })).toEqual({ ok: false, reason: 'malformed' });
    },
  );

  it.each(['287 082', '287-082', ' 287082\n', '2 8 7-0 8 2', '287\u00a0082'])('accepts %j, spaces and dashes removed', (code) => {
    expect(checkTotp({ secret: rfcBase32, code, now: 59_000, lastUsedStep: null })).toEqual({ ok: true, step: 1 });
  });

  it('uses the injected time, not the clock', () => {
    vi.spyOn(Date, 'now').mockReturnValue(0);
    expect(checkTotp({ secret: rfcBase32, code: codeAtStep(step), now, lastUsedStep: null })).toEqual({ ok: true, step });
  });
});

describe('newTotpSecret', () => {
  it('is 20 random bytes in base32', () => {
    const secrets = new Set(Array.from({ length: 20 }, () => newTotpSecret()));
    expect(secrets.size).toBe(20);
    for (const secret of secrets) {
      expect(secret).toMatch(/^[A-Z2-7]{32}$/);
      expect(Secret.fromBase32(secret).bytes.length).toBe(20);
    }
  });

  it('works with checkTotp', () => {
    const secret = newTotpSecret();
    const now = 1_700_000_000_000;
    const code = TOTP.generate({ secret: Secret.fromBase32(secret), timestamp: now });
    expect(checkTotp({ secret, code, now, lastUsedStep: null })).toEqual({ ok: true, step: Math.floor(now / 30_000) });
  });
});

describe('totpUri', () => {
  it('names the issuer in the label and the parameter, with the app defaults', () => {
    const secret = newTotpSecret();
    const uri = totpUri({ secret, issuer: 'Example IdP', account: 'ada@example.com' });
    const url = new URL(uri);
    expect(url.protocol).toBe('otpauth:');
    expect(url.host).toBe('totp');
    expect(decodeURIComponent(url.pathname)).toBe('/Example IdP:ada@example.com');
    expect(Object.fromEntries(url.searchParams)).toEqual({
      issuer: 'Example IdP',
      secret,
      algorithm: 'SHA1',
      digits: '6',
      period: '30',
    });
  });

  it('parses back to the same secret and parameters', () => {
    const secret = newTotpSecret();
    const parsed = URI.parse(totpUri({ secret, issuer: 'B & C/é', account: 'x:y z@example.com' }));
    expect(parsed).toBeInstanceOf(TOTP);
    expect(parsed.issuer).toBe('B & C/é');
    expect(parsed.label).toBe('x:y z@example.com');
    expect(parsed.secret.base32).toBe(secret);
    expect(parsed.digits).toBe(6);
  });

  // Apps split the label at its first colon: a colon in the issuer would shift it into the account.
  it('refuses an issuer with a colon', () => {
    expect(() => totpUri({ secret: newTotpSecret(), issuer: 'A:B', account: 'x' })).toThrow(/colon/);
  });
});
