import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import i18next, { type TFunction } from 'i18next';

export const builtinLocalesDir = fileURLToPath(new URL('./locales/', import.meta.url));

/** A language's messages: nested objects of strings, keys joined by dots (`login.heading`). */
type Messages = { [key: string]: string | Messages };

export interface Catalogue {
  /** Every language we can serve, the default first. */
  readonly locales: readonly string[];
  readonly defaultLocale: string;
  /** The messages of one language; a key it lacks falls back to English, then to the key. */
  t(locale: string): Translate;
  /** Each language's name in itself ("Deutsch", "日本語"), for the language switch. */
  nativeName(locale: string): string;
  /** `ltr` or `rtl`, for the page's `dir`. */
  direction(locale: string): 'ltr' | 'rtl';
}

export type Translate = TFunction;

/** A tag we accept as a file name in a locales directory: `de`, `pt-BR`, `zh-Hant`. */
const LOCALE_FILE = /^([a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*)\.json$/;

function readDir(dir: string): Map<string, Messages> {
  const found = new Map<string, Messages>();
  if (!existsSync(dir)) return found;
  for (const file of readdirSync(dir).sort()) {
    const locale = LOCALE_FILE.exec(file)?.[1];
    if (!locale) continue;
    const path = join(dir, file);
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(path, 'utf8'));
    } catch (error) {
      throw new Error(`${path}: not valid JSON (${(error as Error).message})`);
    }
    found.set(locale, checkMessages(parsed, path));
  }
  return found;
}

function checkMessages(value: unknown, where: string): Messages {
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new Error(`${where}: expected an object of messages`);
  for (const [key, entry] of Object.entries(value)) {
    if (typeof entry === 'string') continue;
    checkMessages(entry, `${where} › ${key}`);
  }
  return value as Messages;
}

/** An operator's file overrides single messages: deep merge, the override winning. */
function merge(base: Messages, override: Messages): Messages {
  const out: Messages = { ...base };
  for (const [key, value] of Object.entries(override)) {
    const current = out[key];
    out[key] = typeof value === 'object' && typeof current === 'object' ? merge(current, value) : value;
  }
  return out;
}

/**
 * The message catalogue: i18next over JSON files, one per language, in `src/i18n/locales/`, with
 * `<themeDir>/locales/*.json` merged on top (override any message, or add a language). i18next
 * is chosen for its plural rules (from `Intl.PluralRules`, so `_one`/`_other` per language, and
 * Japanese needs only `_other`), `{{name}}` interpolation and per-language fallback, and because
 * its JSON files are what translation platforms (Weblate, Crowdin, Lokalise) read and write.
 * Loaded once at start; a page then asks for a bound `t` per request, which is cheap.
 *
 * `onMissing` hears of every message a language lacks (even when English stands in), so tests
 * can prove a translation is complete.
 */
export function createCatalogue(options: {
  defaultLocale?: string;
  overrideDir?: string | null;
  builtinDir?: string;
  onMissing?: (locale: string, key: string) => void;
  /** No fallback to English: a missing message shows as its key (and reaches onMissing). For tests. */
  strict?: boolean;
} = {}): Catalogue {
  const languages = readDir(options.builtinDir ?? builtinLocalesDir);
  if (options.overrideDir) {
    for (const [locale, messages] of readDir(join(options.overrideDir, 'locales'))) {
      languages.set(locale, merge(languages.get(locale) ?? {}, messages));
    }
  }
  if (!languages.has('en')) throw new Error('the message catalogue has no English (en.json)');
  const defaultLocale = options.defaultLocale ?? 'en';
  if (!languages.has(defaultLocale)) {
    throw new Error(`the default language "${defaultLocale}" has no messages; have: ${[...languages.keys()].join(', ')}`);
  }
  const locales = [defaultLocale, ...[...languages.keys()].filter((locale) => locale !== defaultLocale).sort()];

  const instance = i18next.createInstance();
  void instance.init({
    resources: Object.fromEntries([...languages].map(([locale, messages]) => [locale, { translation: messages }])),
    lng: defaultLocale,
    fallbackLng: options.strict ? false : defaultLocale === 'en' ? 'en' : [defaultLocale, 'en'],
    supportedLngs: locales as string[],
    // Keep region tags as given (pt-BR), and never load anything: every language is in resources.
    load: 'currentOnly',
    initAsync: false,
    returnNull: false,
    returnEmptyString: false,
    // ejs escapes every value it prints; escaping here as well would double it.
    interpolation: { escapeValue: false },
    saveMissing: Boolean(options.onMissing),
    missingKeyHandler: options.onMissing
      ? (lngs, _ns, key) => { for (const lng of lngs) options.onMissing!(lng, key); }
      : false,
  });
  const bound = new Map(locales.map((locale) => [locale, memoized(instance.getFixedT(locale), !options.onMissing)]));
  const names = new Map(locales.map((locale) => [locale, nativeNameOf(locale)]));
  // i18next works the direction out from the tag on every call (tens of µs); the tags are known.
  const directions = new Map(locales.map((locale) => [locale, instance.dir(locale) === 'rtl' ? 'rtl' as const : 'ltr' as const]));
  return {
    locales,
    defaultLocale,
    t: (locale) => bound.get(locale) ?? bound.get(defaultLocale)!,
    nativeName: (locale) => names.get(locale) ?? locale,
    direction: (locale) => directions.get(locale) ?? (instance.dir(locale) === 'rtl' ? 'rtl' : 'ltr'),
  };
}

/**
 * A message asked for by key alone (most of a page's) is the same string every time: looked up
 * once per language, then from a Map. A page has dozens, and i18next's lookup, fallback and
 * interpolation pass cost microseconds each. Calls with options (interpolation, plurals) always
 * go to i18next. Off when someone listens for missing messages, so each miss is still heard.
 */
function memoized(t: TFunction, enabled: boolean): TFunction {
  if (!enabled) return t;
  const known = new Map<string, string>();
  const lookUp = (key: unknown, ...rest: unknown[]): unknown => {
    if (rest.length > 0 || typeof key !== 'string') return (t as unknown as (...args: unknown[]) => unknown)(key, ...rest);
    let message = known.get(key);
    if (message === undefined) {
      const found = t(key);
      // Only plain strings: returnObjects and friends need options, but stay safe.
      if (typeof found !== 'string') return found;
      known.set(key, message = found);
    }
    return message;
  };
  return Object.assign(lookUp, t) as unknown as TFunction;
}

function nativeNameOf(locale: string): string {
  const name = new Intl.DisplayNames([locale], { type: 'language' }).of(locale) ?? locale;
  return name.charAt(0).toLocaleUpperCase(locale) + name.slice(1);
}
