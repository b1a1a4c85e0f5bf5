import Router from '@koa/router';
import { bodyParser } from '@koa/bodyparser';
import type { Context, Middleware } from 'koa';
import type { AccountConsoleDeps } from './deps.ts';
import { consoleSessions, type ConsoleSessions } from './console-session.ts';
import { freshSignIn, sameSession, signedIn } from './guard.ts';
import { jsonErrors } from './json.ts';
import { pendingTotp, type PendingTotp } from './pending-totp.ts';
import { codesToShow, type CodesToShow } from './shown-codes.ts';
import { accountCallback } from './callback.ts';
import { consoleLogout } from './logout.ts';
import { showSecurity } from './security-page.ts';
import { confirmTotpEnrolment, showTotpEnrolment } from './totp-enrolment.ts';
import { makeRecoveryCodes, showNewRecoveryCodes, showRecoveryCodes } from './recovery-codes.ts';
import { removeFactor, removePage, showRemoveFactor } from './remove-factor.ts';
import { passkeyNeedsScript, passkeyOptions, registerPasskey, showPasskeyEnrolment } from './passkey-enrolment.ts';
import { renamePasskey, showRenamePasskey } from './passkey-rename.ts';
import { CONSOLE_HOME } from './return-path.ts';
import { saveProfile, showProfile } from './profile-page.ts';
import { requestEmailChange, showEmailChange } from './email-change-page.ts';
import { confirmEmailChange, showEmailConfirm } from './email-confirm-page.ts';
import { changePassword, showPasswordChange } from './password-page.ts';
import { showSessions } from './sessions-page.ts';
import { endOneSession, endOtherSessions } from './end-session.ts';
import { showApps } from './apps-page.ts';
import { removeApp, withdrawScope } from './withdraw-app.ts';
import { showLinked, LINKED_PAGE } from './linked-page.ts';
import { startLink } from './link-start.ts';
import { finishLink } from './link-callback.ts';
import { showUnlink, unlink, unlinkPage } from './unlink.ts';
import { showData } from './data-page.ts';
import { downloadData } from './data-export.ts';
import { deleteAccount, DELETE_PAGE, DELETED_PAGE, showAccountDeleted, showDeleteAccount } from './delete-account.ts';

interface Stores {
  sessions: ConsoleSessions;
  pending: PendingTotp;
  codes: CodesToShow;
}

interface Route {
  method: 'get' | 'post';
  path: string;
  /** `page`: forms and pages (sign in first when signed out); `json`: the passkey script's calls. */
  answer: 'page' | 'json';
  /**
   * Adds or removes a factor (or replaces the recovery codes): needs a recent sign-in. For a
   * POST, the page to come back to after signing in again, where the action begins.
   */
  fresh?: true | ((ctx: Context) => string);
  handler: (deps: AccountConsoleDeps, stores: Stores) => Middleware;
}

/** The account console's routes (issue 13 §3); each POST checks the session's CSRF token. */
const routes: Route[] = [
  // Profile, sign-in address and password (issue 14 §1, §2). The address and the password need a
  // fresh sign-in; the mailed link's page needs only the same account signed in.
  { method: 'get', path: '/account/profile', answer: 'page', handler: showProfile },
  { method: 'post', path: '/account/profile', answer: 'page', handler: saveProfile },
  { method: 'get', path: '/account/email', answer: 'page', fresh: true, handler: showEmailChange },
  { method: 'post', path: '/account/email', answer: 'page', fresh: () => '/account/email', handler: requestEmailChange },
  { method: 'get', path: '/account/email/confirm', answer: 'page', handler: showEmailConfirm },
  { method: 'post', path: '/account/email/confirm', answer: 'page', handler: confirmEmailChange },
  { method: 'get', path: '/account/password', answer: 'page', fresh: true, handler: showPasswordChange },
  { method: 'post', path: '/account/password', answer: 'page', fresh: () => '/account/password', handler: changePassword },
  { method: 'get', path: '/account/security', answer: 'page', handler: showSecurity },
  { method: 'get', path: '/account/security/totp', answer: 'page', fresh: true, handler: (deps, { pending }) => showTotpEnrolment(deps, pending) },
  { method: 'post', path: '/account/security/totp', answer: 'page', fresh: () => '/account/security/totp', handler: (deps, { pending, codes }) => confirmTotpEnrolment(deps, pending, codes) },
  { method: 'get', path: '/account/security/recovery-codes', answer: 'page', handler: (deps, { codes }) => showRecoveryCodes(deps, codes) },
  { method: 'get', path: '/account/security/recovery-codes/new', answer: 'page', fresh: true, handler: showNewRecoveryCodes },
  { method: 'post', path: '/account/security/recovery-codes', answer: 'page', fresh: () => '/account/security/recovery-codes/new', handler: (deps, { codes }) => makeRecoveryCodes(deps, codes) },
  { method: 'get', path: '/account/security/passkeys/new', answer: 'page', fresh: true, handler: showPasskeyEnrolment },
  { method: 'post', path: '/account/security/passkeys/new', answer: 'page', handler: passkeyNeedsScript },
  { method: 'post', path: '/account/security/passkeys/options', answer: 'json', fresh: true, handler: passkeyOptions },
  { method: 'post', path: '/account/security/passkeys', answer: 'json', fresh: true, handler: (deps, { codes }) => registerPasskey(deps, codes) },
  { method: 'get', path: '/account/security/passkeys/:id/name', answer: 'page', handler: showRenamePasskey },
  { method: 'post', path: '/account/security/passkeys/:id/name', answer: 'page', handler: renamePasskey },
  { method: 'get', path: '/account/security/factors/:id/remove', answer: 'page', fresh: true, handler: showRemoveFactor },
  { method: 'post', path: '/account/security/factors/:id/remove', answer: 'page', fresh: removePage, handler: removeFactor },
  // Sessions and devices, connected apps (issue 14 §4, §5). Taking access away protects the
  // person, so it needs no fresh sign-in.
  { method: 'get', path: '/account/sessions', answer: 'page', handler: showSessions },
  { method: 'post', path: '/account/sessions/end-others', answer: 'page', handler: endOtherSessions },
  { method: 'post', path: '/account/sessions/:uid/end', answer: 'page', handler: (deps, { sessions }) => endOneSession(deps, sessions) },
  { method: 'get', path: '/account/apps', answer: 'page', handler: showApps },
  { method: 'post', path: '/account/apps/:clientId/withdraw-scope', answer: 'page', handler: withdrawScope },
  { method: 'post', path: '/account/apps/:clientId/remove', answer: 'page', handler: removeApp },
  // Linked accounts and your data (issue 14 §6, §7).
  { method: 'get', path: LINKED_PAGE, answer: 'page', handler: showLinked },
  { method: 'post', path: '/account/linked/:upstream/link', answer: 'page', fresh: () => LINKED_PAGE, handler: startLink },
  { method: 'get', path: '/account/linked/:upstream/callback', answer: 'page', handler: finishLink },
  { method: 'get', path: '/account/linked/:upstream/unlink', answer: 'page', fresh: true, handler: showUnlink },
  { method: 'post', path: '/account/linked/:upstream/unlink', answer: 'page', fresh: unlinkPage, handler: unlink },
  { method: 'get', path: '/account/data', answer: 'page', handler: showData },
  { method: 'get', path: '/account/data/export', answer: 'page', handler: downloadData },
  { method: 'get', path: DELETE_PAGE, answer: 'page', fresh: true, handler: showDeleteAccount },
  { method: 'post', path: DELETE_PAGE, answer: 'page', fresh: () => DELETE_PAGE, handler: (deps, { sessions }) => deleteAccount(deps, sessions) },
];

/**
 * The account console: a client of this provider (src/account/client.ts) with its own session,
 * mounted beside the pages of mailed links (src/account-pages), which stand alone.
 */
export function accountConsoleRouter(deps: AccountConsoleDeps): Router {
  const stores: Stores = {
    sessions: consoleSessions(deps.attempts, deps.clock, deps.config.account.idleSeconds),
    pending: pendingTotp(deps.attempts),
    codes: codesToShow(deps.attempts),
  };
  const router = new Router();
  const parse = {
    page: bodyParser({ enableTypes: ['form'], formLimit: '16kb' }) as Middleware,
    // A registration response with its attestation object: a few kilobytes.
    json: bodyParser({ enableTypes: ['json'], jsonLimit: '64kb' }) as Middleware,
  };
  router.get('/account', (ctx) => {
    ctx.status = 303;
    ctx.redirect(CONSOLE_HOME);
  });
  router.get('/account/callback', accountCallback(deps, stores.sessions));
  // After deleting the account there is no session to be signed in to.
  router.get(DELETED_PAGE, showAccountDeleted(deps));
  // Not behind `signedIn`: signing out of a session that already ended only continues on.
  router.post('/account/logout', parse.page, consoleLogout(deps, stores.sessions));
  for (const route of routes) {
    const post = route.method === 'post';
    const stack: Middleware[] = route.answer === 'json' ? [jsonErrors(deps.pages)] : [];
    if (post) stack.push(parse[route.answer]);
    stack.push(signedIn(deps, stores.sessions, route.answer));
    if (post) stack.push(sameSession(deps, route.answer));
    if (route.fresh) stack.push(freshSignIn(deps, route.answer, route.fresh === true ? undefined : route.fresh));
    stack.push(route.handler(deps, stores));
    router[route.method](route.path, ...stack);
  }
  return router;
}
