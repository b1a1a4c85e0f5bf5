/**
 * A counter of points in a fixed window: how many were taken, and when the window ends (epoch
 * ms by the app's clock, src/clock.ts). The window's end is stored with the count and compared
 * with the time the caller passes, never with the store's own clock, so tests can move time on.
 */
export interface Tally {
  points: number;
  endsAt: number;
}

/** Where the counters live: Redis when configured (counters-redis.ts), else SQL (counters-sql.ts). */
export interface CounterStore {
  /**
   * Adds points to the key's window, or, when it has none or its window ended by `now`, opens a
   * new one holding just these points until `now + windowMs`. One atomic step: of any number of
   * concurrent adds, each sees a different total.
   */
  add(key: string, points: number, now: number, windowMs: number): Promise<Tally>;
  /** Holds `points` for the key until `now + windowMs`, whatever it held before. */
  set(key: string, points: number, now: number, windowMs: number): Promise<void>;
  /** Takes points back from a window still open at `now`; an ended window has nothing to give back. */
  subtract(key: string, points: number, now: number): Promise<void>;
  delete(key: string): Promise<void>;
}
