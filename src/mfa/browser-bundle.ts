import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/**
 * Where @simplewebauthn/browser's UMD bundle is (it defines the global SimpleWebAuthnBrowser),
 * served as /assets/webauthn-browser.js so pages need no build step. The package exports only
 * its entry point, so the bundle is found beside it: the entry for `require` is script/index.js,
 * the bundle dist/bundle/index.umd.min.js (the path its package.json names as "unpkg").
 */
export function webauthnBrowserBundlePath(): string {
  const entry = createRequire(import.meta.url).resolve('@simplewebauthn/browser');
  return join(dirname(entry), '..', 'dist', 'bundle', 'index.umd.min.js');
}
