import { createHash } from 'node:crypto';
import { readFileSync, realpathSync, statSync } from 'node:fs';
import { open, realpath } from 'node:fs/promises';
import { extname, isAbsolute, join, sep } from 'node:path';
import type { Middleware } from 'koa';
import { parseHex } from './contrast.ts';

/**
 * The operator's look: a theme directory (optional) and the brand colours. Layout of the
 * directory: views/<name>.ejs and views/mail/<name>.ejs override the built-in templates,
 * assets/ is served under /assets/theme/, style.css is added after the built-in stylesheet
 * (locales/ is read by the translations, not here).
 */
export interface Theme {
  /** Absolute theme directory, or null without one. */
  dir: string | null;
  /** `login.ejs`, `mail/verify-email.html.ejs` → the theme's file if it has one, else the built-in one. */
  templatePath(relative: string): string;
  /** Custom properties for the brand colours, to follow the built-in stylesheet. */
  brandCss: string;
  /** The theme's style.css, read once; null without one. */
  extraCss: string | null;
  logoUrl: string | null;
  /**
   * URLs of brandCss, then extraCss, for the layout to link after /assets/style.css (the CSP
   * allows only 'self' stylesheets, no inline ones). themeAssets serves them; the query is a
   * digest of the content, so a changed colour is not hidden behind a cached copy.
   */
  stylesheets: readonly string[];
}

export interface ThemeOptions {
  themeDir: string | null | undefined;
  colors: { accent: string; accentDark: string };
  logoUrl?: string | null | undefined;
  /** The built-in views directory, e.g. viewsDir from render.ts. */
  builtinViewsDir: string;
}

// Text on the accent: white in light mode, near-black on the lighter dark-mode accent. The
// configuration refuses colours that do not reach 4.5:1 with these (src/config/schema.ts).
const onAccent = '#ffffff';
const onAccentDark = '#0b1020';

const brandCssPath = '/assets/brand.css';
const extraCssUrlPath = '/assets/theme.css';
const versioned = (path: string, text: string) => `${path}?v=${createHash('sha256').update(text).digest('hex').slice(0, 12)}`;

const isFile = (path: string): boolean => statSync(path, { throwIfNoEntry: false })?.isFile() ?? false;

export function createTheme(options: ThemeOptions): Theme {
  const dir = options.themeDir ?? null;
  if (dir !== null && !isAbsolute(dir)) throw new Error(`the theme directory must be absolute: ${dir}`);
  // parseHex throws on anything but #rrggbb, so nothing else can reach the CSS text.
  parseHex(options.colors.accent);
  parseHex(options.colors.accentDark);
  const brandCss = `:root { --accent: ${options.colors.accent}; --on-accent: ${onAccent}; }\n`
    + `@media (prefers-color-scheme: dark) { :root { --accent: ${options.colors.accentDark}; --on-accent: ${onAccentDark}; } }\n`;
  const extraCssPath = dir === null ? null : join(dir, 'style.css');
  const extraCss = extraCssPath !== null && isFile(extraCssPath) ? readFileSync(extraCssPath, 'utf8') : null;

  // Looked up once per name: a page render must not touch the disk.
  const resolved = new Map<string, string>();
  const templatePath = (relative: string): string => {
    let path = resolved.get(relative);
    if (path === undefined) {
      if (isAbsolute(relative) || relative.split(/[/\\]/).includes('..')) throw new Error(`not a template name: ${relative}`);
      const own = dir === null ? null : join(dir, 'views', relative);
      path = own !== null && isFile(own) ? own : join(options.builtinViewsDir, relative);
      resolved.set(relative, path);
    }
    return path;
  };

  const stylesheets = [versioned(brandCssPath, brandCss), ...(extraCss === null ? [] : [versioned(extraCssUrlPath, extraCss)])];
  return { dir, templatePath, brandCss, extraCss, logoUrl: options.logoUrl ?? null, stylesheets };
}

export const themeAssetPrefix = '/assets/theme/';
const maxAssetBytes = 1024 * 1024;
const assetTypes: Record<string, string> = {
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.webp': 'image/webp',
  '.gif': 'image/gif',
  '.ico': 'image/x-icon',
  '.css': 'text/css; charset=utf-8',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
};
// An SVG opened on its own is a document that can run script; this keeps it an image.
const svgPolicy = "default-src 'none'; style-src 'unsafe-inline'";

/**
 * The path segments under assets/ named by the raw (still percent-encoded) request path, or
 * null. Each segment is decoded on its own, so an encoded slash cannot join two of them; dot
 * segments, hidden files, backslashes and NUL are refused outright.
 */
function assetSegments(rawPath: string): string[] | null {
  const segments: string[] = [];
  for (const raw of rawPath.split('/')) {
    let segment: string;
    try {
      segment = decodeURIComponent(raw);
    } catch {
      return null;
    }
    if (segment === '' || segment.startsWith('.') || /[/\\\0]/.test(segment)) return null;
    segments.push(segment);
  }
  return segments;
}

/**
 * GET/HEAD /assets/brand.css, /assets/theme.css (the theme's style.css) and /assets/theme/<file>
 * from <themeDir>/assets/. Anything it does not serve (another path, a missing or oversized
 * file, a directory, a path that leaves the directory, an unknown type) goes on to the next
 * middleware, which answers 404.
 */
export function themeAssets(theme: Theme): Middleware {
  const assetsDir = theme.dir === null ? null : join(theme.dir, 'assets');
  const root = assetsDir !== null && statSync(assetsDir, { throwIfNoEntry: false })?.isDirectory() ? realpathSync(assetsDir) : null;
  const css = new Map([[brandCssPath, theme.brandCss], ...(theme.extraCss === null ? [] : [[extraCssUrlPath, theme.extraCss] as const])]);
  return async (ctx, next) => {
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') return next();
    const text = css.get(ctx.path);
    if (text !== undefined) {
      ctx.set('cache-control', 'public, max-age=3600');
      ctx.type = 'text/css; charset=utf-8';
      ctx.body = text;
      return;
    }
    if (root === null || !ctx.path.startsWith(themeAssetPrefix)) return next();
    const segments = assetSegments(ctx.path.slice(themeAssetPrefix.length));
    const type = segments && assetTypes[extname(segments.at(-1)!).toLowerCase()];
    if (!segments || !type) return next();
    const body = await readAsset(root, segments);
    if (!body) return next();
    ctx.set('cache-control', 'public, max-age=3600');
    if (type === 'image/svg+xml') ctx.set('content-security-policy', svgPolicy);
    ctx.type = type;
    ctx.body = body;
  };
}

// realpath resolves every symlink, so the prefix check sees where the file really is.
async function readAsset(root: string, segments: string[]): Promise<Buffer | null> {
  let real: string;
  try {
    real = await realpath(join(root, ...segments));
  } catch {
    return null;
  }
  if (!real.startsWith(root + sep)) return null;
  const file = await open(real, 'r').catch(() => null);
  if (!file) return null;
  try {
    const stat = await file.stat();
    if (!stat.isFile() || stat.size > maxAssetBytes) return null;
    return await file.readFile();
  } finally {
    await file.close();
  }
}
