import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';

/** An unsigned JWT whose claims carry what the edge check cannot see: it is inside base64url. */
const jwt = (claims: Record<string, unknown>) => `${Buffer.from(JSON.stringify({ alg: 'RS256', typ: 'JWT' })).toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.c2ln`;

describe('NUL and lone surrogates inside JWT parameters', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(async () => app?.close());

  it.each([['NUL', 'client\u0000id'], ['a lone surrogate', 'client\ud800id']])('a client_assertion whose iss and sub hold %s is invalid_client, not a 500', async (_what, id) => {
    const response = await fetch(`${app.issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        client_assertion: jwt({ iss: id, sub: id, aud: app.issuer, exp: Math.floor(Date.now() / 1000) + 60, jti: 'x' }),
      }),
    });
    expect(response.status).toBe(401);
    expect((await response.json() as { error: string }).error).toBe('invalid_client');
  });

  it('an id_token_hint whose aud holds NUL is a 400 page at logout, not a 500', async () => {
    const hint = jwt({ iss: app.issuer, aud: 'web\u0000app', sub: 'x', exp: Math.floor(Date.now() / 1000) + 60 });
    const response = await fetch(`${app.issuer}/session/end?id_token_hint=${hint}`, { headers: { accept: 'text/html' } });
    expect(response.status).toBeGreaterThanOrEqual(400);
    expect(response.status).toBeLessThan(500);
  });
});
