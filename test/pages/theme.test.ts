import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { createTheme, themeAssets, type Theme } from '../../src/pages/theme.ts';
import { viewsDir } from '../../src/pages/render.ts';

const colors = { accent: '#2f5bd3', accentDark: '#8fb0ff' };
const svg = '<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"><script>alert(1)</script></svg>';

let base: string;
let dir: string;
let theme: Theme;
let server: Server;
let origin: string;

beforeAll(async () => {
  base = mkdtempSync(join(tmpdir(), 'idp-theme-'));
  dir = join(base, 'theme');
  mkdirSync(join(dir, 'views/mail'), { recursive: true });
  mkdirSync(join(dir, 'assets/img'), { recursive: true });
  mkdirSync(join(dir, 'assets/folder.png'));
  writeFileSync(join(dir, 'views/login.ejs'), '<p>themed login</p>');
  writeFileSync(join(dir, 'views/mail/verify-email.html.ejs'), '<p>themed mail</p>');
  writeFileSync(join(dir, 'style.css'), '.card { border-radius: 0; }\n');
  writeFileSync(join(dir, 'assets/logo.svg'), svg);
  writeFileSync(join(dir, 'assets/img/mark.PNG'), Buffer.from([0x89, 0x50, 0x4e, 0x47]));
  writeFileSync(join(dir, 'assets/font.woff2'), 'wOF2');
  writeFileSync(join(dir, 'assets/notes.txt'), 'not a served type');
  writeFileSync(join(dir, 'assets/.hidden.png'), 'hidden');
  writeFileSync(join(dir, 'assets/big.png'), Buffer.alloc(1024 * 1024 + 1));
  // Outside assets/: in the theme directory, and outside it altogether.
  writeFileSync(join(dir, 'secret.png'), 'theme secret');
  writeFileSync(join(base, 'outside.png'), 'outside secret');
  symlinkSync(join(base, 'outside.png'), join(dir, 'assets/escape.png'));
  symlinkSync(join(dir, 'secret.png'), join(dir, 'assets/up.png'));
  symlinkSync(join(dir, 'assets/logo.svg'), join(dir, 'assets/alias.svg'));
  theme = createTheme({ themeDir: dir, colors, logoUrl: '/assets/theme/logo.svg', builtinViewsDir: viewsDir });

  const app = new Koa();
  app.use(themeAssets(theme));
  app.use((ctx) => {
    ctx.status = 404;
    ctx.body = 'fell through';
  });
  server = createServer(app.callback()).listen(0, '127.0.0.1');
  await once(server, 'listening');
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server?.close();
  if (base) rmSync(base, { recursive: true, force: true });
});

// fetch normalises dot segments (also %2e) before sending, so traversal attempts go out raw.
function raw(path: string, method = 'GET'): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(`${origin}/`, { method, path }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks).toString(), headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('theme templates', () => {
  it('uses the theme file where there is one and the built-in one otherwise', () => {
    expect(theme.templatePath('login.ejs')).toBe(join(dir, 'views/login.ejs'));
    expect(theme.templatePath('mail/verify-email.html.ejs')).toBe(join(dir, 'views/mail/verify-email.html.ejs'));
    expect(theme.templatePath('consent.ejs')).toBe(join(viewsDir, 'consent.ejs'));
    expect(theme.templatePath('mail/reset-password.html.ejs')).toBe(join(viewsDir, 'mail/reset-password.html.ejs'));
  });

  it('decides once per name, not on every render', () => {
    const local = createTheme({ themeDir: dir, colors, builtinViewsDir: viewsDir });
    expect(local.templatePath('register.ejs')).toBe(join(viewsDir, 'register.ejs'));
    writeFileSync(join(dir, 'views/register.ejs'), 'added later');
    expect(local.templatePath('register.ejs')).toBe(join(viewsDir, 'register.ejs'));
    // A theme created after the file exists uses it.
    expect(createTheme({ themeDir: dir, colors, builtinViewsDir: viewsDir }).templatePath('register.ejs')).toBe(join(dir, 'views/register.ejs'));
  });

  it('refuses template names that leave the views directory', () => {
    expect(() => theme.templatePath('../style.css')).toThrow(/not a template name/);
    expect(() => theme.templatePath('/etc/passwd')).toThrow(/not a template name/);
  });

  it('without a theme directory, everything is built in', () => {
    const plain = createTheme({ themeDir: null, colors, builtinViewsDir: viewsDir });
    expect(plain.dir).toBeNull();
    expect(plain.templatePath('login.ejs')).toBe(join(viewsDir, 'login.ejs'));
    expect(plain.extraCss).toBeNull();
    expect(plain.logoUrl).toBeNull();
  });
});

describe('theme styles', () => {
  it('sets the accent and the text on it, for light and dark mode', () => {
    const { brandCss } = createTheme({ themeDir: null, colors: { accent: '#1a4fb8', accentDark: '#9ab8ff' }, builtinViewsDir: viewsDir });
    expect(brandCss).toMatch(/^:root \{ --accent: #1a4fb8; --on-accent: #ffffff; \}/);
    expect(brandCss).toMatch(/@media \(prefers-color-scheme: dark\) \{ :root \{ --accent: #9ab8ff; --on-accent: #0b1020; \} \}/);
  });

  it('refuses a colour that is not #rrggbb, so nothing else reaches the CSS', () => {
    expect(() => createTheme({ themeDir: null, colors: { accent: 'red;} body{display:none', accentDark: '#8fb0ff' }, builtinViewsDir: viewsDir })).toThrow(/#rrggbb/);
  });

  it("reads the theme's style.css once, at creation", () => {
    expect(theme.extraCss).toBe('.card { border-radius: 0; }\n');
    expect(theme.logoUrl).toBe('/assets/theme/logo.svg');
  });

  it('links the brand colours, then the theme stylesheet, each versioned by its content', async () => {
    expect(theme.stylesheets).toEqual([expect.stringMatching(/^\/assets\/brand\.css\?v=[0-9a-f]{12}$/), expect.stringMatching(/^\/assets\/theme\.css\?v=[0-9a-f]{12}$/)]);
    const other = createTheme({ themeDir: null, colors: { ...colors, accent: '#1a4fb8' }, builtinViewsDir: viewsDir });
    expect(other.stylesheets).toHaveLength(1);
    expect(other.stylesheets[0]).not.toBe(theme.stylesheets[0]);

    const brand = await fetch(`${origin}${theme.stylesheets[0]}`);
    expect(brand.headers.get('content-type')).toBe('text/css; charset=utf-8');
    expect(brand.headers.get('cache-control')).toBe('public, max-age=3600');
    expect(await brand.text()).toBe(theme.brandCss);
    expect(await (await fetch(`${origin}${theme.stylesheets[1]}`)).text()).toBe('.card { border-radius: 0; }\n');
  });
});

describe('theme assets', () => {
  it('serves files under assets/ with their type and a cache lifetime', async () => {
    const logo = await fetch(`${origin}/assets/theme/logo.svg`);
    expect(logo.status).toBe(200);
    expect(logo.headers.get('content-type')).toBe('image/svg+xml');
    expect(logo.headers.get('cache-control')).toBe('public, max-age=3600');
    // A hostile SVG opened on its own cannot run its script.
    expect(logo.headers.get('content-security-policy')).toBe("default-src 'none'; style-src 'unsafe-inline'");
    expect(await logo.text()).toBe(svg);

    const mark = await fetch(`${origin}/assets/theme/img/mark.PNG`);
    expect(mark.status).toBe(200);
    expect(mark.headers.get('content-type')).toBe('image/png');
    expect(mark.headers.get('content-security-policy')).toBeNull();
    expect(Buffer.from(await mark.arrayBuffer())).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47]));

    const font = await fetch(`${origin}/assets/theme/font.woff2`);
    expect(font.headers.get('content-type')).toBe('font/woff2');

    // A symlink that stays inside assets/ is fine.
    expect((await fetch(`${origin}/assets/theme/alias.svg`)).status).toBe(200);
  });

  it('answers HEAD without a body and leaves other methods alone', async () => {
    const head = await raw('/assets/theme/logo.svg', 'HEAD');
    expect(head.status).toBe(200);
    expect(head.headers['content-length']).toBe(String(Buffer.byteLength(svg)));
    expect(head.body).toBe('');
    expect((await raw('/assets/theme/logo.svg', 'POST')).body).toBe('fell through');
  });

  it('passes on what it does not serve: missing, unknown types, directories, hidden and oversized files', async () => {
    for (const path of ['/assets/theme/missing.png', '/assets/theme/notes.txt', '/assets/theme/folder.png', '/assets/theme/img', '/assets/theme/', '/assets/theme/.hidden.png', '/assets/theme/big.png', '/assets/themelogo.svg']) {
      const res = await raw(path);
      expect({ path, status: res.status, body: res.body }).toEqual({ path, status: 404, body: 'fell through' });
    }
  });

  it('never leaves the assets directory', async () => {
    const attempts = [
      '/assets/theme/../../etc/passwd',
      '/assets/theme/../secret.png',
      '/assets/theme/img/../../secret.png',
      '/assets/theme/%2e%2e/secret.png',
      '/assets/theme/%2e%2e%2fsecret.png',
      '/assets/theme/img%2f..%2f..%2fsecret.png',
      '/assets/theme/..%5csecret.png',
      '/assets/theme/%2fetc%2fpasswd',
      `/assets/theme/${encodeURIComponent(join(dir, 'secret.png'))}`,
      '/assets/theme/logo.svg%00.png',
      '/assets/theme/%00',
      '/assets/theme/%zz.png',
      '/assets/theme//etc/passwd',
      // Symlinks that lead out of assets/.
      '/assets/theme/escape.png',
      '/assets/theme/up.png',
    ];
    for (const path of attempts) {
      const res = await raw(path);
      expect({ path, status: res.status, body: res.body }).toEqual({ path, status: 404, body: 'fell through' });
    }
  });

  it('passes everything on without a theme directory, without assets/ or without style.css', async () => {
    const bare = mkdtempSync(join(base, 'bare-'));
    for (const themeDir of [null, bare]) {
      const passOn = themeAssets(createTheme({ themeDir, colors, builtinViewsDir: viewsDir }));
      for (const path of ['/assets/theme/logo.svg', '/assets/theme.css']) {
        let passed = false;
        await passOn({ method: 'GET', path } as never, async () => { passed = true; });
        expect({ themeDir, path, passed }).toEqual({ themeDir, path, passed: true });
      }
    }
  });
});
