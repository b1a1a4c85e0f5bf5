import type { KoaContextWithOIDC, ErrorOut } from 'oidc-provider';
import type { Pages } from '../pages/render.ts';
import { classifyError, renderErrorPage } from '../http/error-view.ts';
import { readProviderForm } from './device-form.ts';
import { noteWrongGuess, prefilledUserCode } from './device-code-entry.ts';
import { renderDeviceDone } from './device-done-page.ts';

/**
 * oidc-provider's re-render errors (lib/helpers/re_render_errors.js), by name: its classes are
 * not part of its public API. Each is the code page again, with what was wrong.
 */
const PROBLEMS: Record<string, { key: string; wrongGuess: boolean }> = {
  NoCodeError: { key: 'device.code.missing', wrongGuess: false },
  NotFoundError: { key: 'device.code.not_found', wrongGuess: true },
  ExpiredError: { key: 'device.code.expired', wrongGuess: true },
  AlreadyUsedError: { key: 'device.code.used', wrongGuess: true },
};

/** Longer than any code anyone typed (8 characters, with spaces or dashes): not shown again. */
const MAX_SHOWN = 32;

/**
 * `features.deviceFlow.userCodeInputSource`: the page that asks for the code on the device's
 * screen. oidc-provider calls it for `GET /device`, and again with the error when a posted code
 * is wrong, a form is stale, or the person denied or cancelled (AbortedError, shown as the
 * done page's "denied" state).
 */
export function userCodeInputSource(pages: Pages) {
  return async (ctx: KoaContextWithOIDC, form: string, _out?: ErrorOut, err?: Error): Promise<void> => {
    if (err?.name === 'AbortedError') {
      renderDeviceDone(pages, ctx, 'denied');
      return;
    }
    let problem: string | null = null;
    let entered = err ? (err as { userCode?: string }).userCode ?? '' : prefilledUserCode(ctx) ?? '';
    if (err) {
      const known = PROBLEMS[err.name];
      if (known) {
        problem = known.key;
        if (known.wrongGuess) noteWrongGuess(ctx);
      } else if ((err as { error?: string }).error === 'invalid_request') {
        // A missing or stale xsrf token (the page was open too long, or came from elsewhere), or
        // a field sent twice: nothing was looked up.
        problem = 'device.code.stale';
      } else {
        // Anything else (storage unavailable, a client gone) is the error page, as oidc-provider's
        // other errors are (renderError in src/oidc/provider.ts).
        renderErrorPage(pages, ctx, classifyError(err));
        return;
      }
      ctx.status = 400;
    }
    // Not shown again, nor in the language links (a GET's links repeat its query).
    const dropped = entered.length > MAX_SHOWN;
    if (dropped) {
      entered = '';
      if (!err) {
        problem = 'device.code.not_found';
        ctx.status = 400;
      }
    }
    const t = pages.t(ctx);
    const { action, xsrf } = readProviderForm(form);
    pages.render(ctx, 'device-code', {
      title: t('device.code.title'),
      action,
      xsrf,
      userCode: entered,
      problem: problem ? t(problem) : null,
      switchUrl: err || dropped ? new URL(action).pathname : undefined,
    });
  };
}
