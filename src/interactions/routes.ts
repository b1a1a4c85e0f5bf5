import Router from '@koa/router';
import { bodyParser } from '@koa/bodyparser';
import type { Middleware } from 'koa';
import type { InteractionDeps } from './deps.ts';
import { showInteraction } from './show.ts';
import { submitLogin } from './login.ts';
import { submitConsent } from './consent.ts';
import { abortInteraction } from './abort.ts';
import { startFederation } from './federation-start.ts';
import { relayCallback, finishFederation } from './federation-callback.ts';
import { showLink, submitLink, cancelLink } from './federation-link.ts';
import { showRegister, submitRegister, resendVerification } from './register.ts';
import { showForgotPassword, submitForgotPassword } from './forgot-password.ts';
import { showSecondFactor, submitSecondFactor } from './second-factor.ts';
import { passkeyOptions, passkeySignIn } from './passkey.ts';
import { showEnrol, startTotpEnrol, confirmTotpEnrol, enrolPasskeyOptions, enrolPasskey, finishEnrol } from './enrol.ts';

const routes: Array<{ method: 'get' | 'post'; path: string; handler: (deps: InteractionDeps) => Middleware; body?: 'json' }> = [
  { method: 'get', path: '/interaction/:uid', handler: showInteraction },
  { method: 'post', path: '/interaction/:uid/login', handler: submitLogin },
  { method: 'get', path: '/interaction/:uid/second-factor', handler: showSecondFactor },
  { method: 'post', path: '/interaction/:uid/second-factor', handler: submitSecondFactor },
  { method: 'post', path: '/interaction/:uid/passkey/options', handler: passkeyOptions, body: 'json' },
  { method: 'post', path: '/interaction/:uid/passkey', handler: passkeySignIn, body: 'json' },
  { method: 'get', path: '/interaction/:uid/enrol', handler: showEnrol },
  { method: 'post', path: '/interaction/:uid/enrol/totp', handler: startTotpEnrol },
  { method: 'post', path: '/interaction/:uid/enrol/totp/confirm', handler: confirmTotpEnrol },
  { method: 'post', path: '/interaction/:uid/enrol/passkey/options', handler: enrolPasskeyOptions, body: 'json' },
  { method: 'post', path: '/interaction/:uid/enrol/passkey', handler: enrolPasskey, body: 'json' },
  { method: 'post', path: '/interaction/:uid/enrol/done', handler: finishEnrol },
  { method: 'post', path: '/interaction/:uid/confirm', handler: submitConsent },
  { method: 'post', path: '/interaction/:uid/abort', handler: abortInteraction },
  { method: 'post', path: '/interaction/:uid/federation/:upstream', handler: startFederation },
  { method: 'get', path: '/federation/:upstream/callback', handler: relayCallback },
  { method: 'get', path: '/interaction/:uid/federation/:upstream/callback', handler: finishFederation },
  { method: 'get', path: '/interaction/:uid/link', handler: showLink },
  { method: 'post', path: '/interaction/:uid/link', handler: submitLink },
  { method: 'post', path: '/interaction/:uid/link/cancel', handler: cancelLink },
  { method: 'get', path: '/interaction/:uid/register', handler: showRegister },
  { method: 'post', path: '/interaction/:uid/register', handler: submitRegister },
  { method: 'post', path: '/interaction/:uid/resend', handler: resendVerification },
  { method: 'get', path: '/interaction/:uid/forgot', handler: showForgotPassword },
  { method: 'post', path: '/interaction/:uid/forgot', handler: submitForgotPassword },
];

export function interactionRouter(deps: InteractionDeps): Router {
  const router = new Router();
  // Only these routes parse bodies: oidc-provider reads its own request bodies.
  const parseForm = bodyParser({ enableTypes: ['form'], formLimit: '16kb' }) as Middleware;
  // The passkey ceremonies post JSON (views/passkey.js); an assertion is a few kilobytes.
  const parseJson = bodyParser({ enableTypes: ['json'], jsonLimit: '64kb' }) as Middleware;
  for (const route of routes) {
    if (route.method === 'get') router.get(route.path, route.handler(deps));
    else router.post(route.path, route.body === 'json' ? parseJson : parseForm, route.handler(deps));
  }
  return router;
}
