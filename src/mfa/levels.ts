/**
 * Authentication levels: what a relying party asks for with `acr_values` (or an essential `acr`
 * claim) and what an ID token's `acr` says was reached. Ordered, each including the ones below:
 *
 * - `password`: one factor (a password, or an upstream account whose own factors we cannot see);
 * - `mfa`: two factors (a password and a code, a passkey with user verification, ...);
 * - `phishing-resistant`: two factors, one of them a WebAuthn assertion, which is bound to this
 *   origin and so cannot be relayed by a look-alike site (NIST SP 800-63B §5.2.5).
 *
 * The level is derived from the session's `amr` (RFC 8176 method values), never stored apart from it.
 */
export const LEVELS = ['password', 'mfa', 'phishing-resistant'] as const;
export type Level = typeof LEVELS[number];

export const isLevel = (value: unknown): value is Level => typeof value === 'string' && (LEVELS as readonly string[]).includes(value);

export const rank = (level: Level): number => LEVELS.indexOf(level);

export const atLeast = (reached: Level, wanted: Level): boolean => rank(reached) >= rank(wanted);

export const higher = (a: Level, b: Level): Level => (rank(a) >= rank(b) ? a : b);

/** The level a set of RFC 8176 method values reaches. */
export function levelOf(amr: readonly string[] | undefined): Level {
  const methods = new Set(amr ?? []);
  if (!methods.has('mfa')) return 'password';
  return methods.has('hwk') || methods.has('swk') ? 'phishing-resistant' : 'mfa';
}

/**
 * The methods of a session after one more step: the union, with `mfa` once two different kinds
 * of factor were shown (RFC 8176 §2: "mfa" is multiple-factor authentication).
 */
export function combineAmr(before: readonly string[], added: readonly string[]): string[] {
  const methods = new Set([...before, ...added]);
  // A password or an upstream sign-in, then something held: two kinds of factor.
  const first = methods.has('pwd') || methods.has('fed');
  const held = methods.has('otp') || methods.has('hwk') || methods.has('swk');
  if (first && held) methods.add('mfa');
  const known = AMR_ORDER.filter((method) => methods.has(method));
  return [...known, ...[...methods].filter((method) => !AMR_ORDER.includes(method)).sort()];
}

const AMR_ORDER = ['pwd', 'fed', 'otp', 'hwk', 'swk', 'user', 'mfa'];

/**
 * What a request asks for: the lowest level among the `acr` values it names that we know (a
 * list is a choice, any one will do), or null when it names none of ours.
 */
export function requestedLevel(values: readonly unknown[] | undefined): Level | null {
  const known = (values ?? []).filter(isLevel);
  if (known.length === 0) return null;
  return known.reduce((low, level) => (rank(level) < rank(low) ? level : low));
}

/**
 * The `acr` to put in the ID token: among the values the request named, the highest the
 * session reached (so a relying party that checks for one of its values finds it); without
 * such a value, the level reached.
 */
export function acrFor(reached: Level, requested: readonly unknown[] | undefined): Level {
  const met = (requested ?? []).filter(isLevel).filter((level) => atLeast(reached, level));
  if (met.length === 0) return reached;
  return met.reduce((best, level) => higher(best, level));
}
