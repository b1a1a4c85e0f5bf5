import { expect } from 'vitest';
import { createCatalogue, type Catalogue, type Translate } from '../../src/i18n/catalogue.ts';
import { createPages, type PageData } from '../../src/pages/render.ts';
import { fakeContext } from './fake-context.ts';

/**
 * Renders each fixture page in `locale` with the catalogue in strict mode (no English stands in),
 * checks each is a whole page in that language, and returns the strict catalogue (for mails),
 * its bound `t` and the list that collects every message missing so far: callers add the words their handlers pick themselves,
 * then expect the list empty.
 */
export function renderStrict(locale: string, fixtures: ReadonlyArray<readonly [string, string, PageData]>, page: { path: string; data?: PageData }): { t: Translate; missing: string[]; catalogue: Catalogue } {
  const missing: string[] = [];
  const catalogue = createCatalogue({ strict: true, onMissing: (lng, key) => missing.push(`${lng}: ${key}`) });
  const pages = createPages({ brand: { name: 'Acme ID' }, catalogue });
  const t = catalogue.t(locale);
  for (const [view, title, data] of fixtures) {
    const ctx = fakeContext({ lang: locale, path: page.path });
    pages.render(ctx, view, { csrf: 'csrf', ...page.data, ...data, title: t(title) });
    expect(ctx.body, view).toContain(`<html lang="${locale}"`);
    expect(ctx.body, view).toContain('<h1>');
  }
  return { t, missing, catalogue };
}
