import { readFileSync } from 'node:fs';
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from './password.ts';

// OWASP ASVS 5, V6.2: length limits, no composition rules, a check against common passwords, and
// the password is used exactly as typed (never truncated, trimmed or normalized).

export type PasswordProblem = 'password.too_short' | 'password.too_long' | 'password.common' | 'password.equals_email';
export type PasswordCheck = { ok: true } | { ok: false; code: PasswordProblem; message: string };

export interface PasswordPolicy {
  readonly minLength: number;
  readonly maxLength: number;
  check(password: string, context?: { email?: string | null }): PasswordCheck;
}

const DEFAULT_LIST_PATH = new URL('../../lists/common-passwords.txt', import.meta.url);
// ASVS requires a minimum of at least 8 and that 64 characters are always accepted.
const LOWEST_MIN_LENGTH = 8;
const HIGHEST_MIN_LENGTH = 64;

// One read per list file per process, however many policies are created.
const lists = new Map<string, ReadonlySet<string>>();

function loadList(path: string | URL): ReadonlySet<string> {
  const key = path.toString();
  let list = lists.get(key);
  if (!list) {
    // The file is stored lowercase, one entry per line; lowercase again so a hand-edited list still matches.
    list = new Set(readFileSync(path, 'utf8').split(/\r?\n/).filter(Boolean).map((entry) => entry.toLowerCase()));
    lists.set(key, list);
  }
  return list;
}

export function createPasswordPolicy(options: { minLength?: number; listPath?: string } = {}): PasswordPolicy {
  const minLength = options.minLength ?? PASSWORD_MIN_LENGTH;
  const maxLength = PASSWORD_MAX_LENGTH;
  if (!Number.isInteger(minLength) || minLength < LOWEST_MIN_LENGTH || minLength > HIGHEST_MIN_LENGTH) {
    throw new Error(`password minLength must be an integer from ${LOWEST_MIN_LENGTH} to ${HIGHEST_MIN_LENGTH}, got ${minLength}`);
  }
  const common = loadList(options.listPath ?? DEFAULT_LIST_PATH);

  return {
    minLength,
    maxLength,
    check(password, context = {}) {
      // Code points, not UTF-16 units, so an emoji or other astral character counts as one.
      const length = [...password].length;
      if (length < minLength) return { ok: false, code: 'password.too_short', message: `Use at least ${minLength} characters.` };
      if (length > maxLength) return { ok: false, code: 'password.too_long', message: `Use at most ${maxLength} characters.` };
      const email = context.email?.trim().toLowerCase();
      if (email && password.toLowerCase() === email) {
        return { ok: false, code: 'password.equals_email', message: 'Your password must not be your email address.' };
      }
      if (common.has(password.toLowerCase())) {
        return { ok: false, code: 'password.common', message: 'This password is one of the most common passwords; choose one that is harder to guess.' };
      }
      return { ok: true };
    },
  };
}
