interface StoredCookie {
  value: string;
  path: string;
}

/**
 * Just enough of a browser for the hosted pages: a cookie jar per host name (like browsers,
 * ports do not separate cookies), honouring Path and deletion; manual redirects; form posts.
 * No JavaScript, like the pages promise.
 */
export class Browser {
  private readonly jar = new Map<string, Map<string, StoredCookie>>();

  private cookieHeader(url: URL): string {
    const cookies = this.jar.get(url.hostname);
    if (!cookies) return '';
    return [...cookies.entries()]
      .filter(([, cookie]) => url.pathname.startsWith(cookie.path))
      .map(([name, cookie]) => `${name}=${cookie.value}`)
      .join('; ');
  }

  private store(url: URL, response: Response): void {
    for (const header of response.headers.getSetCookie()) {
      const [pair, ...attributes] = header.split(';').map((part) => part.trim());
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq);
      const value = pair!.slice(eq + 1);
      let path = '/';
      let expired = value === '';
      for (const attribute of attributes) {
        const [key, val = ''] = attribute.split('=');
        const lower = key!.toLowerCase();
        if (lower === 'path') path = val;
        if (lower === 'max-age' && Number(val) <= 0) expired = true;
        if (lower === 'expires' && Date.parse(val) < Date.now()) expired = true;
      }
      const cookies = this.jar.get(url.hostname) ?? new Map<string, StoredCookie>();
      this.jar.set(url.hostname, cookies);
      if (expired) cookies.delete(name);
      else cookies.set(name, { value, path });
    }
  }

  async request(url: string | URL, init: { method?: string; form?: Record<string, string>; json?: unknown; rawJson?: string; headers?: Record<string, string> } = {}): Promise<Response> {
    const target = new URL(url);
    const headers: Record<string, string> = { accept: 'text/html', ...init.headers };
    const cookie = this.cookieHeader(target);
    if (cookie) headers.cookie = cookie;
    let body: string | undefined;
    if (init.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(init.form).toString();
    } else if (init.rawJson !== undefined) {
      // A body sent as is, for bad-input tests (malformed or oversized JSON).
      headers['content-type'] = 'application/json';
      headers.accept = 'application/json';
      body = init.rawJson;
    } else if (init.json !== undefined) {
      // What views/passkey.js sends: JSON, same origin, with the page's cookies.
      headers['content-type'] = 'application/json';
      headers.accept = 'application/json';
      body = JSON.stringify(init.json);
    }
    const response = await fetch(target, { method: init.method ?? (body !== undefined ? 'POST' : 'GET'), headers, body, redirect: 'manual' });
    this.store(target, response);
    return response;
  }

  /** Requests `url` (posting `form` when given) and follows redirects to the page at the end. */
  async navigate(url: string, form?: Record<string, string>): Promise<{ url: string; status: number; html: string }> {
    let current = url;
    let response = await this.request(current, form ? { form } : {});
    for (let hops = 0; response.status >= 300 && response.status < 400; hops++) {
      if (hops > 10) throw new Error(`too many redirects, last ${current}`);
      current = new URL(response.headers.get('location')!, current).href;
      response = await this.request(current);
    }
    return { url: current, status: response.status, html: await response.text() };
  }

  /**
   * Follows redirects from `url` until one leaves for `stopAt` (the relying party), returning
   * that URL without fetching it, or until a page is rendered, returning the page.
   */
  async follow(url: string | URL, stopAt: string, init: { form?: Record<string, string> } = {}): Promise<{ url: string } | { page: Response; html: string; pageUrl: string }> {
    let response = await this.request(url, init);
    let current = new URL(url);
    for (let hops = 0; hops < 10; hops++) {
      const location = response.headers.get('location');
      if (response.status < 300 || response.status >= 400 || !location) {
        return { page: response, html: await response.text(), pageUrl: current.href };
      }
      const next = new URL(location, current);
      if (next.href.startsWith(stopAt)) return { url: next.href };
      current = next;
      response = await this.request(next);
    }
    throw new Error('too many redirects');
  }
}

/** The action and hidden fields of the form whose action ends with `actionSuffix`. */
export function readForm(html: string, actionSuffix: string): { action: string; fields: Record<string, string> } {
  const forms = [...html.matchAll(/<form[^>]*action="([^"]+)"[^>]*>([\s\S]*?)<\/form>/g)];
  const form = forms.find((match) => match[1]!.endsWith(actionSuffix));
  if (!form) throw new Error(`no form ending in ${actionSuffix} in:\n${html}`);
  const fields: Record<string, string> = {};
  for (const input of form[2]!.matchAll(/<input[^>]*type="hidden"[^>]*>/g)) {
    const name = /name="([^"]+)"/.exec(input[0])?.[1];
    const value = /value="([^"]*)"/.exec(input[0])?.[1] ?? '';
    if (name) fields[name] = value.replace(/&#34;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&').replace(/&lt;/g, '<').replace(/&gt;/g, '>');
  }
  return { action: form[1]!, fields };
}
