import type { Clock } from '../../src/clock.ts';

export interface TestClock extends Clock {
  /** Moves time forward by `ms`. */
  advance(ms: number): void;
}

/**
 * A clock that stands still until a test moves it: a window ends exactly when the test says,
 * however long the machine took to get there (the services' clock, src/clock.ts).
 */
export function testClock(start = Date.now()): TestClock {
  let current = start;
  return {
    now: () => current,
    advance(ms) {
      current += ms;
    },
  };
}
