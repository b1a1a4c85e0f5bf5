import type { Logger } from './log.ts';

export type Background = ReturnType<typeof createBackground>;

/**
 * Work a response must not wait for: when its duration would tell the person something (whether
 * an account exists), or when nobody needs its outcome. Failures are logged; drain() lets
 * shutdown finish what is running before the database closes.
 */
export function createBackground(logger: Logger) {
  const running = new Set<Promise<void>>();
  return {
    run(what: string, task: () => Promise<unknown>): void {
      const promise = new Promise<void>((resolve) => setImmediate(resolve))
        .then(task)
        // The reason on the line itself, so an alert on it needs no stack trace to be read.
        .then(() => undefined, (error: unknown) => logger.error({ err: error, task: what, reason: error instanceof Error ? error.message : String(error) }, 'background task failed'))
        .finally(() => running.delete(promise));
      running.add(promise);
    },
    /** Resolves when every task started so far has ended, or after `timeoutMs`. */
    async drain(timeoutMs = 10_000): Promise<void> {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
        timer.unref();
      });
      await Promise.race([Promise.allSettled([...running]), timeout]);
      clearTimeout(timer);
    },
    get pending(): number {
      return running.size;
    },
  };
}
