import { createHash, randomBytes } from 'node:crypto';
import type { Context } from 'koa';
import type { AccountConsoleDeps } from './deps.ts';
import { ACCOUNT_CLIENT_ID, accountCallbackUrl } from './client.ts';
import { browserId } from './cookies.ts';

/** What a sign-in attempt leaves server-side for its callback, under `account:signin:<state>`. */
export interface SignInAttempt {
  verifier: string;
  nonce: string;
  /** A checked local path (src/account/return-path.ts). */
  returnTo: string;
  /** The browser that started it (src/account/cookies.ts): a callback in another one is refused. */
  browser: string;
}

export const attemptKey = (state: string) => `account:signin:${state}`;

const random = () => randomBytes(32).toString('base64url');

/**
 * Sends the browser through this provider's /auth as the console's client, with a fresh state,
 * nonce and PKCE verifier that never leave the server. `reauth` asks the provider to sign the
 * person in again whatever their session (OIDC Core §3.1.2.1: `max_age=0`, with `prompt=login`
 * because oidc-provider counts an auth_time in the current second as not older than 0 seconds),
 * so the password and then the second factor are asked for once more.
 */
export async function startSignIn(ctx: Context, deps: AccountConsoleDeps, returnTo: string, options: { reauth: boolean }): Promise<void> {
  const state = random();
  const attempt: SignInAttempt = { verifier: random(), nonce: random(), returnTo, browser: browserId(ctx, deps.issuer) };
  // As long as the sign-in itself may take (registration, a reset mail, a second factor).
  await deps.attempts.put(attemptKey(state), attempt, deps.config.ttl.interaction);
  const url = new URL(deps.provider.urlFor('authorization'));
  url.search = new URLSearchParams({
    client_id: ACCOUNT_CLIENT_ID,
    response_type: 'code',
    scope: 'openid',
    redirect_uri: accountCallbackUrl(deps.issuer),
    state,
    nonce: attempt.nonce,
    code_challenge: createHash('sha256').update(attempt.verifier).digest('base64url'),
    code_challenge_method: 'S256',
    ...(options.reauth ? { prompt: 'login', max_age: '0' } : {}),
  }).toString();
  ctx.status = 303;
  ctx.redirect(url.href);
}
