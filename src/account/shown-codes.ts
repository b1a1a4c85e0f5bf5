import type { AttemptStore } from '../federation/attempt-store.ts';

// Between making the codes and the page that shows them: a redirect, or a passkey script navigating.
const SHOW_WITHIN_SECONDS = 5 * 60;

const keyOf = (sessionId: string) => `account:codes:${sessionId}`;

/**
 * New recovery codes on their way to the one page that shows them. The page takes them (once,
 * atomically), so a reload, the back button or a second tab never shows them again; only their
 * hashes stay in the database (src/mfa/recovery-codes.ts).
 */
export function codesToShow(store: AttemptStore) {
  return {
    hold: (sessionId: string, codes: string[]): Promise<void> => store.put(keyOf(sessionId), { codes }, SHOW_WITHIN_SECONDS),
    take: async (sessionId: string): Promise<string[] | null> => (await store.take<{ codes: string[] }>(keyOf(sessionId)))?.codes ?? null,
  };
}

export type CodesToShow = ReturnType<typeof codesToShow>;
