/**
 * Which of the languages we have best serves a request. The sources are tried in order, the
 * first that matches wins:
 *
 * 1. `choice`: the person picked a language on the page (the switcher's `?lang=`, kept in a cookie);
 * 2. `uiLocales`: the relying party's `ui_locales`, space-separated BCP 47 tags in order of
 *    preference (OIDC Core §3.1.2.1);
 * 3. `claim`: the signed-in person's `locale` claim;
 * 4. `accepted`: the browser's Accept-Language, already ranked by its q-values;
 * 5. the configured default.
 *
 * A tag matches a language we have exactly (case-insensitive), or by its base language:
 * `de-CH` gets `de`, and `pt` gets `pt-BR` when that is the only Portuguese we have.
 */
export interface LocaleSources {
  choice?: string | null | undefined;
  uiLocales?: string | null | undefined;
  claim?: string | null | undefined;
  accepted?: readonly string[] | undefined;
}

export function matchLocale(supported: readonly string[], tag: string): string | null {
  const wanted = tag.trim().toLowerCase().replace(/_/g, '-');
  if (!wanted || wanted === '*' || wanted.length > 35) return null;
  const exact = supported.find((locale) => locale.toLowerCase() === wanted);
  if (exact) return exact;
  const base = wanted.split('-')[0];
  return supported.find((locale) => locale.toLowerCase() === base)
    ?? supported.find((locale) => locale.toLowerCase().split('-')[0] === base)
    ?? null;
}

export function negotiateLocale(supported: readonly string[], fallback: string, sources: LocaleSources): string {
  const candidates = [
    sources.choice,
    ...(sources.uiLocales ?? '').split(' '),
    sources.claim,
    ...(sources.accepted ?? []),
  ];
  for (const candidate of candidates) {
    if (!candidate) continue;
    const found = matchLocale(supported, candidate);
    if (found) return found;
  }
  return fallback;
}
