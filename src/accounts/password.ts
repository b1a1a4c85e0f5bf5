import { hash, verify, type Options } from '@node-rs/argon2';
import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';

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

/*
 * At most one hash per core at a time. Each one holds 19 MiB while it runs on libuv's thread pool
 * (four threads by default), so a burst of sign-ins would otherwise hold four of them at once and
 * occupy every pool thread, which token signing (WebCrypto) and file access share. More hashes in
 * parallel than cores finish no sooner: they only cost memory. The rest wait here, in order.
 */
export class HashSlots {
  #running = 0;
  readonly #waiting: Array<() => void> = [];

  readonly size: number;

  constructor(size: number) {
    this.size = size;
  }

  get running(): number {
    return this.#running;
  }

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.#running >= this.size) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    else this.#running++;
    try {
      return await work();
    } finally {
      // The slot passes straight to the next waiter, so the count only drops when nobody waits.
      const next = this.#waiting.shift();
      if (next) next();
      else this.#running--;
    }
  }
}

const slots = new HashSlots(Math.max(1, availableParallelism()));

export function hashPassword(password: string): Promise<string> {
  return slots.run(() => hash(password, passwordHashOptions));
}

/** False on a mismatch or an unreadable hash; never throws for bad input. */
export async function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  try {
    return await slots.run(() => verify(passwordHash, password));
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
