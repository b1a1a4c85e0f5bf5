import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type Router from '@koa/router';
import * as client from 'openid-client';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { adminCall, adminToken } from '../helpers/admin.ts';
import { authorizationRequest, seedWebClient, signInThroughPages, REDIRECT_URI, POST_LOGOUT_URI, PASSWORD } from '../helpers/oidc.ts';
import { Browser, readForm } from '../helpers/browser.ts';
import { open, openLoginPage, submit } from '../helpers/self-service.ts';
import { createApp } from '../../src/app.ts';
import { adminRoutes } from '../../src/admin/routes/index.ts';
import { ADMIN_BASE } from '../../src/admin/router.ts';

/**
 * Issue 11, point 3: a NUL, a lone surrogate or bytes that are not UTF-8 in any input of any
 * route is a 4xx at the edge, never a 500 from PostgreSQL, and nothing of it is stored. Our own
 * routes are read from the routers of the real app, so a new route is swept without a change
 * here; oidc-provider's are listed.
 */

// Every bad value carries this, so storage can be searched for anything that got through.
const MARK = 'sweepmark';
// What good values carry, to show the same search does find what is stored.
const GOOD = 'goodmark';

// As they travel in a URL or a form body: NUL, an encoded surrogate (CESU-8), invalid UTF-8.
const encodedBad: Array<[string, string]> = [['NUL', '%00'], ['surrogate', '%ED%A0%80'], ['0xFF', '%FF'], ['C3 28', '%C3%28']];
// Raw bytes in a form body.
const rawFormBad: Array<[string, number]> = [['raw 0xFF', 0xff], ['raw NUL', 0x00]];
// In JSON text: the \u0000 and \ud800 escapes, and a raw 0xFF byte.
const RAW = '\u{E000}'; // stands for the raw byte until the body is assembled
const jsonBad: Array<[string, string]> = [['\\u0000', '\u0000'], ['\\ud800', '\ud800'], ['raw 0xFF', RAW]];

interface Target {
  method: string;
  path: string; // with :params (and {*rest})
  query: string[];
  form?: string[];
  json?: string[];
  /** Good values sent along, so a bad one arrives in an otherwise sensible request. */
  baseQuery?: Record<string, string>;
  baseForm?: Record<string, string>;
  baseJson?: Record<string, unknown>;
  auth?: 'admin' | 'basic' | 'bearer';
}

interface Case {
  label: string;
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: Buffer;
  /** The parameter the answer should name (JSON answers only). */
  names?: string;
}

// The methods swept (a router.all route answers every method; these are the ones anyone sends).
const METHODS = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']);

// Realistic parameter names per kind of route, beyond what the admin schemas declare.
const pageQuery = ['state', 'code', 'email', 'token', 'login_hint', 'ui_locales', 'error', 'q'];
const pageForm = ['email', 'password', 'name', 'csrf', 'token', 'prompt'];
const authParams = ['client_id', 'redirect_uri', 'response_type', 'scope', 'state', 'nonce', 'login_hint', 'prompt', 'ui_locales', 'code_challenge', 'claims', 'acr_values', 'id_token_hint', 'resource', 'max_age'];
const logoutParams = ['id_token_hint', 'post_logout_redirect_uri', 'state', 'client_id', 'logout_hint', 'ui_locales'];
const tokenParams = ['grant_type', 'code', 'redirect_uri', 'code_verifier', 'refresh_token', 'client_id', 'client_secret', 'scope', 'resource'];

// Sensible values for the admin API's body fields, by name (the rest are left out of the base).
const jsonSamples: Record<string, unknown> = {
  email: `${GOOD}-base@example.com`, password: 'a long enough password 123', name: 'Sweep', givenName: 'Sweep', familyName: 'Test',
  description: 'sweep', roles: [], scopes: ['read'], indicator: 'https://sweep.example.com', resource: 'https://sweep.example.com',
  id: 'sweep-client', redirectUris: ['http://127.0.0.1:9/cb'], postLogoutRedirectUris: [], grantTypes: ['client_credentials'],
  authMethod: 'client_secret_basic', scope: 'openid', locale: 'en', picture: 'https://example.com/p.png',
};

describe('bad bytes in every input of every route', () => {
  const warnings = vi.spyOn(console, 'warn');
  let app: TestApp;
  let rp: Awaited<ReturnType<typeof seedWebClient>>;
  let token: string;
  let userId: string;
  let interaction: { uid: string; cookie: string; csrf: string };
  let requests = 0;
  let serverErrors = 0;

  beforeAll(async () => {
    app = await startTestApp();
    rp = await seedWebClient(app);
    token = await adminToken(app);
    userId = (await adminCall(app, token, 'GET', '/users?search=ada')).body.items[0].id as string;
    interaction = await startInteraction();
  });
  afterAll(async () => app?.close());

  /** A sign-in waiting at the login page: its uid, cookies and CSRF token. */
  async function startInteraction(): Promise<{ uid: string; cookie: string; csrf: string }> {
    const cookies = new Map<string, string>();
    const keep = (response: Response) => {
      for (const header of response.headers.getSetCookie()) {
        const pair = header.split(';')[0]!;
        cookies.set(pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1));
      }
    };
    const { url } = await authorizationRequest(rp.config, {}, { offline: false });
    const redirect = await fetch(url, { redirect: 'manual', headers: { accept: 'text/html' } });
    keep(redirect);
    const cookie = () => [...cookies].map(([name, value]) => `${name}=${value}`).join('; ');
    const page = await fetch(new URL(redirect.headers.get('location')!, app.issuer), { headers: { accept: 'text/html', cookie: cookie() } });
    keep(page);
    const form = readForm(await page.text(), '/login');
    return { uid: /\/interaction\/([^/]+)\/login$/.exec(form.action)![1]!, cookie: cookie(), csrf: form.fields.csrf! };
  }

  /** Good values for path parameters, by name. */
  function goodParam(name: string): string {
    const values: Record<string, string> = {
      uid: interaction.uid, id: userId, upstream: 'google', name: 'staff', child: 'admin', permissionId: '00000000-0000-4000-8000-000000000000',
      indicator: encodeURIComponent('https://sweep.example.com'), clientId: 'web-app', sessionId: 'sweep', grantId: 'sweep', rest: 'nothing',
    };
    return values[name] ?? 'x';
  }

  const fill = (path: string, bad?: { name: string; value: string }) =>
    path.replace(/\{\*(\w+)\}|:(\w+)/g, (_, rest: string | undefined, name: string | undefined) => {
      const key = (rest ?? name)!;
      return bad?.name === key ? bad.value : goodParam(key);
    });

  /** Our routes, from the routers of the real app (the admin API's with its schemas' field names). */
  function ourTargets(): Target[] {
    const koa = createApp(app.deps);
    const routers = koa.middleware.map((middleware) => (middleware as { router?: Router }).router).filter((router): router is Router => !!router);
    const targets: Target[] = [];
    for (const router of routers) {
      for (const layer of router.stack) {
        const path = String(layer.path);
        for (const method of layer.methods.filter((m) => METHODS.has(m))) {
          if (path.startsWith(ADMIN_BASE)) {
            const definition = adminRoutes.find((route) => route.method.toUpperCase() === method && ADMIN_BASE + route.path === path);
            const shape = (schema: unknown) => Object.keys((schema as { shape?: object } | undefined)?.shape ?? {});
            const json = shape(definition?.body);
            targets.push({
              method, path, auth: 'admin', query: [...new Set([...shape(definition?.query), 'search', 'q'])],
              ...(method !== 'GET' ? { json: [...json, 'name'], baseJson: Object.fromEntries(json.filter((key) => key in jsonSamples).map((key) => [key, jsonSamples[key]])) } : {}),
            });
          } else {
            targets.push({
              method, path, query: pageQuery,
              ...(method === 'POST' ? { form: pageForm, baseForm: path.includes(':uid') ? { csrf: interaction.csrf } : {} } : {}),
              baseQuery: path.startsWith('/account/') ? { token: 'A'.repeat(43) } : {},
            });
          }
        }
      }
    }
    return targets;
  }

  /** oidc-provider's routes, with the parameters each takes. */
  function providerTargets(): Target[] {
    const auth = { client_id: 'web-app', redirect_uri: REDIRECT_URI, response_type: 'code', scope: 'openid', state: 'st', nonce: 'no', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256' };
    const logout = { client_id: 'web-app', post_logout_redirect_uri: POST_LOGOUT_URI };
    return [
      { method: 'GET', path: '/auth', query: authParams, baseQuery: auth },
      { method: 'POST', path: '/auth', query: ['client_id'], form: authParams, baseForm: auth },
      { method: 'GET', path: '/auth/:uid', query: ['state'] },
      { method: 'POST', path: '/token', auth: 'basic', query: ['grant_type'], form: tokenParams, baseForm: { grant_type: 'authorization_code', code: 'sweep', redirect_uri: REDIRECT_URI, code_verifier: 'v'.repeat(43) } },
      { method: 'POST', path: '/token', query: [], form: ['grant_type', 'refresh_token', 'client_id'], baseForm: { grant_type: 'refresh_token', refresh_token: 'sweep', client_id: 'web-app' } },
      { method: 'POST', path: '/token/introspection', auth: 'basic', query: ['token'], form: ['token', 'token_type_hint', 'client_id'], baseForm: { token: 'sweep' } },
      { method: 'POST', path: '/token/revocation', auth: 'basic', query: ['token'], form: ['token', 'token_type_hint', 'client_id'], baseForm: { token: 'sweep' } },
      { method: 'GET', path: '/me', auth: 'bearer', query: ['access_token', 'claims'] },
      { method: 'POST', path: '/me', query: ['access_token'], form: ['access_token'] },
      { method: 'GET', path: '/jwks', query: ['kid'] },
      { method: 'GET', path: '/session/end', query: logoutParams, baseQuery: logout },
      { method: 'POST', path: '/session/end', query: ['state'], form: logoutParams, baseForm: logout },
      { method: 'POST', path: '/session/end/confirm', query: ['xsrf'], form: ['xsrf', 'logout'], baseForm: { xsrf: 'sweep', logout: 'yes' } },
      { method: 'GET', path: '/session/end/success', query: ['client_id', 'state'] },
      // Pushed authorization requests (RFC 9126) and the device flow (RFC 8628).
      { method: 'POST', path: '/request', auth: 'basic', query: [], form: authParams, baseForm: auth },
      { method: 'POST', path: '/device/auth', query: [], form: ['client_id', 'scope'], baseForm: { client_id: 'web-app', scope: 'openid' } },
      { method: 'GET', path: '/device', query: ['user_code'] },
      { method: 'POST', path: '/device', query: [], form: ['xsrf', 'user_code', 'confirm', 'abort'], baseForm: { xsrf: 'sweep', user_code: 'BCDF-GHJK' } },
      { method: 'POST', path: '/token', query: [], form: ['device_code', 'client_id'], baseForm: { grant_type: 'urn:ietf:params:oauth:grant-type:device_code', device_code: 'sweep', client_id: 'web-app' } },
      { method: 'GET', path: '/.well-known/openid-configuration', query: ['x'] },
      { method: 'GET', path: '/.well-known/oauth-authorization-server', query: ['x'] },
    ];
  }

  const paramNames = (path: string) => [...path.matchAll(/\{\*(\w+)\}|:(\w+)/g)].map((match) => (match[1] ?? match[2])!);
  const encodeForm = (fields: Record<string, string>) => new URLSearchParams(fields).toString();

  function casesFor(target: Target, index: number): Case[] {
    const headers: Record<string, string> = { cookie: interaction.cookie };
    if (target.auth === 'admin' || target.auth === 'bearer') headers.authorization = `Bearer ${token}`;
    if (target.auth === 'basic') headers.authorization = `Basic ${Buffer.from(`web-app:${rp.secret}`).toString('base64')}`;
    const url = (path: string, query: string) => `${app.issuer}${path}${query ? `?${query}` : ''}`;
    const baseQuery = target.baseQuery ?? {};
    const without = (fields: Record<string, string>, name: string) => Object.fromEntries(Object.entries(fields).filter(([key]) => key !== name));
    const join = (...parts: string[]) => parts.filter(Boolean).join('&');
    const cases: Case[] = [];
    const add = (label: string, request: Omit<Case, 'label' | 'headers'> & { headers?: Record<string, string> }) => {
      // Half the requests ask like a browser, half like an API client.
      const accept = (index + cases.length) % 2 === 0 ? 'application/json' : 'text/html';
      cases.push({ ...request, label: `${target.method} ${target.path} ${label}`, headers: { ...headers, accept, ...request.headers } });
    };
    const path = fill(target.path);
    const query = encodeForm(baseQuery);
    const formBody = (target.form ? { 'content-type': 'application/x-www-form-urlencoded' } : undefined);
    const goodForm = target.form ? encodeForm(target.baseForm ?? {}) : undefined;
    const plainBody = goodForm !== undefined ? Buffer.from(goodForm) : undefined;

    for (const name of paramNames(target.path)) {
      for (const [kind, bad] of encodedBad) {
        add(`path :${name} ${kind}`, { method: target.method, url: url(fill(target.path, { name, value: `${MARK}${bad}` }), query), ...(plainBody ? { body: plainBody, headers: formBody } : {}) });
      }
    }
    for (const name of target.query) {
      for (const [kind, bad] of encodedBad) {
        add(`query ${name} ${kind}`, { method: target.method, url: url(path, join(encodeForm(without(baseQuery, name)), `${name}=${MARK}${bad}`)), names: name, ...(plainBody ? { body: plainBody, headers: formBody } : {}) });
      }
    }
    for (const [kind, bad] of encodedBad) add(`query name ${kind}`, { method: target.method, url: url(path, join(query, `${MARK}${bad}=1`)) });

    if (target.form) {
      for (const name of target.form) {
        const rest = encodeForm(without(target.baseForm ?? {}, name));
        for (const [kind, bad] of encodedBad) {
          add(`form ${name} ${kind}`, { method: target.method, url: url(path, query), headers: formBody, body: Buffer.from(join(rest, `${name}=${MARK}${bad}`)), names: name });
        }
        for (const [kind, byte] of rawFormBad) {
          add(`form ${name} ${kind}`, { method: target.method, url: url(path, query), headers: formBody, body: Buffer.concat([Buffer.from(join(rest, `${name}=${MARK}`)), Buffer.from([byte])]), names: name });
        }
      }
      for (const [kind, bad] of encodedBad) add(`form name ${kind}`, { method: target.method, url: url(path, query), headers: formBody, body: Buffer.from(join(goodForm!, `${MARK}${bad}=1`)) });
    }

    if (target.json) {
      const jsonHeaders = { 'content-type': 'application/json' };
      const jsonBody = (value: unknown) => {
        const [before, after] = JSON.stringify(value).split(RAW) as [string, string | undefined];
        return after === undefined ? Buffer.from(before) : Buffer.concat([Buffer.from(before), Buffer.from([0xff]), Buffer.from(after)]);
      };
      for (const name of new Set(target.json)) {
        const isList = Array.isArray(jsonSamples[name]);
        for (const [kind, bad] of jsonBad) {
          const value = isList ? [`${MARK}${bad}`] : `${MARK}${bad}`;
          // A raw byte breaks the text, not one field: the answer names the body.
          add(`json ${name} ${kind}`, { method: target.method, url: url(path, query), headers: jsonHeaders, body: jsonBody({ ...target.baseJson, [name]: value }), ...(bad === RAW ? {} : { names: name }) });
        }
      }
      for (const [kind, bad] of jsonBad.slice(0, 2)) {
        add(`json key ${kind}`, { method: target.method, url: url(path, query), headers: jsonHeaders, body: jsonBody({ ...target.baseJson, [`${MARK}${bad}`]: 'x' }) });
        add(`json nested ${kind}`, { method: target.method, url: url(path, query), headers: jsonHeaders, body: jsonBody({ ...target.baseJson, metadata: { list: [{ deep: `${MARK}${bad}` }] } }), names: 'metadata.list[0].deep' });
      }
    }
    return cases;
  }

  async function send(request: Case): Promise<{ status: number; text: string }> {
    requests++;
    const response = await fetch(request.url, { method: request.method, headers: request.headers, body: request.body, redirect: 'manual' });
    const text = await response.text();
    if (response.status >= 500) {
      serverErrors++;
      console.log(`5xx: ${request.label}: ${response.status} ${text.slice(0, 120)}`);
    }
    return { status: response.status, text };
  }

  /** Rows (PostgreSQL) and records (Redis) holding `text`, by table or key. */
  async function storedWith(text: string): Promise<string[]> {
    const found: string[] = [];
    const { rows: tables } = await app.deps.db.query<{ name: string }>("SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'");
    for (const { name } of tables) {
      const { rows } = await app.deps.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${name}" AS r WHERE r::text LIKE $1`, [`%${text}%`]);
      if (rows[0]!.n > 0) found.push(`${name}: ${rows[0]!.n}`);
    }
    const redis = app.deps.redis;
    if (redis) {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${app.storage.redisPrefix}*`, 'COUNT', 500);
        for (const key of keys) {
          const type = await redis.type(key);
          const value = type === 'string' ? await redis.get(key)
            : type === 'hash' ? JSON.stringify(await redis.hgetall(key))
            : type === 'set' ? (await redis.smembers(key)).join(' ')
            : type === 'zset' ? (await redis.zrange(key, '0', '-1')).join(' ')
            : type === 'list' ? (await redis.lrange(key, '0', '-1')).join(' ') : '';
          if (key.includes(text) || value?.includes(text)) found.push(`redis ${key}`);
        }
        cursor = next;
      } while (cursor !== '0');
    }
    return found;
  }

  it('still serves good values, non-ASCII ones included, and they are stored', async () => {
    // Admin API JSON: escapes and raw UTF-8, a surrogate pair among them.
    const created = await fetch(`${app.issuer}${ADMIN_BASE}/users`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: `{"email":"${GOOD}-zoe@example.com","name":"Zo\\u00eb ${GOOD} \\ud83d\\ude00 ✓"}`,
    });
    expect(created.status).toBe(201);
    expect((await created.json() as { name: string }).name).toBe(`Zoë ${GOOD} 😀 ✓`);
    const search = await adminCall(app, token, 'GET', `/users?search=${encodeURIComponent(`Zoë ${GOOD}`)}`);
    expect(search.status).toBe(200);
    expect(search.body.items.map((user: { email: string }) => user.email)).toEqual([`${GOOD}-zoe@example.com`]);

    // A whole sign-in through the pages, with UTF-8 in the state, then the code and a refresh.
    const state = `état ✓ ${GOOD}`;
    const request = await authorizationRequest(rp.config, { state });
    const { callback } = await signInThroughPages(new Browser(), request.url, { email: rp.email, password: PASSWORD });
    expect(new URL(callback).searchParams.get('state')).toBe(state);
    const tokens = await client.authorizationCodeGrant(rp.config, new URL(callback), { pkceCodeVerifier: request.verifier, expectedState: state, expectedNonce: request.nonce });
    const refreshed = await client.refreshTokenGrant(rp.config, tokens.refresh_token!);
    expect(refreshed.access_token).toBeTruthy();
    // A repeat within the grace window is rewritten in the checked body (replaceFormField).
    const repeat = await fetch(`${app.issuer}/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`web-app:${rp.secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token! }),
    });
    expect(repeat.status).toBe(200);
    expect((await repeat.json() as { refresh_token: string }).refresh_token).toBe(refreshed.refresh_token);
    const introspection = await fetch(`${app.issuer}/token/introspection`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`web-app:${rp.secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: `token=${refreshed.access_token}`,
    });
    expect(introspection.status).toBe(200);

    // Our form routes still parse as before: a name with non-ASCII letters is registered as typed.
    const login = await openLoginPage(rp.config);
    const form = await open(login.browser, app, `/interaction/${login.uid}/register`);
    const registered = await submit(login.browser, app, form.html, '/register', { email: `${GOOD}-reg@example.com`, name: `Zoë Ŧest ${GOOD}`, password: 'tulip kettle orbit 42' });
    expect(registered.status).toBeLessThan(400);
    await app.deps.background.drain(); // registration finishes off the request path
    expect((await app.deps.accounts.findByEmail(`${GOOD}-reg@example.com`))?.name).toBe(`Zoë Ŧest ${GOOD}`);

    // The search the sweep ends with finds these.
    expect((await storedWith(GOOD)).length).toBeGreaterThan(0);
  });

  it('refuses every bad value with a 400 that names the input, and never answers 5xx', async () => {
    const targets = [...ourTargets(), ...providerTargets()];
    // The sweep must see the areas it is meant to cover.
    for (const expected of ['/interaction/:uid/login', '/account/reset-password', `${ADMIN_BASE}/users`, '/healthz', '/']) {
      expect(targets.some((target) => target.path === expected)).toBe(true);
    }
    const cases = targets.flatMap((target, index) => casesFor(target, index));
    const failures: string[] = [];
    const queue = [...cases];
    // A few at a time: the checks are cheap, and the machine is shared.
    await Promise.all(Array.from({ length: 6 }, async () => {
      for (let next = queue.shift(); next; next = queue.shift()) {
        const request = next;
        const { status, text } = await send(request);
        if (status !== 400) {
          failures.push(`${request.label}: ${status} ${text.slice(0, 200)}`);
          continue;
        }
        if (request.headers.accept === 'application/json') {
          let body: { error?: string; error_description?: string; message?: string } = {};
          try {
            body = JSON.parse(text) as typeof body;
          } catch {
            failures.push(`${request.label}: not JSON: ${text.slice(0, 100)}`);
            continue;
          }
          // The admin API answers in its own shape ({ error: code, message }); the rest as OAuth does.
          const admin = new URL(request.url).pathname.startsWith(`${ADMIN_BASE}/`);
          const description = (admin ? body.message : body.error_description) ?? '';
          const expectedError = admin ? 'request.invalid_characters' : 'invalid_request';
          if (body.error !== expectedError) failures.push(`${request.label}: error ${body.error}`);
          if (request.names && !description.includes(`"${request.names}`)) failures.push(`${request.label}: does not name ${request.names}: ${description}`);
          if (description.includes(MARK) || description.includes('\uFFFD') || description.includes('\0')) failures.push(`${request.label}: echoes the value: ${description}`);
        } else if (!text.includes('request.invalid_characters') || text.includes(MARK)) {
          failures.push(`${request.label}: not the error page: ${text.slice(0, 200)}`);
        }
      }
    }));
    console.log(`bad-bytes sweep: ${requests} requests over ${targets.length} routes, ${serverErrors} answered 5xx (${app.deps.db.embedded ? 'embedded database' : 'PostgreSQL'}${app.deps.redis ? ' + Redis' : ''})`);
    expect(serverErrors).toBe(0);
    expect(failures).toEqual([]);
    expect(requests).toBeGreaterThan(1000);
    expect(await storedWith(MARK)).toEqual([]);
  });

  it('answers an oversized body with 413, and oidc-provider never falls back to a parsed body', async () => {
    const large = await fetch(`${app.issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: `grant_type=client_credentials&pad=${'x'.repeat(70 * 1024)}`,
    });
    expect(large.status).toBe(413);
    expect((await large.json() as { error: string }).error).toBe('invalid_request');
    // The warning oidc-provider prints once when something upstream consumed the body.
    expect(warnings.mock.calls.flat().join('\n')).not.toContain('already parsed request body');
  });
});
