import { createHash } from 'node:crypto';
import type { Context, Next } from 'koa';
import type { Logger } from '../log.ts';
import type { RefreshRotations } from './refresh-rotations.ts';

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
 */

export interface RefreshGraceOptions {
  rotations: RefreshRotations;
  graceSeconds: number;
  logger: Logger;
  /** Replaces a form field of the buffered request body before oidc-provider parses it. */
  replaceFormField(ctx: Context, name: string, value: string): void;
  /** How long a repeat waits for the first request's answer (default 5 s). */
  waitMs?: number;
}

// A claim outlives any rotation that is still going to finish; a claimant that died leaves it
// to expire.
const PENDING_SECONDS = 30;
const POLL_MS = 25;
const GRACE_RETRY = Symbol('refresh grace retry');

/** True while oidc-provider handles a repeat that must not rotate again. */
export function isGraceRetry(ctx: object): boolean {
  return (ctx as { state?: Record<symbol, unknown> }).state?.[GRACE_RETRY] === true;
}

const keyOf = (token: string) => createHash('sha256').update(token).digest('base64url');

export function createRefreshGrace(options: RefreshGraceOptions) {
  const { rotations, graceSeconds, logger } = options;
  const waitMs = options.waitMs ?? 5000;
  // Repeats on this instance wait on the claimant's promise rather than polling storage.
  const local = new Map<string, Promise<string | null>>();

  async function successorOf(key: string): Promise<string | null> {
    const here = local.get(key);
    if (here) return here;
    const deadline = Date.now() + waitMs;
    for (;;) {
      const state = await rotations.read(key);
      if (!state) return null;
      if (state.state === 'rotated') return state.successor;
      if (Date.now() >= deadline) return null;
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }

  /** Koa middleware for POST /token; `next` runs oidc-provider. */
  return async function refreshGrace(ctx: Context, next: Next): Promise<void> {
    const form = ctx.request.body as Record<string, unknown> | undefined;
    if (graceSeconds === 0 || ctx.method !== 'POST' || !form || form.grant_type !== 'refresh_token') return next();
    const presented = form.refresh_token;
    if (typeof presented !== 'string' || presented === '') return next();
    const key = keyOf(presented);

    if (await rotations.claim(key, PENDING_SECONDS)) {
      let settle!: (successor: string | null) => void;
      local.set(key, new Promise((resolve) => (settle = resolve)));
      let successor: string | null = null;
      try {
        await next();
        const body = ctx.body as { refresh_token?: unknown } | null | undefined;
        if (ctx.status === 200 && typeof body?.refresh_token === 'string' && body.refresh_token !== presented) successor = body.refresh_token;
      } finally {
        try {
          const grantId = (ctx as { oidc?: { entities?: { RefreshToken?: { grantId?: string } } } }).oidc?.entities?.RefreshToken?.grantId;
          if (successor) await rotations.complete(key, successor, graceSeconds, grantId);
          else await rotations.release(key);
        } catch (error) {
          // The answer is already decided; a repeat then waits out the claim and is judged as a replay.
          logger.error({ err: error, id: ctx.state.requestId }, 'refresh grace: could not record the rotation');
        } finally {
          local.delete(key);
          settle(successor);
        }
      }
      return;
    }

    const successor = await successorOf(key);
    // No successor: the first request failed, or the window is over. oidc-provider decides
    // (a used token is a replay and revokes the grant).
    if (!successor) return next();
    options.replaceFormField(ctx, 'refresh_token', successor);
    (ctx.state as Record<symbol, unknown>)[GRACE_RETRY] = true;
    return next();
  };
}
