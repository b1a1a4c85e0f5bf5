import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { once } from 'node:events';
import { createHash, randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';

export interface FakeGitHubPerson {
  id: number;
  login: string;
  name: string | null;
  avatar_url: string;
  emails: Array<{ email: string; primary: boolean; verified: boolean; visibility: 'public' | 'private' | null }>;
}

export interface FakeGitHub {
  /** Web base URL (authorize, access_token), like https://github.com or a GHES host. */
  webUrl: string;
  /** REST API base URL, shaped like GitHub Enterprise Server's /api/v3. */
  apiUrl: string;
  clientId: string;
  clientSecret: string;
  person: FakeGitHubPerson;
  faults: { authorizeError?: string };
  issued: string[];
  env(id?: string): Record<string, string>;
  close(): Promise<void>;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(body));
}

/**
 * GitHub's OAuth web flow and the two REST calls we use, on loopback. Like GitHub, the token
 * endpoint answers errors with status 200, and the API refuses requests without a User-Agent.
 */
export async function startFakeGitHub(): Promise<FakeGitHub> {
  const codes = new Map<string, { person: FakeGitHubPerson; challenge: string; redirectUri: string }>();
  const tokens = new Map<string, FakeGitHubPerson>();
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const fake: FakeGitHub = {
    webUrl: base,
    apiUrl: `${base}/api/v3`,
    clientId: 'Iv1.fakegithubclient',
    clientSecret: randomBytes(20).toString('hex'),
    person: {
      id: 583231,
      login: 'octocat',
      name: 'The Octocat',
      avatar_url: 'https://avatars.githubusercontent.test/u/583231',
      emails: [{ email: 'octocat@github.test', primary: true, verified: true, visibility: 'public' }],
    },
    faults: {},
    issued: [],
    env(id = 'github') {
      const prefix = `UPSTREAM_${id.toUpperCase().replace(/-/g, '_')}_`;
      return {
        [`${prefix}WEB_URL`]: fake.webUrl,
        [`${prefix}API_URL`]: fake.apiUrl,
        [`${prefix}CLIENT_ID`]: fake.clientId,
        [`${prefix}CLIENT_SECRET`]: fake.clientSecret,
      };
    },
    async close() {
      server.closeAllConnections();
      server.close();
    },
  };

  server.on('request', async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', base);
    if (url.pathname === '/login/oauth/authorize') {
      const params = url.searchParams;
      const redirectUri = params.get('redirect_uri');
      if (params.get('client_id') !== fake.clientId || !redirectUri) {
        res.writeHead(400).end('unknown client');
        return;
      }
      const back = new URL(redirectUri);
      if (params.get('state')) back.searchParams.set('state', params.get('state')!);
      if (fake.faults.authorizeError) {
        back.searchParams.set('error', fake.faults.authorizeError);
        back.searchParams.set('error_description', 'The user has denied your application access.');
      } else {
        const code = randomBytes(10).toString('hex');
        codes.set(code, { person: structuredClone(fake.person), challenge: params.get('code_challenge') ?? '', redirectUri });
        back.searchParams.set('code', code);
      }
      res.writeHead(302, { location: back.href }).end();
    } else if (url.pathname === '/login/oauth/access_token' && req.method === 'POST') {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
      if (form.get('client_id') !== fake.clientId || form.get('client_secret') !== fake.clientSecret) {
        json(res, 200, { error: 'incorrect_client_credentials', error_description: 'The client_id and/or client_secret passed are incorrect.' });
        return;
      }
      const code = codes.get(form.get('code') ?? '');
      codes.delete(form.get('code') ?? '');
      const verifier = form.get('code_verifier') ?? '';
      if (!code || code.redirectUri !== form.get('redirect_uri') || createHash('sha256').update(verifier).digest('base64url') !== code.challenge) {
        json(res, 200, { error: 'bad_verification_code', error_description: 'The code passed is incorrect or expired.' });
        return;
      }
      const token = `gho_${randomBytes(18).toString('hex')}`;
      tokens.set(token, code.person);
      fake.issued.push(token);
      json(res, 200, { access_token: token, token_type: 'bearer', scope: 'read:user,user:email' });
    } else if (url.pathname.startsWith('/api/v3/')) {
      if (!req.headers['user-agent']) {
        json(res, 403, { message: 'Request forbidden by administrative rules. Please make sure your request has a User-Agent header' });
        return;
      }
      const person = tokens.get(/^(?:Bearer|token) (.+)$/i.exec(req.headers.authorization ?? '')?.[1] ?? '');
      if (!person) {
        json(res, 401, { message: 'Bad credentials' });
      } else if (url.pathname === '/api/v3/user') {
        const primary = person.emails.find((entry) => entry.primary && entry.visibility === 'public');
        json(res, 200, { id: person.id, login: person.login, name: person.name, avatar_url: person.avatar_url, email: primary?.email ?? null });
      } else if (url.pathname === '/api/v3/user/emails') {
        json(res, 200, person.emails);
      } else {
        json(res, 404, { message: 'Not Found' });
      }
    } else {
      res.writeHead(404).end();
    }
  });
  return fake;
}
