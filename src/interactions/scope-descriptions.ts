import type { Translate } from '../i18n/catalogue.ts';

const described = new Set(['openid', 'profile', 'email', 'roles', 'offline_access']);

/** What each scope lets the application do, in words a person can judge on the consent page. */
export function describeScope(t: Translate, scope: string): string {
  return described.has(scope) ? t(`scopes.${scope}`) : t('scopes.other', { scope });
}
