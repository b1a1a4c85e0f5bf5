import * as querystring from 'node:querystring';
import type { IncomingMessage } from 'node:http';
import type { Context, Middleware } from 'koa';
import { formBytesFlaw, formFlaw, jsonFlaw, pathFlaw, plainBytes, type Flaw } from './text-flaws.ts';
import { readBody, replaceBody } from './body-rewind.ts';
import { RequestBytesError } from './request-bytes-error.ts';

export interface RequestBytesOptions {
  /** The largest body read, in bytes; a larger one is answered 413. */
  maxBodyBytes: number;
  /**
   * Requests whose parsed body is left in ctx.request.body for the middleware in front of
   * oidc-provider. Others are left unparsed: our routers parse their own bodies, with their own
   * limits and parser (@koa/bodyparser), from the bytes put back into the stream.
   */
  keepParsedBody(ctx: Context): boolean;
}

const PERCENT = 0x25;
const BACKSLASH = 0x5c;
const utf8 = new TextDecoder('utf-8', { fatal: true });

const flawText: Record<Flaw, string> = {
  nul: 'contains a NUL character (U+0000)',
  surrogate: 'contains a lone UTF-16 surrogate (U+D800 to U+DFFF), which is not a character',
  utf8: 'contains bytes that are not valid UTF-8',
};

/** Says where and what, never the value itself. */
function refused(where: string, flaw: Flaw): RequestBytesError {
  return new RequestBytesError('request.invalid_characters', `${where} ${flawText[flaw]}.`);
}

const named = (kind: string, name: string | null) => (name === null ? `A ${kind} name` : `${kind[0]!.toUpperCase()}${kind.slice(1)} ${JSON.stringify(name)}`);

/**
 * Refuses, before any route sees them, requests whose path, query string or body would decode
 * to a NUL, a lone surrogate or bytes that are not UTF-8. PostgreSQL refuses NUL in text (a
 * 500 wherever such a value reached a query) and the others would be stored as U+FFFD; no
 * route can use them. Protocol clients get oidc-provider's JSON shape, browsers the error page.
 *
 * Cheap on the hot path: a clean request is one scan of its path, query and body (plain ASCII
 * without `%`, or without `\` in JSON, needs no decoding), and its body is read once and put
 * back into the stream for whoever parses it next (body-rewind.ts).
 */
export function checkRequestBytes(options: RequestBytesOptions): Middleware {
  return async (ctx, next) => {
    const inPath = pathFlaw(ctx.path);
    if (inPath) throw refused(`Segment ${inPath.segment} of the URL path`, inPath.flaw);
    const inQuery = formFlaw(ctx.querystring);
    if (inQuery) throw refused(named('query parameter', inQuery.name), inQuery.flaw);
    // Whatever the method: a body nobody parses today may be parsed tomorrow.
    const kind = bodyKind(ctx.req.headers['content-type']);
    if (kind && hasBody(ctx.req)) await checkBody(ctx, kind, options);
    return next();
  };
}

type BodyKind = 'form' | 'json';

/** The body types the parsers here read (the media type, as type-is compares it). */
function bodyKind(contentType: string | undefined): BodyKind | null {
  if (contentType === undefined) return null;
  if (contentType === 'application/x-www-form-urlencoded') return 'form';
  const semicolon = contentType.indexOf(';');
  const type = (semicolon < 0 ? contentType : contentType.slice(0, semicolon)).trim().toLowerCase();
  if (type === 'application/x-www-form-urlencoded') return 'form';
  // @koa/bodyparser's JSON types: application/json, any +json, and application/csp-report.
  if (type === 'application/json' || type.endsWith('+json') || type === 'application/csp-report') return 'json';
  return null;
}

const hasBody = (req: IncomingMessage) => req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] ?? '0') !== '0';

async function checkBody(ctx: Context, kind: BodyKind, options: RequestBytesOptions): Promise<void> {
  const encoding = ctx.req.headers['content-encoding'];
  if (encoding !== undefined && encoding.toLowerCase() !== 'identity') {
    // Compressed bytes cannot be checked; oidc-provider cannot read them either.
    throw new RequestBytesError('request.unsupported_encoding', 'Send the request body uncompressed (no Content-Encoding).');
  }
  const bytes = await readBody(ctx.req, options.maxBodyBytes);
  const keep = options.keepParsedBody(ctx);
  const plain = plainBytes(bytes, kind === 'form' ? PERCENT : BACKSLASH);
  if (kind === 'form') {
    const text = plain ? null : decodeBody(ctx, bytes, kind);
    if (text !== null) {
      const place = formFlaw(text);
      if (place) throw refused(named('form field', place.name), place.flaw);
    }
    if (keep) keepForm(ctx, bytes, text);
    return;
  }
  if (plain && !keep) return;
  // ASCII decodes alike in every charset the parsers accept; latin1 is the cheapest decoder.
  const text = plain ? bytes.toString('latin1') : decodeBody(ctx, bytes, kind);
  // A raw NUL byte (JSON.parse would refuse it anyway; say what is wrong).
  if (!plain && text.includes('\0')) throw refused('The JSON body', 'nul');
  const parsed = parseJson(text);
  // Not JSON: the parser downstream refuses it as it always did.
  if (parsed === undefined) return;
  if (!plain) {
    const place = jsonFlaw(parsed);
    if (place) {
      const path = place.path.length > 64 ? `${place.path.slice(0, 64)}…` : place.path;
      const where = place.inKey ? `A JSON field name${path ? ` in ${JSON.stringify(path)}` : ''}` : path ? `JSON field ${JSON.stringify(path)}` : 'The JSON body';
      throw refused(where, place.flaw);
    }
  }
  if (keep) ctx.request.body = parsed;
}

/** The body as text in its declared charset (UTF-8 unless said otherwise); refuses bytes that are not. */
function decodeBody(ctx: Context, bytes: Buffer, kind: BodyKind): string {
  const charset = ctx.request.charset.toLowerCase();
  let decoder = utf8;
  if (charset && charset !== 'utf-8' && charset !== 'utf8') {
    // oidc-provider decodes in the declared charset (and refuses one it does not know), so
    // that is what is checked; @koa/bodyparser reads UTF-8 whatever the header says.
    try {
      decoder = new TextDecoder(charset, { fatal: true });
    } catch {
      decoder = utf8;
    }
  }
  try {
    return decoder.decode(bytes);
  } catch {
    if (kind === 'form' && decoder === utf8) {
      const place = formBytesFlaw(bytes);
      if (place) throw refused(named('form field', place.name), 'utf8');
    }
    const body = kind === 'form' ? 'The form body' : 'The JSON body';
    if (decoder === utf8) throw refused(body, 'utf8');
    throw new RequestBytesError('request.invalid_characters', `${body} is not valid ${decoder.encoding}.`);
  }
}

/**
 * ctx.request.body as the parsed form, parsed when first read: on the hot endpoints most
 * requests never read it. The same parser oidc-provider uses on the same bytes: flat names,
 * a repeated name as an array. Assigning ctx.request.body replaces it as usual.
 */
function keepForm(ctx: Context, bytes: Buffer, text: string | null): void {
  const request = ctx.request;
  let form: querystring.ParsedUrlQuery | undefined;
  Object.defineProperty(request, 'body', {
    configurable: true,
    enumerable: true,
    // Plain bytes are ASCII, which decodes alike in every charset; latin1 is the cheapest decoder.
    get: () => (form ??= querystring.parse(text ?? bytes.toString('latin1'))),
    set: (value: unknown) => Object.defineProperty(request, 'body', { configurable: true, enumerable: true, writable: true, value }),
  });
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * Replaces one field of a form body this middleware kept (keepParsedBody), in ctx.request.body
 * and in the bytes oidc-provider is yet to read, so both see the new value.
 */
export function replaceFormField(ctx: Context, name: string, value: string): void {
  const form = ctx.request.body as querystring.ParsedUrlQuery | undefined;
  if (!form || typeof form !== 'object') throw new Error('no parsed form body to rewrite');
  form[name] = value;
  replaceBody(ctx.req, Buffer.from(querystring.stringify(form)));
}
