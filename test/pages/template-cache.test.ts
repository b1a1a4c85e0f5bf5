import { describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PageTheme } from '../../src/pages/render.ts';
import { templateCache } from '../../src/pages/render.ts';

/** A theme of its own files only: templatePath maps a relative name into `dir`. */
function themeIn(dir: string): PageTheme {
  return { templatePath: (relative: string) => join(dir, relative) } as unknown as PageTheme;
}

describe('template cache', () => {
  const dir = mkdtempSync(join(tmpdir(), 'idp-templates-'));
  mkdirSync(join(dir, 'partials'));
  writeFileSync(join(dir, 'partials/value.ejs'), '[<%= it.value %>]');
  writeFileSync(join(dir, 'page.ejs'), '<%- include("partials/value", { value: it.value }) %>');
  const plain = (value: unknown) => String(value);

  it('compiles a partial once: a change on disk after the first render is not read again', () => {
    const sub = mkdtempSync(join(tmpdir(), 'idp-templates-'));
    mkdirSync(join(sub, 'partials'));
    writeFileSync(join(sub, 'partials/value.ejs'), 'first <%= it.value %>');
    writeFileSync(join(sub, 'page.ejs'), '<%- include("partials/value", { value: it.value }) %>');
    const template = templateCache(themeIn(sub));
    expect(template('page.ejs')({ value: 'a' })).toBe('first a');
    writeFileSync(join(sub, 'partials/value.ejs'), 'second <%= it.value %>');
    expect(template('page.ejs')({ value: 'b' })).toBe('first b');
  });

  it('keeps the partials of a cache with its own escape apart from the HTML ones, whichever renders first', () => {
    const html = templateCache(themeIn(dir));
    const text = templateCache(themeIn(dir), { escape: plain, variant: 'text' });
    expect(html('page.ejs')({ value: '<b>&' })).toBe('[&lt;b&gt;&amp;]');
    expect(text('page.ejs')({ value: '<b>&' })).toBe('[<b>&]');
    // And again in the other order, from fresh caches over the same files.
    const text2 = templateCache(themeIn(dir), { escape: plain, variant: 'text' });
    const html2 = templateCache(themeIn(dir));
    expect(text2('page.ejs')({ value: '"q"' })).toBe('["q"]');
    expect(html2('page.ejs')({ value: '"q"' })).toBe('[&#34;q&#34;]');
  });

  it('refuses an escape without a variant name, which would share HTML partials', () => {
    expect(() => templateCache(themeIn(dir), { escape: plain })).toThrow(/variant/);
  });
});
