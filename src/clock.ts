/**
 * Where services read the time for the decisions they make themselves (lock windows, rate-limit
 * windows, mailed-link expiry), so tests can move time forward instead of sleeping through it.
 * Stored timestamps are compared with this clock; storage-side expiry (Redis TTLs, sweeps) only
 * collects what the clock has already ended. oidc-provider keeps its own time for its tokens.
 */
export interface Clock {
  /** Milliseconds since the epoch, like Date.now(). */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
