import { afterAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.ts';

// A directory without config/idp.json: only the environment given here counts.
const cwd = mkdtempSync(join(tmpdir(), 'idp-config-'));
const load = (env: Record<string, string>) => () => loadConfig(env, cwd);
afterAll(() => rmSync(cwd, { recursive: true, force: true }));

describe('branding colours', () => {
  it('defaults to accents that pass, and takes others that do', () => {
    expect(loadConfig({}, cwd).branding).toEqual({ name: 'Sign-in', colors: { accent: '#2f5bd3', accentDark: '#8fb0ff' } });
    const branded = loadConfig({ BRAND_NAME: 'Acme ID', BRAND_ACCENT_COLOR: '#1A4FB8', BRAND_ACCENT_COLOR_DARK: '#9ab8ff' }, cwd);
    expect(branded.branding).toEqual({ name: 'Acme ID', colors: { accent: '#1a4fb8', accentDark: '#9ab8ff' } });
    // One colour alone keeps the other's default.
    expect(loadConfig({ BRAND_ACCENT_COLOR_DARK: '#a0c0ff' }, cwd).branding.colors).toEqual({ accent: '#2f5bd3', accentDark: '#a0c0ff' });
  });

  it('refuses an accent that white text or the light card cannot be read against, with the ratio', () => {
    // White on #7b9cff is 2.61:1; the card colour in the message is what the pair is measured against.
    expect(load({ BRAND_ACCENT_COLOR: '#7b9cff' })).toThrow(/branding\.colors\.accent: white button text on #7b9cff has contrast 2\.61:1; at least 4\.5:1 is needed/);
    // #777777 is 4.48:1 with white: just short, and shown rounded down.
    expect(load({ BRAND_ACCENT_COLOR: '#777777' })).toThrow(/branding\.colors\.accent: white button text on #777777 has contrast 4\.47:1/);
    expect(load({ BRAND_ACCENT_COLOR: '#777777' })).toThrow(/#777777 links on the light card \(#ffffff\) has contrast 4\.47:1/);
    expect(loadConfig({ BRAND_ACCENT_COLOR: '#767676' }, cwd).branding.colors.accent).toBe('#767676');
  });

  it('refuses a dark accent too dark for dark text or the dark card', () => {
    expect(load({ BRAND_ACCENT_COLOR_DARK: '#2f5bd3' })).toThrow(/branding\.colors\.accentDark: dark button text \(#0b1020\) on #2f5bd3 has contrast \d\.\d\d:1/);
    expect(load({ BRAND_ACCENT_COLOR_DARK: '#2f5bd3' })).toThrow(/branding\.colors\.accentDark: #2f5bd3 links on the dark card \(#1c212b\) has contrast \d\.\d\d:1/);
  });

  it('refuses what is not #rrggbb, also from the file', () => {
    for (const value of ['2f5bd3', '#fff', 'blue', '#2f5bd3;}', '#2f5bd3ff']) expect(load({ BRAND_ACCENT_COLOR: value })).toThrow(/branding\.colors\.accent: must be a #rrggbb colour/);
    const fileDir = mkdtempSync(join(cwd, 'file-'));
    mkdirSync(join(fileDir, 'config'));
    writeFileSync(join(fileDir, 'config/idp.json'), JSON.stringify({ branding: { colors: { accentDark: 'light blue' } } }));
    expect(() => loadConfig({}, fileDir)).toThrow(/branding\.colors\.accentDark: must be a #rrggbb colour/);
    writeFileSync(join(fileDir, 'config/idp.json'), JSON.stringify({ branding: { colors: { accent: '#2f5bd3', primary: '#000000' } } }));
    expect(() => loadConfig({}, fileDir)).toThrow(/primary/);
  });
});

describe('theme directory and logo', () => {
  const theme = join(cwd, 'theme');
  mkdirSync(join(theme, 'assets/img'), { recursive: true });
  writeFileSync(join(theme, 'assets/img/logo.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  writeFileSync(join(cwd, 'not-a-dir'), '');

  it('resolves THEME_DIR against the working directory', () => {
    expect(loadConfig({}, cwd).themeDir).toBeUndefined();
    expect(loadConfig({ THEME_DIR: 'theme' }, cwd).themeDir).toBe(theme);
    expect(loadConfig({ THEME_DIR: theme }, cwd).themeDir).toBe(theme);
  });

  it('refuses a theme directory that is missing or a file', () => {
    expect(load({ THEME_DIR: 'missing' })).toThrow(`themeDir: no directory at ${join(cwd, 'missing')}`);
    expect(load({ THEME_DIR: 'not-a-dir' })).toThrow(`themeDir: no directory at ${join(cwd, 'not-a-dir')}`);
  });

  it('takes an https logo, or http on a loopback address', () => {
    expect(loadConfig({ BRAND_LOGO_URL: 'https://cdn.example.com/logo.svg' }, cwd).branding.logoUrl).toBe('https://cdn.example.com/logo.svg');
    expect(loadConfig({ BRAND_LOGO_URL: 'http://localhost:8080/logo.png' }, cwd).branding.logoUrl).toBe('http://localhost:8080/logo.png');
    expect(loadConfig({ BRAND_LOGO_URL: 'http://127.0.0.1/logo.png' }, cwd).branding.logoUrl).toBe('http://127.0.0.1/logo.png');
    for (const value of ['http://cdn.example.com/logo.svg', 'javascript:alert(1)', 'data:image/svg+xml,<svg/>', 'ftp://example.com/logo.png', 'logo.svg', '//cdn.example.com/logo.svg']) {
      expect(load({ BRAND_LOGO_URL: value })).toThrow(/branding\.logoUrl: must be an https URL/);
    }
  });

  it('takes a theme image that exists, and refuses one that does not or cannot be served', () => {
    expect(loadConfig({ THEME_DIR: 'theme', BRAND_LOGO_URL: '/assets/theme/img/logo.svg' }, cwd).branding.logoUrl).toBe('/assets/theme/img/logo.svg');
    expect(load({ THEME_DIR: 'theme', BRAND_LOGO_URL: '/assets/theme/logo.png' })).toThrow(`branding.logoUrl: no file at ${join(theme, 'assets/logo.png')}`);
    expect(load({ BRAND_LOGO_URL: '/assets/theme/img/logo.svg' })).toThrow(/branding\.logoUrl: a theme file needs a theme directory/);
    for (const value of ['/assets/theme/../style.css', '/assets/theme/img/../logo.svg', '/assets/theme/.logo.svg', '/assets/theme/logo.txt', '/assets/logo.svg', '/assets/theme/']) {
      expect(load({ THEME_DIR: 'theme', BRAND_LOGO_URL: value })).toThrow(/branding\.logoUrl: must be an https URL/);
    }
  });
});
