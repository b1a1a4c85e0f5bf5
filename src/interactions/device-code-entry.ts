import type { Context, Middleware } from 'koa';
import { RateLimitedError, waitText } from '../security/rate-limits.ts';
import type { DeviceCodeLimit } from './device-code-limit.ts';

/** What this middleware hands to the page sources (device-flow.ts) for the same request. */
interface EntryState {
  /** The `user_code` of a verification_uri_complete, shown in the input instead of posted. */
  prefill?: string;
  /** The code was looked up and not found (or expired, or used): the attempt's points stay taken. */
  wrongGuess?: boolean;
}

const KEY = 'deviceCodeEntry';
const entryState = (ctx: Context): EntryState => ((ctx.state[KEY] as EntryState | undefined) ?? (ctx.state[KEY] = {}));

export const prefilledUserCode = (ctx: Context): string | null => entryState(ctx).prefill ?? null;
export const noteWrongGuess = (ctx: Context): void => {
  entryState(ctx).wrongGuess = true;
};

/**
 * In front of oidc-provider's user code page (`/device`):
 *
 * - a GET with `user_code` (the verification_uri_complete, RFC 8628 §3.3.1) shows our page with
 *   the code filled in. oidc-provider would instead post it onward by script
 *   (lib/actions/code_verification.js), a page of its own that needs JavaScript; so the parameter
 *   is taken off the query before it runs, and the page source fills it in.
 * - a POST is a code to look up: past the wrong-code limits it is answered 429 before
 *   oidc-provider sees it, so nothing is looked up.
 */
export function deviceCodeEntry(path: string, limit: DeviceCodeLimit): Middleware {
  return async (ctx, next) => {
    if (ctx.path !== path) return next();
    if (ctx.method === 'GET' || ctx.method === 'HEAD') {
      const query = new URLSearchParams(ctx.querystring);
      const code = query.get('user_code');
      if (code !== null) {
        query.delete('user_code');
        ctx.querystring = query.toString();
        entryState(ctx).prefill = code;
      }
      return next();
    }
    if (ctx.method !== 'POST') return next();
    const admission = await limit.admit(ctx.ip);
    if (!admission.allowed) {
      throw new RateLimitedError(`Too many wrong device codes. Try again in ${waitText(admission.retryAfterSeconds)}.`, admission.retryAfterSeconds);
    }
    await next();
    if (!entryState(ctx).wrongGuess) await limit.refund(admission.ipKey);
  };
}
