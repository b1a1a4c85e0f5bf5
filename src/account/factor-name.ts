/** The longest name the database keeps (migrations/0016_mfa_factors.sql), in characters. */
export const MAX_NAME = 64;

/**
 * A factor's name as typed: one line (controls and runs of spaces become one space), trimmed;
 * `fallback` when nothing is left. Null when it is too long, so the page can say so rather than
 * cut it.
 */
export function factorName(input: unknown, fallback: string): string | null {
  const line = (typeof input === 'string' ? input : '').replace(/[\p{Cc}\s]+/gu, ' ').trim();
  if (Array.from(line).length > MAX_NAME) return null;
  return line || fallback;
}
