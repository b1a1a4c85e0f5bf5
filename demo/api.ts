import Koa, { type Context } from 'koa';
import Router from '@koa/router';
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';

export interface DemoApiOptions {
  issuer: string;
  /** This API's resource indicator: the `aud` its access tokens must carry. */
  audience: string;
}

const REQUIRED_SCOPE = 'read';

// RFC 6750 §3: a request without credentials gets a bare challenge; a bad token gets
// invalid_token (401); a good token without the needed scope gets insufficient_scope (403).
function challenge(ctx: Context, status: 401 | 403, error: { error: string; error_description: string; scope?: string } | null): void {
  const params = ['realm="demo-api"'];
  if (error) {
    params.push(`error="${error.error}"`, `error_description="${error.error_description}"`);
    if (error.scope) params.push(`scope="${error.scope}"`);
  }
  ctx.status = status;
  ctx.set('www-authenticate', `Bearer ${params.join(', ')}`);
  ctx.body = error ?? { message: 'send an access token: Authorization: Bearer <token>' };
}

/** A resource server that validates the provider's JWT access tokens offline against its JWKS. */
export function createDemoApi(options: DemoApiOptions): Koa {
  // jose caches the key set and refetches it (rate-limited) when a token names an unknown kid,
  // so signing-key rotation at the provider needs no restart here.
  const jwks = createRemoteJWKSet(new URL(`${options.issuer}/jwks`));

  async function verify(token: string): Promise<JWTPayload | null> {
    try {
      // RFC 9068 §4: check issuer, audience and the at+jwt type (so an ID token is refused).
      const { payload } = await jwtVerify(token, jwks, {
        issuer: options.issuer,
        audience: options.audience,
        typ: 'at+jwt',
        algorithms: ['RS256'],
      });
      return payload;
    } catch {
      return null;
    }
  }

  const router = new Router();
  router.get('/api/hello', async (ctx) => {
    const match = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/.exec(ctx.get('authorization'));
    if (!match) return challenge(ctx, 401, null);
    const payload = await verify(match[1]!);
    if (!payload) return challenge(ctx, 401, { error: 'invalid_token', error_description: 'the access token is invalid, expired or not for this API' });
    const scopes = typeof payload.scope === 'string' ? payload.scope.split(' ') : [];
    if (!scopes.includes(REQUIRED_SCOPE)) {
      return challenge(ctx, 403, { error: 'insufficient_scope', error_description: `this call needs the ${REQUIRED_SCOPE} scope`, scope: REQUIRED_SCOPE });
    }
    ctx.set('cache-control', 'no-store');
    ctx.body = { message: `Hello from the demo API, ${payload.sub ?? 'client'}!`, sub: payload.sub ?? null, scope: payload.scope };
  });

  const app = new Koa();
  app.use(router.routes());
  app.use(router.allowedMethods());
  return app;
}
