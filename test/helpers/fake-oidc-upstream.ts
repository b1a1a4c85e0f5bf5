import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { once } from 'node:events';
import { createHash, randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose';

export interface FakeOidcPerson {
  sub: string;
  email?: string;
  email_verified?: boolean;
  name?: string;
  given_name?: string;
  family_name?: string;
  picture?: string;
}

/** Ways the fake can misbehave, to prove each check is made. */
export interface FakeOidcFaults {
  /** Answer /authorize with this error instead of a code. */
  authorizeError?: string;
  /** Drop the connection of token requests, as an unreachable upstream would. */
  dropTokenRequests?: boolean;
  /** Take token requests and never answer, as a stuck upstream would. */
  hangTokenRequests?: boolean;
  /** Break one property of the ID token. */
  idToken?: 'wrong_signature' | 'wrong_aud' | 'wrong_nonce' | 'wrong_iss' | 'expired';
}

export interface FakeOidcUpstream {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** The person who "signs in" at the next /authorize. */
  person: FakeOidcPerson;
  faults: FakeOidcFaults;
  /** Query parameters of every /authorize request, newest last. */
  authorizeRequests: URLSearchParams[];
  /** Tokens issued, so a test can assert they never reach a log. */
  issued: string[];
  /** Settings for our provider, exactly as an operator would set them. */
  env(id?: string, kind?: 'google' | 'oidc'): Record<string, string>;
  close(): Promise<void>;
}

interface PendingCode {
  person: FakeOidcPerson;
  nonce: string | null;
  challenge: string;
  redirectUri: string;
  clientId: string;
}

const s256 = (verifier: string) => createHash('sha256').update(verifier).digest('base64url');

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

/**
 * A small OpenID Connect provider on loopback, shaped like Google: discovery, JWKS, /authorize that
 * signs `person` in at once, /token with client authentication and PKCE, RS256 ID tokens, userinfo.
 * `hostname` lets a test put it on another site than the provider (localhost vs 127.0.0.1).
 */
export async function startFakeOidcUpstream(options: { hostname?: string; clientId?: string; clientSecret?: string } = {}): Promise<FakeOidcUpstream> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const impostor = await generateKeyPair('RS256');
  const kid = randomBytes(6).toString('hex');
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
  const codes = new Map<string, PendingCode>();
  const accessTokens = new Map<string, FakeOidcPerson>();
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const issuer = `http://${options.hostname ?? '127.0.0.1'}:${(server.address() as AddressInfo).port}`;

  const fake: FakeOidcUpstream = {
    issuer,
    clientId: options.clientId ?? 'fake-google-client',
    clientSecret: options.clientSecret ?? randomBytes(12).toString('hex'),
    person: { sub: '1000001', email: 'new.person@gmail.test', email_verified: true, name: 'New Person' },
    faults: {},
    authorizeRequests: [],
    issued: [],
    env(id = 'google', kind) {
      const prefix = `UPSTREAM_${id.toUpperCase().replace(/-/g, '_')}_`;
      return {
        ...(kind ? { [`${prefix}KIND`]: kind } : {}),
        [`${prefix}ISSUER`]: issuer,
        [`${prefix}CLIENT_ID`]: fake.clientId,
        [`${prefix}CLIENT_SECRET`]: fake.clientSecret,
      };
    },
    async close() {
      server.closeAllConnections();
      server.close();
    },
  };

  async function idToken(code: PendingCode): Promise<string> {
    const { faults } = fake;
    const now = Math.floor(Date.now() / 1000);
    const { sub, ...claims } = code.person;
    const jwt = new SignJWT({ ...claims, nonce: faults.idToken === 'wrong_nonce' ? 'not-the-nonce' : code.nonce ?? undefined })
      .setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT' })
      .setSubject(sub)
      .setIssuer(faults.idToken === 'wrong_iss' ? 'https://evil.example' : issuer)
      .setAudience(faults.idToken === 'wrong_aud' ? 'someone-else' : code.clientId)
      .setIssuedAt(faults.idToken === 'expired' ? now - 7200 : now)
      .setExpirationTime(faults.idToken === 'expired' ? now - 3600 : now + 300);
    // Same kid, other key: only a signature check can tell.
    const key: CryptoKey = faults.idToken === 'wrong_signature' ? impostor.privateKey : privateKey;
    return jwt.sign(key);
  }

  function clientFrom(req: IncomingMessage, form: URLSearchParams): { id: string; secret: string } | null {
    const basic = /^Basic (.+)$/i.exec(req.headers.authorization ?? '')?.[1];
    if (basic) {
      const [id, secret] = Buffer.from(basic, 'base64').toString('utf8').split(':').map(decodeURIComponent);
      return id && secret !== undefined ? { id, secret } : null;
    }
    const id = form.get('client_id');
    const secret = form.get('client_secret');
    return id && secret ? { id, secret } : null;
  }

  server.on('request', async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', issuer);
    try {
      if (url.pathname === '/.well-known/openid-configuration') {
        json(res, 200, {
          issuer,
          authorization_endpoint: `${issuer}/authorize`,
          token_endpoint: `${issuer}/token`,
          userinfo_endpoint: `${issuer}/userinfo`,
          jwks_uri: `${issuer}/jwks`,
          response_types_supported: ['code'],
          subject_types_supported: ['public'],
          id_token_signing_alg_values_supported: ['RS256'],
          code_challenge_methods_supported: ['S256'],
          token_endpoint_auth_methods_supported: ['client_secret_post', 'client_secret_basic'],
          scopes_supported: ['openid', 'email', 'profile'],
        });
      } else if (url.pathname === '/jwks') {
        json(res, 200, { keys: [jwk] });
      } else if (url.pathname === '/authorize') {
        const params = url.searchParams;
        fake.authorizeRequests.push(params);
        const redirectUri = params.get('redirect_uri') ?? '';
        const back = new URL(redirectUri);
        if (params.get('client_id') !== fake.clientId || !redirectUri) {
          res.writeHead(400).end('unknown client or redirect_uri');
          return;
        }
        const state = params.get('state');
        if (state) back.searchParams.set('state', state);
        if (fake.faults.authorizeError) {
          back.searchParams.set('error', fake.faults.authorizeError);
        } else {
          const code = randomBytes(16).toString('base64url');
          codes.set(code, {
            person: { ...fake.person },
            nonce: params.get('nonce'),
            challenge: params.get('code_challenge_method') === 'S256' ? params.get('code_challenge') ?? '' : '',
            redirectUri,
            clientId: fake.clientId,
          });
          back.searchParams.set('code', code);
        }
        res.writeHead(302, { location: back.href }).end();
      } else if (url.pathname === '/token' && req.method === 'POST') {
        if (fake.faults.dropTokenRequests) {
          req.socket.destroy();
          return;
        }
        if (fake.faults.hangTokenRequests) return; // the client's own timeout has to end it
        const form = await readForm(req);
        const client = clientFrom(req, form);
        if (!client || client.id !== fake.clientId || client.secret !== fake.clientSecret) {
          json(res, 401, { error: 'invalid_client' });
          return;
        }
        const code = codes.get(form.get('code') ?? '');
        codes.delete(form.get('code') ?? '');
        const verifier = form.get('code_verifier') ?? '';
        if (!code || code.redirectUri !== form.get('redirect_uri') || !code.challenge || s256(verifier) !== code.challenge) {
          json(res, 400, { error: 'invalid_grant' });
          return;
        }
        const accessToken = randomBytes(24).toString('base64url');
        accessTokens.set(accessToken, code.person);
        const token = await idToken(code);
        fake.issued.push(accessToken, token);
        json(res, 200, { access_token: accessToken, token_type: 'Bearer', expires_in: 300, id_token: token, scope: 'openid email profile' });
      } else if (url.pathname === '/userinfo') {
        const person = accessTokens.get(/^Bearer (.+)$/i.exec(req.headers.authorization ?? '')?.[1] ?? '');
        if (!person) json(res, 401, { error: 'invalid_token' });
        else json(res, 200, person);
      } else {
        res.writeHead(404).end();
      }
    } catch (error) {
      res.writeHead(500).end(String(error));
    }
  });
  return fake;
}
