import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/**
 * Debian's Chromium, driven by playwright-core. playwright-core never downloads a browser: we
 * point it at the system binary (`apt-get install -y chromium`).
 */
export const CHROMIUM_PATH = '/usr/bin/chromium';

export function hasChromium(): boolean {
  return existsSync(CHROMIUM_PATH);
}

/** Headless Chromium; `extraArgs` (for example `--enable-features=...`) go after Playwright's switches and ours. */
export async function launchChromium(extraArgs: string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    // --no-sandbox: CI runs as root in a container, where Chromium's sandbox cannot start.
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', ...extraArgs],
  });
}

/**
 * Whether Chromium is missing; if so, says loudly that `file`'s real-browser test is skipped and
 * how to install it (a skipped browser test must not pass unnoticed).
 */
export function warnIfChromiumMissing(file: string): boolean {
  if (hasChromium()) return false;
  console.warn([
    '',
    '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!',
    `!! SKIPPED the real-browser test ${file}: ${CHROMIUM_PATH} is missing.`,
    '!! Install Debian\'s Chromium to run it:  apt-get install -y chromium',
    '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!',
    '',
  ].join('\n'));
  return true;
}
