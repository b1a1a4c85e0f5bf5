import type { Context } from 'koa';

/** Just enough of a Koa context for the page renderer, for tests that render without a server. */
export function fakeContext(options: { lang?: string; method?: string; path?: string; acceptLanguage?: string[] } = {}) {
  const headers = new Map<string, string>();
  const path = options.path ?? '/';
  const ctx = {
    method: options.method ?? 'GET',
    path,
    originalUrl: path,
    query: options.lang ? { lang: options.lang } : {},
    params: {},
    state: {} as Record<string, unknown>,
    status: 200,
    type: '',
    body: undefined as unknown,
    origin: 'http://127.0.0.1',
    cookies: { get: () => undefined, set: () => undefined },
    get: () => '',
    set: (name: string, value: string) => void headers.set(name.toLowerCase(), value),
    vary: () => undefined,
    acceptsLanguages: () => options.acceptLanguage ?? [],
    response: { get: (name: string) => headers.get(name.toLowerCase()) },
    request: {},
    headers,
  };
  return ctx as unknown as Context & { headers: Map<string, string>; body: string };
}
