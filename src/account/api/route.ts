import type { Context } from 'koa';
import type { z } from 'zod';
import type { AccountScope } from './resource.ts';
import type { AccountCaller } from './auth.ts';
import type { AccountApiDeps } from './deps.ts';

/**
 * One account API operation, the admin API's way (src/admin/route.ts): the schemas validate the
 * request and are what the OpenAPI document is generated from. Every operation acts on the
 * caller's own account only: no path names an account.
 */
export interface AccountApiRoute<P extends z.ZodType = z.ZodType, Q extends z.ZodType = z.ZodType, B extends z.ZodType = z.ZodType> {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  /** Koa-router syntax, relative to /account/api. */
  path: string;
  summary: string;
  tag: string;
  scope: AccountScope;
  /**
   * A sensitive change: the token must come from a sign-in newer than ACCOUNT_REAUTH_SECONDS, as
   * the console's pages ask; else 401 insufficient_user_authentication with max_age (RFC 9470).
   */
  fresh?: true;
  params?: P;
  query?: Q;
  body?: B;
  response?: z.ZodType;
  status?: number;
  handler: (input: { params: z.output<P>; query: z.output<Q>; body: z.output<B>; ctx: Context; deps: AccountApiDeps; caller: AccountCaller }) => Promise<unknown>;
}

export const accountRoute = <P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType>(definition: AccountApiRoute<P, Q, B>): AccountApiRoute =>
  definition as unknown as AccountApiRoute;
