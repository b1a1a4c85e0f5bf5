import { createHash } from 'node:crypto';
import type { Context, Next } from 'koa';
import type { Logger } from '../log.ts';
import type { RefreshRotations } from './refresh-rotations.ts';
import { beforeFlush, deferWrite } from '../db/token-request-batch.ts';

/**
 * Refresh retries within a grace window (REFRESH_TOKEN_GRACE_SECONDS).
 *
 * Every refresh rotates, and oidc-provider treats a used refresh token as stolen: presenting it
 * again revokes the whole grant (RFC 9700 §4.14.2). Real clients present one token more than once
 * without any theft: mod_auth_openidc refreshes from several Apache workers at once, and any
 * client retries when the response was lost. Within the window such a repeat gets the successor
 * the first request created, with a fresh access token, and the grant lives on; after it, the
 * repeat is a replay as before.
 *
 * How: the first request to present a token claims it (refresh-rotations.ts) and goes through
 * oidc-provider's ordinary rotation; its 200 answer records the successor. A repeat that finds
 * the claim waits for that answer, then is sent to oidc-provider with the successor in place of
 * the used token and with rotation off for this one request (`rotateRefreshToken` asks
 * `isGraceRetry`), so oidc-provider issues an access token for the successor and answers with the
 * successor itself. Client authentication and the check that the token belongs to the
 * authenticated client are oidc-provider's as for any refresh, so only the client the token was
 * issued to can profit from the window.
 *
 * A claimant that fails (a wrong secret, another client's token, an outage) releases its claim
 * and a waiting repeat claims afresh. One that could not even do that (storage was away, or its
 * process died) leaves a claim pending past any rotation's duration; one repeat takes it over
 * and rotates, the others wait for it, so parallel refreshes after an outage still share one
 * successor instead of racing each other into a replay.
 */

export interface RefreshGraceOptions {
  rotations: RefreshRotations;
  graceSeconds: number;
  logger: Logger;
  /** Replaces a form field of the buffered request body before oidc-provider parses it. */
  replaceFormField(ctx: Context, name: string, value: string): void;
  /** How long a claim may stay pending before a repeat takes it over (default 5 s). */
  waitMs?: number;
  /**
   * Starts reading the presented refresh token as oidc-provider will (src/db/token-request-batch.ts),
   * so that read shares a round trip with the claim; `drop` forgets it when this request does
   * not rotate after all.
   */
  prefetch?: { start(token: string): void; drop(token: string): void };
}

// A claim outlives any rotation that is still going to finish; a claimant that died leaves it
// to expire, or to a repeat to take over.
const PENDING_SECONDS = 30;
const POLL_MS = 25;
// No rotation takes this long with every storage call under its deadline (src/db/deadlines.ts):
// a claim pending longer lost its claimant (failed while storage was away, or its process died).
const STALE_MS = 5000;
// A repeat gives up after a few claimants in a row: oidc-provider then decides.
const MAX_ROUNDS = 3;
const GRACE_RETRY = Symbol('refresh grace retry');
// oidc-provider's opaque tokens: base64url, 43 characters at its default 256 bits, longer if configured.
const PREFETCHABLE = /^[\w-]{16,256}$/;

/** True while oidc-provider handles a repeat that must not rotate again. */
export function isGraceRetry(ctx: object): boolean {
  return (ctx as { state?: Record<symbol, unknown> }).state?.[GRACE_RETRY] === true;
}

const keyOf = (token: string) => createHash('sha256').update(token).digest('base64url');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** How waiting on another request's claim ended. */
type Wait = { successor: string } | { outcome: 'claimed' | 'released' | 'gave_up' };

export function createRefreshGrace(options: RefreshGraceOptions) {
  const { rotations, graceSeconds, logger } = options;
  const staleMs = options.waitMs ?? STALE_MS;
  // Repeats on this instance wait on the claimant's promise rather than polling storage.
  const local = new Map<string, Promise<string | null>>();

  /** Waits for the claimant's answer; takes the claim over when it has gone stale. */
  async function waitForClaimant(key: string): Promise<Wait> {
    const here = local.get(key);
    if (here) {
      const successor = await here;
      return successor ? { successor } : { outcome: 'released' };
    }
    let seen = null as { claim: string; since: number } | null;
    for (;;) {
      const state = await rotations.read(key);
      if (!state) return { outcome: 'released' };
      if (state.state === 'rotated') return { successor: state.successor };
      if (seen?.claim !== state.claim) seen = { claim: state.claim, since: Date.now() };
      else if (Date.now() - seen.since >= staleMs) {
        if (await rotations.takeOver(key, state, PENDING_SECONDS)) return { outcome: 'claimed' };
        return { outcome: 'gave_up' };
      }
      await sleep(POLL_MS);
    }
  }

  /**
   * Runs the rotation as the one request holding the claim, and records how it went. `next`
   * resolves only once what oidc-provider wrote is stored (the batch's deferred writes flushed).
   * Inside a token request's batch the record of the successor goes out with those writes, in
   * the same pipeline; outside one, after the answer is decided.
   */
  async function rotate(ctx: Context, next: Next, key: string, presented: string): Promise<void> {
    let settle!: (successor: string | null) => void;
    local.set(key, new Promise((resolve) => (settle = resolve)));
    const failed = (error: unknown) => {
      // The answer is already decided; a repeat finds the claim stale and takes it over.
      logger.error({ err: error, id: ctx.state.requestId }, 'refresh grace: could not record the rotation');
    };
    const successorOf = (): string | null => {
      const body = ctx.body as { refresh_token?: unknown } | null | undefined;
      return ctx.status === 200 && typeof body?.refresh_token === 'string' && body.refresh_token !== presented ? body.refresh_token : null;
    };
    const complete = (successor: string) => {
      const grantId = (ctx as { oidc?: { entities?: { RefreshToken?: { grantId?: string } } } }).oidc?.entities?.RefreshToken?.grantId;
      // Never fails the request: a rotation that happened must be answered, recorded or not.
      return rotations.complete(key, successor, graceSeconds, grantId).catch(failed);
    };
    let recorded = false;
    beforeFlush(() => {
      const successor = successorOf();
      if (successor) recorded = deferWrite(() => complete(successor)) !== null;
    });
    let successor: string | null = null;
    try {
      await next();
      successor = successorOf();
    } finally {
      if (successor) {
        // The successor is stored, so the answer need not wait for this record of it: repeats on
        // this instance have it at once (settle), others poll until it lands.
        if (!recorded) void complete(successor);
      } else {
        // Awaited: a repeat that claims afresh must find the claim gone (and a record written
        // beside writes that then failed is gone with it).
        await rotations.release(key).catch(failed);
      }
      local.delete(key);
      settle(successor);
    }
  }

  /** Koa middleware for POST /token; `next` runs oidc-provider. */
  return async function refreshGrace(ctx: Context, next: Next): Promise<void> {
    const form = ctx.request.body as Record<string, unknown> | undefined;
    if (graceSeconds === 0 || ctx.method !== 'POST' || !form || form.grant_type !== 'refresh_token') return next();
    const presented = form.refresh_token;
    if (typeof presented !== 'string' || presented === '') return next();
    const key = keyOf(presented);

    for (let round = 0; round < MAX_ROUNDS; round++) {
      const claim = rotations.claim(key, PENDING_SECONDS);
      // The first request to present a token is nearly always the one that rotates it. Only a
      // value shaped like one of ours is read ahead: this runs before client authentication,
      // and a 60 KiB junk value must not become a Redis key from an unauthenticated caller.
      const ahead = round === 0 && PREFETCHABLE.test(presented);
      if (ahead) options.prefetch?.start(presented);
      if (await claim) return rotate(ctx, next, key, presented);
      if (ahead) options.prefetch?.drop(presented);
      const wait = await waitForClaimant(key);
      if ('successor' in wait) {
        options.replaceFormField(ctx, 'refresh_token', wait.successor);
        (ctx.state as Record<symbol, unknown>)[GRACE_RETRY] = true;
        return next();
      }
      if (wait.outcome === 'claimed') return rotate(ctx, next, key, presented);
      // Released (the claimant failed: a wrong secret, another client, an outage): claim afresh.
      // Gave up (another repeat took the stale claim over): wait for that one.
    }
    // No successor after several claimants: oidc-provider decides (a used token is a replay).
    return next();
  };
}
