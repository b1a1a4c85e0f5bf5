import Router from '@koa/router';
import { bodyParser } from '@koa/bodyparser';
import type { Middleware } from 'koa';
import type { AccountPageDeps } from './deps.ts';
import { showVerifyEmail, submitVerifyEmail } from './verify-email.ts';
import { showResetPassword, submitResetPassword } from './reset-password.ts';

/** Pages opened from links we mail: they stand alone, outside any sign-in in progress. */
export function accountPageRouter(deps: AccountPageDeps): Router {
  const router = new Router();
  const parseForm = bodyParser({ enableTypes: ['form'], formLimit: '16kb' }) as Middleware;
  router.get('/account/verify-email', showVerifyEmail(deps));
  router.post('/account/verify-email', parseForm, submitVerifyEmail(deps));
  router.get('/account/reset-password', showResetPassword(deps));
  router.post('/account/reset-password', parseForm, submitResetPassword(deps));
  return router;
}
