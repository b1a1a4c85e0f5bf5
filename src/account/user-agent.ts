/**
 * A short description of a browser from its User-Agent header: the browser's name and major
 * version, and the operating system ("Firefox 128", "Android"), for people recognising their own
 * devices. A few ordered rules rather than a library: ua-parser-js 2 is AGPL-3.0, and this needs
 * only the family, not device models or engines. Order matters, because browsers name the ones
 * they descend from: Edge, Opera and Samsung Internet say Chrome and Safari, Chrome says Safari.
 * Names are products, not words, so they are not translated.
 */
export interface UserAgentSummary {
  browser: string | null;
  os: string | null;
}

const BROWSERS: ReadonlyArray<[RegExp, string]> = [
  [/\bEdg(?:e|A|iOS)?\/(\d+)/, 'Edge'],
  [/\b(?:OPR|OPiOS)\/(\d+)/, 'Opera'],
  [/\bSamsungBrowser\/(\d+)/, 'Samsung Internet'],
  [/\bYaBrowser\/(\d+)/, 'Yandex Browser'],
  [/\bVivaldi\/(\d+)/, 'Vivaldi'],
  [/\b(?:Firefox|FxiOS)\/(\d+)/, 'Firefox'],
  [/\bChromium\/(\d+)/, 'Chromium'],
  [/\b(?:HeadlessChrome|Chrome|CriOS)\/(\d+)/, 'Chrome'],
  // Safari names its own version in Version/, its Safari/ token is the WebKit build.
  [/\bVersion\/(\d+)[.\d]* (?:Mobile\/\S+ )?Safari\//, 'Safari'],
];

const SYSTEMS: ReadonlyArray<[RegExp, string]> = [
  [/\bWindows\b/, 'Windows'],
  [/\biPhone\b/, 'iPhone'],
  [/\biPad\b/, 'iPad'],
  // Android before Linux: Android says Linux too.
  [/\bAndroid\b/, 'Android'],
  [/\bCrOS\b/, 'ChromeOS'],
  [/\bMac OS X\b|\bMacintosh\b/, 'macOS'],
  [/\bFreeBSD\b/, 'FreeBSD'],
  [/\bLinux\b/, 'Linux'],
];

// Programs that are not browsers name themselves first: "curl/8.5.0", "okhttp/4.12", "node".
const PROGRAM = /^([A-Za-z][\w.-]{0,31})(?:\/(\d+)|(?=[\s/(]|$))/;
// Headers are bounded where they are stored; this bounds the work for any other caller.
const MAX_LENGTH = 512;

export function summariseUserAgent(header: string | null | undefined): UserAgentSummary {
  if (!header) return { browser: null, os: null };
  const text = header.slice(0, MAX_LENGTH);
  const os = SYSTEMS.find(([pattern]) => pattern.test(text))?.[1] ?? null;
  for (const [pattern, name] of BROWSERS) {
    const match = pattern.exec(text);
    if (match) return { browser: `${name} ${match[1]}`, os };
  }
  const program = PROGRAM.exec(text);
  // Mozilla/5.0 without a browser we know says nothing about which browser it is.
  if (program && program[1] !== 'Mozilla') return { browser: program[2] ? `${program[1]} ${program[2]}` : program[1]!, os };
  return { browser: null, os };
}
