import type { KeyRecord, KeyState, SigningAlg } from './lifecycle.ts';
import type { KeySchedule } from './service.ts';

/** A key as the CLI and the admin API show it: times as ISO strings, never key material. */
export interface KeyView {
  kid: string;
  alg: SigningAlg;
  state: KeyState;
  createdAt: string;
  /** When it started signing; for a next key, when it will. */
  activatedAt: string | null;
  /** When the schedule publishes its successor (active keys, rotation on). */
  rotatesAt: string | null;
  retiredAt: string | null;
  /** When it leaves the JWKS: every token it signed can have expired by then (retired keys). */
  publishedUntil: string | null;
  removedAt: string | null;
}

const iso = (date: Date | null): string | null => date?.toISOString() ?? null;

export function keyView(key: KeyRecord, schedule: KeySchedule): KeyView {
  const since = key.activatedAt ?? key.createdAt;
  return {
    kid: key.kid,
    alg: key.alg,
    state: key.state,
    createdAt: key.createdAt.toISOString(),
    activatedAt: iso(key.state === 'next' ? key.activateAfter : key.activatedAt),
    rotatesAt: key.state === 'active' && schedule.rotationSeconds > 0 ? new Date(since.getTime() + schedule.rotationSeconds * 1000).toISOString() : null,
    retiredAt: iso(key.retiredAt),
    publishedUntil: iso(key.state === 'removed' ? null : key.unpublishAfter),
    removedAt: iso(key.removedAt),
  };
}
