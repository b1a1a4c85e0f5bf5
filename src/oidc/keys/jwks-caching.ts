import type { Context } from 'koa';
import { jwksMaxAge } from './lifecycle.ts';

/**
 * Around oidc-provider's /jwks: relying parties may cache the set for less than the
 * pre-publication time (lifecycle.ts jwksMaxAge), so each has fetched a next key before it
 * signs. Only successful answers are cacheable.
 */
export function jwksCaching(prepublishSeconds: number) {
  const header = `public, max-age=${jwksMaxAge(prepublishSeconds)}`;
  return async (ctx: Context, runProvider: () => Promise<unknown>): Promise<void> => {
    await runProvider();
    if (ctx.status === 200) ctx.set('cache-control', header);
  };
}
