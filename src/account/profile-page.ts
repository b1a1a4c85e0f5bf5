import type { Context, Middleware } from 'koa';
import type { Account } from '../accounts/repository.ts';
import type { ProfileField, ProfileInput, ProfileProblem } from '../accounts/profile-fields.ts';
import { formFields } from '../interactions/form.ts';
import type { AccountConsoleDeps } from './deps.ts';
import { consoleChange } from './change-context.ts';
import { isFresh } from './console-session.ts';
import { visitOf } from './guard.ts';
import { renderConsole } from './render.ts';

/** What the page can say was just done (`?done=`): only these, so a link cannot put words on it. */
const DONE = new Set(['saved', 'unchanged', 'email_changed', 'password_changed', 'password_set']);

/** The form's field names: the claims' own (OIDC Core §5.1). */
const FORM_NAMES: Record<ProfileField, string> = { name: 'name', givenName: 'given_name', familyName: 'family_name', picture: 'picture', locale: 'locale' };

type Values = Record<ProfileField, string>;

const valuesOf = (account: Account): Values => ({
  name: account.name ?? '', givenName: account.givenName ?? '', familyName: account.familyName ?? '', picture: account.picture ?? '', locale: account.locale ?? '',
});

function render(ctx: Context, deps: AccountConsoleDeps, values: Values, problems: ProfileProblem[], notice: string | null): void {
  const { account, session } = visitOf(ctx);
  const t = deps.pages.t(ctx);
  const { catalogue } = deps.pages;
  const locales = deps.settings.profile.locales.map((locale) => ({ value: locale, name: catalogue.nativeName(locale) }));
  // A language an operator set that the pages do not speak stays choosable, so saving keeps it.
  if (account.locale && !locales.some((locale) => locale.value === account.locale)) locales.push({ value: account.locale, name: account.locale });
  const problem = Object.fromEntries(problems.map((found) => [found.field, t(`account.profile.problems.${found.code}`, { count: found.max ?? 0 })]));
  if (problems.length) ctx.status = 400;
  renderConsole(ctx, deps, 'profile', 'account.profile.title', {
    values,
    problem,
    locales,
    notice,
    email: account.email,
    emailVerified: account.emailVerified,
    hasPassword: Boolean(account.passwordHash),
    fresh: isFresh(session, deps.clock, deps.config.account.reauthSeconds),
    reauthMinutes: Math.max(1, Math.round(deps.config.account.reauthSeconds / 60)),
    switchUrl: '/account/profile',
  });
}

/** GET /account/profile: the profile claims to edit, and the ways to the address and the password. */
export function showProfile(deps: AccountConsoleDeps): Middleware {
  return async (ctx) => {
    const done = typeof ctx.query.done === 'string' && DONE.has(ctx.query.done) ? ctx.query.done : null;
    render(ctx, deps, valuesOf(visitOf(ctx).account), [], done ? deps.pages.t(ctx)(`account.profile.done.${done}`) : null);
  };
}

/** POST /account/profile: saves the fields as typed, or shows the form again with a message by each refused one. */
export function saveProfile(deps: AccountConsoleDeps): Middleware {
  return async (ctx) => {
    const form = formFields(ctx);
    // A field the form did not send stays as it is; an empty one clears the claim.
    const typed: ProfileInput = Object.fromEntries(Object.entries(FORM_NAMES).map(([field, name]) => [field, form[name]]));
    const { account } = visitOf(ctx);
    const result = await deps.settings.profile.update(account.id, typed, consoleChange(ctx, deps));
    if (!result.ok) {
      const values = { ...valuesOf(account) };
      for (const [field, value] of Object.entries(typed)) if (value !== undefined) values[field as ProfileField] = value;
      return render(ctx, deps, values, result.problems, null);
    }
    ctx.status = 303;
    ctx.redirect(`/account/profile?done=${result.changed.length ? 'saved' : 'unchanged'}`);
  };
}
