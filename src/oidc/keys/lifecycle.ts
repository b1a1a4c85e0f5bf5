import type { Config } from '../../config/schema.ts';

// RS256 first: it is the default ID token algorithm and what OpenID Connect Basic relying
// parties must support; ES256 is offered to clients that ask for it.
export const signingAlgorithms = ['RS256', 'ES256'] as const;
export type SigningAlg = (typeof signingAlgorithms)[number];

export const isSigningAlg = (value: string): value is SigningAlg => (signingAlgorithms as readonly string[]).includes(value);

/**
 * next → active → retired → removed. A next key is published and signs nothing, so relying
 * parties that cache the JWKS have seen it before it signs; the active key signs (one per
 * algorithm); a retired key is published, signs nothing, until every token it signed can have
 * expired; a removed key is not published and its private half is erased.
 */
export type KeyState = 'next' | 'active' | 'retired' | 'removed';

/** One key as the lifecycle sees it: no key material. */
export interface KeyRecord {
  kid: string;
  alg: SigningAlg;
  state: KeyState;
  createdAt: Date;
  /** A next key starts signing then. */
  activateAfter: Date | null;
  activatedAt: Date | null;
  retiredAt: Date | null;
  /** A retired key leaves the JWKS then. */
  unpublishAfter: Date | null;
  removedAt: Date | null;
}

export interface LifecycleSettings {
  /** A next key is published once the active key has signed this long; 0: never on its own. */
  rotationSeconds: number;
}

export type DueStep =
  | { step: 'activate'; key: KeyRecord }
  | { step: 'publish'; alg: SigningAlg; replacing: KeyRecord }
  | { step: 'remove'; key: KeyRecord };

// Relying parties commonly accept tokens a few minutes past exp (clock skew leeway, e.g.
// jose's clockTolerance, Spring's 60 s, .NET's 5 min): a retired key outlives the longest
// lifetime by the largest of these.
export const CLOCK_SKEW_SECONDS = 300;

/**
 * How long a token signed now can be accepted: the longest lifetime of anything the provider
 * signs. ID tokens (ttl.idToken) and JWT access tokens, whose lifetime is their API resource's
 * (`resourceTtlSeconds`: the longest registered, the admin and account APIs included); the
 * opaque access and client-credentials lifetimes are counted too, in case a client gets a JWT
 * for them. Userinfo and introspection responses are not signed here; refresh tokens and codes
 * are opaque. Plus the clock skew relying parties allow.
 */
export function signedTokenLifetime(ttl: Config['ttl'], resourceTtlSeconds: number): number {
  return Math.max(ttl.idToken, ttl.accessToken, ttl.clientCredentials, resourceTtlSeconds) + CLOCK_SKEW_SECONDS;
}

/**
 * The Cache-Control max-age of /jwks: at most half the pre-publication time, so a relying party
 * that cached the set just before a next key appeared fetches it again before that key signs;
 * at most an hour, so a key removed for cause leaves caches soon.
 */
export function jwksMaxAge(prepublishSeconds: number): number {
  return Math.max(0, Math.min(Math.floor(prepublishSeconds / 2), 3600));
}

const seconds = (date: Date | null): number => (date ? date.getTime() / 1000 : Number.NaN);

/**
 * What the schedule has to do at `now` (ms), in order: a next key whose pre-publication is over
 * takes over from the active key; a retired key whose tokens have all expired is removed; an
 * active key that has signed for the rotation period gets a next key (when rotation is on and it
 * has none). Each step is applied by exactly one instance (src/oidc/keys/service.ts).
 */
export function dueSteps(keys: KeyRecord[], now: number, settings: LifecycleSettings): DueStep[] {
  const at = now / 1000;
  const steps: DueStep[] = [];
  for (const key of keys) {
    if (key.state === 'next' && seconds(key.activateAfter) <= at) steps.push({ step: 'activate', key });
  }
  for (const key of keys) {
    if (key.state === 'retired' && seconds(key.unpublishAfter) <= at) steps.push({ step: 'remove', key });
  }
  if (settings.rotationSeconds > 0) {
    for (const alg of signingAlgorithms) {
      const active = keys.find((key) => key.alg === alg && key.state === 'active');
      const hasNext = keys.some((key) => key.alg === alg && key.state === 'next');
      const since = seconds(active?.activatedAt ?? active?.createdAt ?? null);
      if (active && !hasNext && since + settings.rotationSeconds <= at) steps.push({ step: 'publish', alg, replacing: active });
    }
  }
  return steps;
}

/** Changes anyone holding the keys must follow: which keys are published, in which state, until when. */
export function fingerprint(keys: KeyRecord[]): string {
  return keys
    .filter((key) => key.state !== 'removed')
    .map((key) => `${key.kid}:${key.state}:${key.activateAfter?.getTime() ?? ''}:${key.unpublishAfter?.getTime() ?? ''}`)
    .sort()
    .join(',');
}
