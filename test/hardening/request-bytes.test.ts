import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodedFlaw, formBytesFlaw, formFlaw, jsonFlaw, pathFlaw, plainBytes, textFlaw } from '../../src/http/text-flaws.ts';
import { readBody, replaceBody } from '../../src/http/body-rewind.ts';
import Koa from 'koa';
import { bodyParser } from '@koa/bodyparser';
import { checkRequestBytes, replaceFormField } from '../../src/http/request-bytes.ts';

describe('percent-encoded text', () => {
  it.each([
    ['plain ASCII', 'grant_type=refresh_token&client_id=web-app'],
    ['an escaped ASCII byte', 'a%41b'],
    ['two-byte UTF-8', '%C3%A9'],
    ['three-byte UTF-8 below the surrogates', '%ED%9F%BF'],
    ['three-byte UTF-8 above the surrogates', '%EE%80%80'],
    ['four-byte UTF-8 (emoji)', '%F0%9F%98%80'],
    ['the last code point', '%F4%8F%BF%BF'],
    ['lower-case hex', '%c3%a9'],
    ['a % without two hex digits (kept literally)', '100%&x=%zz&y=%4'],
    ['a literal surrogate pair', '\ud83d\ude00'],
  ])('accepts %s', (_, text) => {
    expect(encodedFlaw(text)).toBeNull();
  });

  it.each([
    ['an escaped NUL', 'a%00b', 'nul'],
    ['a literal NUL', 'a\0b', 'nul'],
    ['an encoded surrogate (CESU-8)', '%ED%A0%80', 'surrogate'],
    ['an encoded low surrogate', '%ED%BF%BF', 'surrogate'],
    ['a literal lone high surrogate', 'a\ud800b', 'surrogate'],
    ['a literal lone low surrogate', '\udc00', 'surrogate'],
    ['a byte that is never UTF-8', '%FF', 'utf8'],
    ['a lead byte followed by a literal', '%C3(', 'utf8'],
    ['a lead byte followed by a non-continuation byte', '%C3%28', 'utf8'],
    ['a continuation byte alone', '%80', 'utf8'],
    ['an overlong NUL', '%C0%80', 'utf8'],
    ['an overlong three-byte form', '%E0%80%80', 'utf8'],
    ['an overlong four-byte form', '%F0%80%80%80', 'utf8'],
    ['a code point beyond U+10FFFF', '%F4%90%80%80', 'utf8'],
    ['a truncated sequence at the end', '%E2%82', 'utf8'],
    ['a truncated sequence before a separator', '%E2%82&b=1', 'utf8'],
  ])('finds %s', (_, text, flaw) => {
    expect(encodedFlaw(text)).toBe(flaw);
  });

  it('looks only between from and to', () => {
    expect(encodedFlaw('%00abc%FF', 3, 6)).toBeNull();
    expect(encodedFlaw('ab%C3%A9cd', 2, 5)).toBe('utf8'); // cut in the middle of a sequence
  });
});

describe('query strings and form bodies', () => {
  it('names the parameter whose value is flawed, decoded, without its value', () => {
    expect(formFlaw('client_id=web-app&state=ab%00cd')).toEqual({ name: 'state', flaw: 'nul' });
    expect(formFlaw('login+hint=%FF')).toEqual({ name: 'login hint', flaw: 'utf8' });
    expect(formFlaw('caf%C3%A9=%ED%A0%80')).toEqual({ name: 'café', flaw: 'surrogate' });
  });

  it('says when the name itself is flawed', () => {
    expect(formFlaw('a=1&b%00=2')).toEqual({ name: null, flaw: 'nul' });
    expect(formFlaw('flag%FF')).toEqual({ name: null, flaw: 'utf8' });
  });

  it('cuts long names', () => {
    expect(formFlaw(`${'n'.repeat(100)}=%00`)!.name).toBe(`${'n'.repeat(64)}…`);
  });

  it('passes clean text, empty pairs and empty text', () => {
    expect(formFlaw('')).toBeNull();
    expect(formFlaw('a=1&&b=&=c&d')).toBeNull();
    expect(formFlaw('redirect_uri=http%3A%2F%2F127.0.0.1%2Fcb&name=Zo%C3%AB')).toBeNull();
  });

  it('finds raw bytes that are not UTF-8 by field', () => {
    expect(formBytesFlaw(Buffer.from('a=1&email=x@example.com'))).toBeNull();
    expect(formBytesFlaw(Buffer.concat([Buffer.from('a=1&email=x'), Buffer.from([0xff]), Buffer.from('&b=2')]))).toEqual({ name: 'email', flaw: 'utf8' });
    expect(formBytesFlaw(Buffer.concat([Buffer.from('a=1&e'), Buffer.from([0xc3, 0x28]), Buffer.from('=2')]))).toEqual({ name: null, flaw: 'utf8' });
  });
});

describe('URL paths', () => {
  it('names the flawed segment', () => {
    expect(pathFlaw('/interaction/abc%00/login')).toEqual({ segment: 2, flaw: 'nul' });
    expect(pathFlaw('/admin/api/v1/roles/%ED%A0%80')).toEqual({ segment: 5, flaw: 'surrogate' });
    expect(pathFlaw('/%FF')).toEqual({ segment: 1, flaw: 'utf8' });
  });

  it('passes clean paths', () => {
    expect(pathFlaw('/')).toBeNull();
    expect(pathFlaw('/admin/api/v1/resources/https%3A%2F%2Fapi.example.com')).toBeNull();
    expect(pathFlaw('/admin/api/v1/roles/caf%C3%A9')).toBeNull();
  });
});

describe('parsed JSON', () => {
  it('finds NUL and lone surrogates in values, with their path', () => {
    expect(jsonFlaw(JSON.parse('{"name":"a\\u0000b"}'))).toEqual({ path: 'name', inKey: false, flaw: 'nul' });
    expect(jsonFlaw(JSON.parse('{"client":{"redirect_uris":["ok","\\ud800"]}}'))).toEqual({ path: 'client.redirect_uris[1]', inKey: false, flaw: 'surrogate' });
    expect(jsonFlaw(JSON.parse('"\\udfff"'))).toEqual({ path: '', inKey: false, flaw: 'surrogate' });
  });

  it('finds them in keys, naming the object they are in', () => {
    expect(jsonFlaw(JSON.parse('{"a\\u0000":1}'))).toEqual({ path: '', inKey: true, flaw: 'nul' });
    expect(jsonFlaw(JSON.parse('{"metadata":{"ok":1,"\\ud800":2}}'))).toEqual({ path: 'metadata', inKey: true, flaw: 'surrogate' });
  });

  it('passes clean JSON, surrogate pairs included', () => {
    expect(jsonFlaw(JSON.parse('{"name":"Zo\\u00eb \\ud83d\\ude00","n":1,"ok":true,"none":null,"list":[[]]}'))).toBeNull();
  });

  it('walks deep nesting without overflowing the stack', () => {
    const depth = 200_000;
    const deep = JSON.parse(`${'['.repeat(depth)}"\\u0000"${']'.repeat(depth)}`) as unknown;
    expect(jsonFlaw(deep)?.flaw).toBe('nul');
  });

  it('checks decoded text', () => {
    expect(textFlaw('plain')).toBeNull();
    expect(textFlaw('a\0')).toBe('nul');
    expect(textFlaw('\ud800')).toBe('surrogate');
  });
});

describe('the fast path', () => {
  it('is taken only by NUL-free ASCII without the escape byte', () => {
    expect(plainBytes(Buffer.from('grant_type=client_credentials&scope=a+b'), 0x25)).toBe(true);
    expect(plainBytes(Buffer.from('a=%41'), 0x25)).toBe(false);
    expect(plainBytes(Buffer.from('{"a":"\\u0041"}'), 0x5c)).toBe(false);
    expect(plainBytes(Buffer.from('{"a":"100%"}'), 0x5c)).toBe(true);
    expect(plainBytes(Buffer.from([0x61, 0x00]), 0x25)).toBe(false);
    expect(plainBytes(Buffer.from('é'), 0x25)).toBe(false);
  });
});

describe('reading a body and putting it back', () => {
  type Handler = (req: IncomingMessage) => Promise<unknown>;
  let server: Server;
  let handle: Handler;

  beforeAll(async () => {
    server = createServer((req, res) => {
      handle(req).then(
        (result) => res.end(JSON.stringify(result)),
        (error: { status?: number; code?: string }) => {
          res.statusCode = error.status ?? 500;
          res.end(JSON.stringify({ code: error.code }));
        },
      );
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
  });
  afterAll(() => server.close());

  const url = () => `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;

  // How oidc-provider reads (lib/shared/selective_body.js) and how raw-body (@koa/bodyparser) does.
  async function readLikeProvider(req: IncomingMessage): Promise<string> {
    if (!req.readable || req.readableEncoding) throw new Error('the provider would fall back to a parsed body');
    const chunks: Buffer[] = [];
    for await (const chunk of req.iterator({ destroyOnReturn: false })) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString();
  }
  function readWithEvents(req: IncomingMessage): Promise<string> {
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => resolve(Buffer.concat(chunks).toString()));
      req.on('error', reject);
    });
  }

  function chunkedBody(parts: string[]): ReadableStream<Uint8Array> {
    return new ReadableStream({
      async start(controller) {
        for (const part of parts) {
          controller.enqueue(new TextEncoder().encode(part));
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        controller.close();
      },
    });
  }

  it.each([['iterator', readLikeProvider], ['data events', readWithEvents]] as const)('hands the same bytes to the next reader (%s), even after a wait', async (_, reader) => {
    handle = async (req) => {
      const first = (await readBody(req, 1 << 20)).toString();
      await new Promise((resolve) => setTimeout(resolve, 10));
      return { first, again: await reader(req), content: req.headers['content-length'] };
    };
    const small = await fetch(url(), { method: 'POST', body: 'a=1&b=2' });
    expect(await small.json()).toEqual({ first: 'a=1&b=2', again: 'a=1&b=2', content: '7' });
    const big = 'x='.padEnd(200_000, 'y');
    const large = await (await fetch(url(), { method: 'POST', body: big })).json() as { first: string; again: string };
    expect(large.first).toBe(big);
    expect(large.again).toBe(big);
    const chunked = await fetch(url(), { method: 'POST', body: chunkedBody(['a=1&', 'b=2']), duplex: 'half' } as RequestInit);
    expect(await chunked.json()).toEqual({ first: 'a=1&b=2', again: 'a=1&b=2' });
  });

  it('leaves an empty chunked body readable to its end', async () => {
    handle = async (req) => ({ first: (await readBody(req, 1024)).length, readable: req.readable, again: await readLikeProvider(req) });
    const response = await fetch(url(), { method: 'POST', body: chunkedBody([]), duplex: 'half' } as RequestInit);
    expect(await response.json()).toEqual({ first: 0, readable: true, again: '' });
  });

  it('refuses a body over the limit with 413, declared or streamed', async () => {
    handle = async (req) => readBody(req, 1024);
    expect((await fetch(url(), { method: 'POST', body: 'x'.repeat(2000) })).status).toBe(413);
    const streamed = await fetch(url(), { method: 'POST', body: chunkedBody(['x'.repeat(600), 'y'.repeat(600)]), duplex: 'half' } as RequestInit);
    expect(streamed.status).toBe(413);
    expect(await streamed.json()).toEqual({ code: 'request.too_large' });
  });

  it('answers a body cut off mid-way with a 400, not an outage', async () => {
    let outcome: Promise<unknown> = Promise.resolve();
    handle = (req) => (outcome = readBody(req, 1 << 20).then(() => 'read', (error: { status?: number }) => error.status));
    const client = request(url(), { method: 'POST', headers: { 'content-length': '100' } });
    client.on('error', () => undefined);
    client.write('a=1');
    await new Promise((resolve) => setTimeout(resolve, 50));
    client.destroy();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await outcome).toBe(400);
  });

  it('replaces the unread body for the next reader, with its new length', async () => {
    handle = async (req) => {
      await readBody(req, 1024);
      replaceBody(req, Buffer.from('grant_type=refresh_token&refresh_token=successor'));
      return { again: await readLikeProvider(req), length: req.headers['content-length'] };
    };
    const response = await fetch(url(), { method: 'POST', body: 'grant_type=refresh_token&refresh_token=old' });
    expect(await response.json()).toEqual({ again: 'grant_type=refresh_token&refresh_token=successor', length: '48' });
  });
});

describe('the middleware, in front of the parsers that come after it', () => {
  let server: Server;
  let url: string;
  let seen: Record<string, unknown> = {};

  beforeAll(async () => {
    const app = new Koa();
    app.use(async (ctx, next) => {
      try {
        await next();
      } catch (error) {
        const { status = 500, code } = error as { status?: number; code?: string };
        ctx.status = status;
        ctx.body = { code };
      }
    });
    app.use(checkRequestBytes({ maxBodyBytes: 1024, keepParsedBody: (ctx) => ctx.path === '/token' }));
    app.use(async (ctx, next) => {
      if (ctx.path !== '/token') return next();
      // As the refresh grace step does in front of oidc-provider.
      const form = ctx.request.body as Record<string, unknown>;
      seen = { ...form };
      if (form.refresh_token === 'used') replaceFormField(ctx, 'refresh_token', 'successor');
      const chunks: Buffer[] = [];
      for await (const chunk of ctx.req.iterator({ destroyOnReturn: false })) chunks.push(chunk as Buffer);
      ctx.body = { provider: Buffer.concat(chunks).toString(), length: ctx.request.length, form: ctx.request.body };
    });
    // As our routers do: @koa/bodyparser reads the bytes put back (qs: a.b is nested).
    app.use(bodyParser({ enableTypes: ['form', 'json'] }) as Koa.Middleware);
    app.use((ctx) => {
      ctx.body = { parsed: ctx.request.body };
    });
    server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => server.close());

  const post = (path: string, body: string | Buffer, type = 'application/x-www-form-urlencoded') =>
    fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': type }, body });

  it('keeps the parsed form for the hot endpoints, and rewrites what the provider reads', async () => {
    const plain = await (await post('/token', 'grant_type=refresh_token&refresh_token=fresh&scope=a+b')).json();
    expect(plain).toEqual({ provider: 'grant_type=refresh_token&refresh_token=fresh&scope=a+b', length: 54, form: { grant_type: 'refresh_token', refresh_token: 'fresh', scope: 'a b' } });
    const rewritten = await (await post('/token', 'grant_type=refresh_token&refresh_token=used&name=Zo%C3%AB')).json() as { provider: string; length: number; form: unknown };
    expect(seen).toEqual({ grant_type: 'refresh_token', refresh_token: 'used', name: 'Zoë' });
    expect(new URLSearchParams(rewritten.provider).get('refresh_token')).toBe('successor');
    expect(rewritten.length).toBe(Buffer.byteLength(rewritten.provider));
    expect(rewritten.form).toEqual({ grant_type: 'refresh_token', refresh_token: 'successor', name: 'Zoë' });
  });

  it('leaves other bodies to their own parser, exactly as it parsed them before', async () => {
    expect(await (await post('/login', 'email=zo%C3%AB%40example.com&a.b=1&list=1&list=2')).json()).toEqual({ parsed: { email: 'zoë@example.com', a: { b: '1' }, list: ['1', '2'] } });
    expect(await (await post('/users', '{"name":"Zo\\u00eb \\ud83d\\ude00"}', 'application/json')).json()).toEqual({ parsed: { name: 'Zoë 😀' } });
  });

  it('refuses bad bytes in either, and bodies over the limit', async () => {
    expect((await post('/token', 'grant_type=refresh_token&refresh_token=%00')).status).toBe(400);
    expect((await post('/login', Buffer.concat([Buffer.from('email='), Buffer.from([0xff])]))).status).toBe(400);
    expect((await post('/users', '{"name":"\\ud800"}', 'application/json')).status).toBe(400);
    expect((await post('/users', '{"name":"x"}', 'application/json; charset=utf-8')).status).toBe(200);
    expect((await post('/login', `a=${'x'.repeat(2000)}`)).status).toBe(413);
  });

  it('checks a body in its declared charset, and refuses compressed ones', async () => {
    // 0xE9 is é in ISO-8859-1, as oidc-provider would decode it; only UTF-8 refuses it.
    expect((await post('/login', Buffer.from([0x61, 0x3d, 0xe9]), 'application/x-www-form-urlencoded; charset=ISO-8859-1')).status).toBe(200);
    expect((await post('/login', Buffer.from([0x61, 0x3d, 0xe9]))).status).toBe(400);
    const gzip = await fetch(`${url}/users`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' }, body: 'x' });
    expect(gzip.status).toBe(415);
  });
});
