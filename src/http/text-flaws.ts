import { isUtf8 } from 'node:buffer';
import { unescape } from 'node:querystring';

/**
 * Text PostgreSQL cannot store, or stores as something else: a NUL (`text` refuses U+0000,
 * "invalid byte sequence for encoding UTF8: 0x00"), a lone UTF-16 surrogate (which the driver
 * turns into U+FFFD), and bytes that are not UTF-8 (which decoders turn into U+FFFD).
 */
export type Flaw = 'nul' | 'surrogate' | 'utf8';

const PERCENT = 0x25;

function hexValue(code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  const lower = code | 0x20;
  return lower >= 0x61 && lower <= 0x66 ? lower - 0x57 : -1;
}

/**
 * The first flaw in percent-encoded text (a path, a query string, a form body) between `from`
 * and `to`, once decoded: %-escapes are bytes and must form UTF-8 (Unicode §3.9, Table 3-7: no
 * overlong forms, no encoded surrogates, nothing above U+10FFFF). A `%` not followed by two hex
 * digits stays a literal `%`, as querystring, qs and @koa/router decode it. One pass, no
 * allocation: plain ASCII without `%` costs one comparison per character.
 */
export function encodedFlaw(text: string, from = 0, to = text.length): Flaw | null {
  let pending = 0; // continuation bytes still owed by the current sequence
  let lowest = 0x80; // range the next continuation byte must fall in
  let highest = 0xbf;
  let lead = 0;
  for (let i = from; i < to; i++) {
    const code = text.charCodeAt(i);
    let byte = -1;
    if (code === PERCENT && i + 2 < to) {
      const high = hexValue(text.charCodeAt(i + 1));
      const low = high < 0 ? -1 : hexValue(text.charCodeAt(i + 2));
      if (low >= 0) byte = (high << 4) | low;
    }
    if (byte < 0) {
      // A literal character: it cannot continue a sequence of escaped bytes.
      if (pending > 0) return 'utf8';
      if (code === 0) return 'nul';
      if (code >= 0xd800 && code <= 0xdfff) {
        const next = i + 1 < to ? text.charCodeAt(i + 1) : 0;
        if (code > 0xdbff || next < 0xdc00 || next > 0xdfff) return 'surrogate';
        i++;
      }
      continue;
    }
    i += 2;
    if (pending > 0) {
      if (byte < lowest || byte > highest) return lead === 0xed && byte >= 0xa0 && byte <= 0xbf ? 'surrogate' : 'utf8';
      lowest = 0x80;
      highest = 0xbf;
      pending--;
      continue;
    }
    if (byte === 0) return 'nul';
    if (byte < 0x80) continue;
    lead = byte;
    if (byte >= 0xc2 && byte <= 0xdf) pending = 1;
    else if (byte >= 0xe0 && byte <= 0xef) {
      pending = 2;
      if (byte === 0xe0) lowest = 0xa0; // below: overlong
      if (byte === 0xed) highest = 0x9f; // above: U+D800-DFFF, an encoded surrogate
    } else if (byte >= 0xf0 && byte <= 0xf4) {
      pending = 3;
      if (byte === 0xf0) lowest = 0x90; // below: overlong
      if (byte === 0xf4) highest = 0x8f; // above: beyond U+10FFFF
    } else return 'utf8'; // a continuation byte without a lead, C0/C1 (overlong), F5-FF
  }
  return pending > 0 ? 'utf8' : null;
}

/** The first flaw in text that is already decoded (a JSON string, a decoded body). */
export function textFlaw(text: string): Flaw | null {
  if (text.includes('\0')) return 'nul';
  return text.isWellFormed() ? null : 'surrogate';
}

/**
 * True when bytes need no closer look: every byte is ASCII other than NUL, and none is
 * `escape` (`%` in a form, `\` in JSON), so decoding cannot produce a flaw. One scan.
 */
export function plainBytes(bytes: Uint8Array, escape: number): boolean {
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i]!;
    if (byte === 0 || byte >= 0x80 || byte === escape) return false;
  }
  return true;
}

/** Where a flaw is: a parameter or field by name, or its name itself (`name` is then null). */
export interface FlawPlace {
  name: string | null;
  flaw: Flaw;
}

/** A decoded parameter name for a message: `+` is a space, and long names are cut. */
function readableName(encoded: string): string {
  const name = unescape(encoded.replaceAll('+', ' '));
  return name.length > 64 ? `${name.slice(0, 64)}…` : name;
}

/**
 * The first flawed pair of application/x-www-form-urlencoded text (a query string or a form
 * body): the decoded name of the parameter whose value is flawed, or a null name when the name
 * is. Checks the whole text first, so clean text is one pass.
 */
export function formFlaw(text: string): FlawPlace | null {
  if (encodedFlaw(text) === null) return null;
  let start = 0;
  while (start <= text.length) {
    let end = text.indexOf('&', start);
    if (end < 0) end = text.length;
    let equals = text.indexOf('=', start);
    if (equals < 0 || equals > end) equals = end;
    const inName = encodedFlaw(text, start, equals);
    if (inName) return { name: null, flaw: inName };
    const inValue = encodedFlaw(text, equals + 1, end);
    if (inValue) return { name: readableName(text.slice(start, equals)), flaw: inValue };
    start = end + 1;
  }
  // Unreachable: a flaw in the whole text is a flaw in one of its pairs.
  return { name: null, flaw: 'utf8' };
}

/**
 * Which pair of a form body holds bytes that are not UTF-8 (the body failed to decode): the
 * name of the field, or a null name when the name itself is. Null when every pair decodes.
 */
export function formBytesFlaw(bytes: Buffer): FlawPlace | null {
  let start = 0;
  while (start <= bytes.length) {
    let end = bytes.indexOf(0x26, start); // &
    if (end < 0) end = bytes.length;
    let equals = bytes.indexOf(0x3d, start); // =
    if (equals < 0 || equals > end) equals = end;
    if (!isUtf8(bytes.subarray(start, equals))) return { name: null, flaw: 'utf8' };
    if (!isUtf8(bytes.subarray(equals, end))) return { name: readableName(bytes.toString('utf8', start, equals)), flaw: 'utf8' };
    start = end + 1;
  }
  return null;
}

/** The first flawed segment of a URL path (1 is the first after the leading slash). */
export function pathFlaw(path: string): { segment: number; flaw: Flaw } | null {
  if (encodedFlaw(path) === null) return null;
  let segment = 0;
  let start = 0;
  while (start <= path.length) {
    let end = path.indexOf('/', start);
    if (end < 0) end = path.length;
    const flaw = encodedFlaw(path, start, end);
    if (flaw) return { segment, flaw };
    segment++;
    start = end + 1;
  }
  return { segment: 0, flaw: 'utf8' };
}

/**
 * The first string (a value or an object key) in parsed JSON with a NUL or a lone surrogate,
 * which `\u0000` and `\ud800` escapes produce: where it is as a path (`redirect_uris[0]`,
 * `metadata.name`), and whether the key is the flawed part. Walks with an explicit stack, so
 * deeply nested input cannot overflow the call stack.
 */
export function jsonFlaw(value: unknown): { path: string; inKey: boolean; flaw: Flaw } | null {
  const stack: Array<{ value: unknown; path: string }> = [{ value, path: '' }];
  while (stack.length > 0) {
    const { value: current, path } = stack.pop()!;
    if (typeof current === 'string') {
      const flaw = textFlaw(current);
      if (flaw) return { path, inKey: false, flaw };
    } else if (Array.isArray(current)) {
      for (let i = current.length - 1; i >= 0; i--) stack.push({ value: current[i], path: `${path}[${i}]` });
    } else if (current !== null && typeof current === 'object') {
      const keys = Object.keys(current);
      for (const key of keys) {
        const flaw = textFlaw(key);
        if (flaw) return { path, inKey: true, flaw };
      }
      for (let i = keys.length - 1; i >= 0; i--) {
        const key = keys[i]!;
        stack.push({ value: (current as Record<string, unknown>)[key], path: path ? `${path}.${key}` : key });
      }
    }
  }
  return null;
}
