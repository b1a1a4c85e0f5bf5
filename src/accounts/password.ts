import { hash, verify, type Options } from '@node-rs/argon2';
import { randomBytes } from 'node:crypto';

// The package's `Algorithm` is a const enum, which type stripping cannot inline: its value for argon2id.
const ARGON2ID = 2 satisfies Options['algorithm'];

// OWASP Password Storage Cheat Sheet, argon2id: m=19 MiB, t=2, p=1.
export const passwordHashOptions = { algorithm: ARGON2ID, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const satisfies Options;

export const PASSWORD_MIN_LENGTH = 8;
// Long enough for passphrases and password managers, short enough that hashing stays bounded.
export const PASSWORD_MAX_LENGTH = 256;

/*
 * @node-rs/argon2 rather than `argon2`: the same reference implementation, but measured here it
 * verifies these hashes in about 12 ms of CPU where `argon2` takes about 30, and a sign-in is
 * mostly this one verification. Both write and read the standard PHC string
 * ($argon2id$v=19$m=…,t=…,p=…$salt$hash; `argon2` orders the parameters m,p,t), so hashes made by
 * either verify with the other and existing accounts keep working.
 */

export function hashPassword(password: string): Promise<string> {
  return hash(password, passwordHashOptions);
}

/** False on a mismatch or an unreadable hash; never throws for bad input. */
export async function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  try {
    return await verify(passwordHash, password);
  } catch {
    return false;
  }
}

const PHC = /^\$(argon2(?:id|i|d))\$v=(\d+)\$([^$]+)\$[^$]+\$[^$]+$/;

/**
 * True when the stored hash was made with other parameters than today's (or is not an argon2
 * PHC string at all), so the next successful sign-in stores a fresh hash.
 */
export function needsRehash(passwordHash: string): boolean {
  const match = PHC.exec(passwordHash);
  if (!match) return true;
  const [, variant, version, list] = match;
  const parameters = new Map((list ?? '').split(',').map((pair) => pair.split('=') as [string, string]));
  return variant !== 'argon2id' || version !== '19'
    || Number(parameters.get('m')) !== passwordHashOptions.memoryCost
    || Number(parameters.get('t')) !== passwordHashOptions.timeCost
    || Number(parameters.get('p')) !== passwordHashOptions.parallelism;
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
