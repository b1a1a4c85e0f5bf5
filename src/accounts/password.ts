import argon2 from 'argon2';
import { randomBytes } from 'node:crypto';

// OWASP Password Storage Cheat Sheet, argon2id: m=19 MiB, t=2, p=1.
export const passwordHashOptions = { type: argon2.argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export const PASSWORD_MIN_LENGTH = 8;
// Long enough for passphrases and password managers, short enough that hashing stays bounded.
export const PASSWORD_MAX_LENGTH = 256;

export function hashPassword(password: string): Promise<string> {
  return argon2.hash(password, passwordHashOptions);
}

/** False on a mismatch or an unreadable hash; never throws for bad input. */
export async function verifyPassword(hash: string, password: string): Promise<boolean> {
  try {
    return await argon2.verify(hash, password);
  } catch {
    return false;
  }
}

/** True when the stored hash was made with other parameters than today's. */
export function needsRehash(hash: string): boolean {
  return argon2.needsRehash(hash, passwordHashOptions);
}

let decoy: Promise<string> | undefined;

/**
 * Verifies against a hash of a random password with today's parameters, so an unknown email or
 * an account without a password costs the same time as a real check (no account enumeration).
 */
export async function decoyVerify(password: string): Promise<false> {
  decoy ??= hashPassword(randomBytes(32).toString('base64url'));
  await verifyPassword(await decoy, password);
  return false;
}
