import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';

/*
 * JSON endpoints get the headers that mean something for an API, set from one prepared list;
 * pages keep helmet's whole set (CSP for pages, COOP, CORP, ...).
 */
describe('security headers: API responses and pages', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(async () => app?.close());

  const apiExpectations = (headers: Headers) => {
    expect(headers.get('content-security-policy')).toBe("default-src 'none'; frame-ancestors 'none'");
    expect(headers.get('x-content-type-options')).toBe('nosniff');
    expect(headers.get('x-frame-options')).toBe('DENY');
    expect(headers.get('referrer-policy')).toBe('no-referrer');
    // Page-only headers are not sent with JSON.
    expect(headers.get('cross-origin-opener-policy')).toBeNull();
    expect(headers.get('x-dns-prefetch-control')).toBeNull();
  };

  it('answers discovery, JWKS, a refused token request and userinfo with the API headers', async () => {
    for (const [path, init] of [
      ['/.well-known/openid-configuration', {}],
      ['/jwks', {}],
      ['/token', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=client_credentials' }],
      ['/me', { headers: { authorization: 'Bearer nope' } }],
    ] as const) {
      const response = await fetch(`${app.issuer}${path}`, init);
      await response.arrayBuffer();
      expect(response.status, path).toBeLessThan(500);
      apiExpectations(response.headers);
    }
  });

  it('keeps the whole set on pages', async () => {
    const response = await fetch(`${app.issuer}/`);
    await response.arrayBuffer();
    expect(response.headers.get('content-security-policy')).toContain("style-src 'self'");
    expect(response.headers.get('cross-origin-opener-policy')).toBe('same-origin');
    expect(response.headers.get('x-frame-options')).toBe('DENY');
  });
});
