import type { Context } from 'koa';
import type { z } from 'zod';
import type { AdminDeps } from './deps.ts';

export type AdminScope = 'admin:read' | 'admin:write';

/**
 * One admin API operation: the schemas validate the request and are also what the OpenAPI
 * document is generated from, so the two cannot drift apart.
 */
export interface AdminRoute<P extends z.ZodType = z.ZodType, Q extends z.ZodType = z.ZodType, B extends z.ZodType = z.ZodType> {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  /** Koa-router syntax, relative to /admin/api/v1 (e.g. /users/:id). */
  path: string;
  summary: string;
  tag: string;
  scope: AdminScope;
  params?: P;
  query?: Q;
  body?: B;
  /** Schema of a success body (for the document); none for 204. */
  response?: z.ZodType;
  /** Status of a success (default 200). */
  status?: number;
  /** A success body that is not JSON, which the handler writes itself (the audit stream's text/event-stream). */
  responseType?: string;
  handler: (input: { params: z.output<P>; query: z.output<Q>; body: z.output<B>; ctx: Context; deps: AdminDeps; actor: AdminActor }) => Promise<unknown>;
}

/** Who is calling: a person (sub is an account id) or a service client. */
export interface AdminActor {
  subject: string | null;
  clientId: string;
  scopes: Set<string>;
}

/** Keeps the generic parameters of each route while collecting them in one list. */
export const route = <P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType>(definition: AdminRoute<P, Q, B>): AdminRoute =>
  definition as unknown as AdminRoute;
