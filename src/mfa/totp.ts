import { Secret, TOTP } from 'otpauth';

/**
 * Time-based one-time passwords (RFC 6238) with the parameters every authenticator app assumes
 * when it scans a QR code: HMAC-SHA-1, 6 digits, 30-second steps (RFC 6238 §4, §5.2). Some apps
 * ignore the algorithm/digits/period parameters of the URI, so anything else would silently break.
 */
const ALGORITHM = 'SHA1';
const DIGITS = 6;
const PERIOD_SECONDS = 30;
// One step either side absorbs clock drift and the time it takes to type the code (RFC 6238
// §5.2 recommends at most one step of network delay); more would widen the guessing window.
const WINDOW = 1;
// RFC 4226 §4 (R6) asks for a 160-bit shared secret, the output size of HMAC-SHA-1.
const SECRET_BYTES = 20;

export type TotpCheck = { ok: true; step: number } | { ok: false; reason: 'invalid' | 'replayed' | 'malformed' };

/** A fresh shared secret, base32 as authenticator apps and otpauth:// URIs expect. */
export function newTotpSecret(): string {
  return new Secret({ size: SECRET_BYTES }).base32;
}

/**
 * The otpauth:// URI to show as a QR code; the issuer is in the label and in the parameter, as
 * Google's Key Uri Format asks. Apps split the label at its first colon, so the issuer may not
 * contain one (the account may: everything after the first colon is the account).
 */
export function totpUri({ secret, issuer, account }: { secret: string; issuer: string; account: string }): string {
  if (issuer.includes(':')) throw new RangeError('the TOTP issuer must not contain a colon');
  return new TOTP({
    issuer,
    label: account,
    issuerInLabel: true,
    secret: Secret.fromBase32(secret),
    algorithm: ALGORITHM,
    digits: DIGITS,
    period: PERIOD_SECONDS,
  }).toString();
}

/**
 * Checks a code typed by the person at time `now` (ms since the epoch, injected so tests do not
 * sleep). `lastUsedStep` is the step of the last code accepted for this factor: NIST SP 800-63B
 * §5.1.4.2 requires that a time-based OTP is accepted only once, and refusing every step up to
 * it also refuses an older code from the window that was never used. The caller stores the
 * returned `step` atomically with the sign-in (compare-and-set), or two parallel requests could
 * both spend one code. 'replayed' is for logs; show the person the same words as 'invalid'.
 * Attempts must still be rate-limited by the caller (SP 800-63B §5.2.2): the code is only 6 digits.
 */
export function checkTotp({
  secret,
  code,
  now,
  lastUsedStep,
}: {
  secret: string;
  code: string;
  now: number;
  lastUsedStep: number | null;
}): TotpCheck {
  // Apps show "123 456" and people paste "123-456"; fullwidth or other scripts' digits are refused.
  const token = code.replace(/[\s-]/g, '');
  if (!/^[0-9]{6}$/.test(token)) return { ok: false, reason: 'malformed' };

  // otpauth compares each candidate in constant time (crypto.timingSafeEqual) and returns how
  // many steps away from the current one the match was.
  const delta = TOTP.validate({
    token,
    secret: Secret.fromBase32(secret),
    algorithm: ALGORITHM,
    digits: DIGITS,
    period: PERIOD_SECONDS,
    timestamp: now,
    window: WINDOW,
  });
  if (delta === null) return { ok: false, reason: 'invalid' };

  const step = Math.floor(now / (PERIOD_SECONDS * 1000)) + delta;
  if (lastUsedStep !== null && step <= lastUsedStep) return { ok: false, reason: 'replayed' };
  return { ok: true, step };
}
