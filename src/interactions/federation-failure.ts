import type { Context } from 'koa';
import type { Upstream, UpstreamFailure } from '../federation/upstream.ts';
import type { Refusal } from '../federation/service.ts';
import type { InteractionDeps } from './deps.ts';

const upstreamFailures = new Set<FederationFailure>(['denied', 'upstream_error', 'unreachable', 'token_rejected', 'invalid_response']);

/** Failures of the flow itself, next to the upstream's and the account rules' own. */
export type FlowFailure = 'state_invalid' | 'too_many_attempts';
export type FederationFailure = UpstreamFailure | Refusal | FlowFailure;

const pages: Record<FederationFailure, { status: number; title: (name: string) => string; text: (name: string, code?: string) => string }> = {
  denied: {
    status: 400,
    title: (name) => `Sign-in with ${name} was cancelled`,
    text: (name) => `Nothing was shared by ${name}. Choose another way to sign in.`,
  },
  upstream_error: {
    status: 400,
    title: (name) => `${name} could not sign you in`,
    text: (name, code) => `${name} answered with the error “${code ?? 'unknown'}”. Try again, or choose another way to sign in.`,
  },
  unreachable: {
    status: 502,
    title: (name) => `${name} cannot be reached right now`,
    text: () => 'Try again in a moment, or choose another way to sign in.',
  },
  token_rejected: {
    status: 400,
    title: (name) => `Sign-in with ${name} could not be completed`,
    text: (name) => `${name} did not accept the sign-in. Try again, or choose another way to sign in.`,
  },
  invalid_response: {
    status: 400,
    title: (name) => `Sign-in with ${name} could not be verified`,
    text: (name) => `The answer from ${name} did not pass our checks, so it was not used. Try again, or choose another way to sign in.`,
  },
  state_invalid: {
    status: 400,
    title: () => 'This sign-in attempt is no longer valid',
    text: () => 'The link was already used, has expired, or belongs to another sign-in. Start again from the sign-in page.',
  },
  too_many_attempts: {
    status: 400,
    title: () => 'Too many incorrect passwords',
    text: () => 'The account was not linked. Start again from the sign-in page.',
  },
  account_disabled: {
    status: 403,
    title: () => 'This account cannot sign in',
    text: () => 'Ask the administrator of this service for help.',
  },
  linked_elsewhere: {
    status: 409,
    title: (name) => `This account is already linked to another ${name} account`,
    text: (name) => `Sign in with your password, or with the ${name} account you linked before.`,
  },
  no_email: {
    status: 400,
    title: (name) => `${name} did not share an email address`,
    text: (name) => `An account here needs an email address. Allow ${name} to share yours, or choose another way to sign in.`,
  },
  email_unverified: {
    status: 400,
    title: (name) => `Your ${name} email address is not verified`,
    text: (name) => `Verify your email address at ${name}, then try again, or choose another way to sign in.`,
  },
};

/**
 * Renders the friendly page for a failed upstream sign-in, with a way back to the login page of
 * this interaction when there is one, and writes the audit line (no tokens, codes or state).
 */
export function renderFederationFailure(
  ctx: Context,
  { renderPage, logger, metrics, audit, background }: Pick<InteractionDeps, 'renderPage' | 'logger' | 'metrics' | 'audit' | 'background'>,
  failure: { reason: FederationFailure; upstream: Pick<Upstream, 'id' | 'displayName'> | undefined; uid?: string | undefined; upstreamCode?: string | undefined; detail?: string | undefined },
): void {
  const name = failure.upstream?.displayName ?? 'the identity provider';
  const page = pages[failure.reason];
  logger.warn({
    event: 'federation.failed',
    reason: failure.reason,
    upstream: failure.upstream?.id,
    upstreamError: failure.upstreamCode,
    detail: failure.detail,
    uid: failure.uid,
    ip: ctx.ip,
    id: ctx.state.requestId,
  }, 'upstream sign-in failed');
  metrics?.recordLogin('federated', failure.reason);
  // Our own rules said no (refused); or the upstream, the network or the answer failed (failed).
  background.run('audit federation failure', () => audit.record({
    event: upstreamFailures.has(failure.reason) ? 'federation.failed' : 'federation.refused',
    reason: failure.reason,
    ip: ctx.ip,
    userAgent: ctx.get('user-agent') || null,
    details: { upstream: failure.upstream?.id ?? null, upstreamError: failure.upstreamCode ?? null },
  }));
  ctx.status = page.status;
  ctx.type = 'html';
  ctx.set('cache-control', 'no-store');
  ctx.body = renderPage('error', {
    title: page.title(name),
    description: page.text(name, failure.upstreamCode),
    error: `federation.${failure.reason}`,
    back: failure.uid ? { href: `/interaction/${failure.uid}`, label: 'Back to sign-in' } : null,
  });
}
