import { createHmac, randomInt } from 'node:crypto';

/**
 * One-time recovery codes, for when the authenticator is lost. The alphabet leaves out 0/O, 1/I/L
 * (and so i, l, o) so a code copied from paper is read back right: 8 digits + 23 letters = 31
 * symbols, 10 of them ≈ 49.5 bits per code (SP 800-63B §5.1.2.1 asks for at least 20 bits for
 * look-up secrets; the extra margin is what lets a fast hash below be enough).
 */
const ALPHABET = '23456789abcdefghjkmnpqrstuvwxyz';
const LENGTH = 10;
const GROUP = 5;

/** `count` distinct codes, shown to the person once as `xxxxx-xxxxx`. */
export function newRecoveryCodes(count = 10): string[] {
  if (!Number.isInteger(count) || count < 1) throw new RangeError('count must be a positive integer');
  const codes = new Set<string>();
  while (codes.size < count) {
    // randomInt draws without modulo bias, so every symbol is equally likely.
    let code = '';
    for (let i = 0; i < LENGTH; i++) code += ALPHABET[randomInt(ALPHABET.length)];
    codes.add(`${code.slice(0, GROUP)}-${code.slice(GROUP)}`);
  }
  return [...codes];
}

/**
 * The canonical form of a typed code (lowercase, no dashes or spaces), or null if it cannot be
 * one of ours, so a typo is refused before any lookup.
 */
export function normaliseRecoveryCode(input: string): string | null {
  const code = input.replace(/[\s-]/g, '').toLowerCase();
  if (code.length !== LENGTH) return null;
  for (const char of code) if (!ALPHABET.includes(char)) return null;
  return code;
}

/**
 * What is stored for a code: HMAC-SHA256 under a server-side pepper, as hex. A slow password hash
 * (argon2) is for low-entropy secrets people choose; these carry ~50 random bits, so offline
 * guessing against a leaked table is out of reach as long as the pepper (kept in configuration,
 * not in the database) is not leaked with it; even with it, each code still costs ~2^49 HMACs.
 * A slow hash would also make every attempt cost up to ten argon2 runs (one per unused code):
 * a denial-of-service lever, not a defence. A keyed hash also lets lookup be an equality query.
 * Throws on input normaliseRecoveryCode refuses: call that first on what a person typed.
 */
export function hashRecoveryCode(code: string, pepper: Buffer): string {
  const normalised = normaliseRecoveryCode(code);
  if (normalised === null) throw new TypeError('not a recovery code: normalise it first');
  if (pepper.length < 16) throw new RangeError('the recovery code pepper must be at least 16 bytes');
  return createHmac('sha256', pepper).update(normalised, 'utf8').digest('hex');
}
