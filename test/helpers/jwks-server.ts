import { createServer } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose';

/** A signing key pair with its public JWK (kid and alg set), as a client would publish it. */
export interface ClientKey {
  kid: string;
  alg: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

export async function clientKey(alg: 'RS256' | 'ES256' | 'PS256', kid: string): Promise<ClientKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { kid, alg, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

/**
 * A relying party's jwks_uri on 127.0.0.1: each path serves the key set the test gives it, which
 * it can change at any time (key rotation); it counts the fetches of each path.
 */
export async function startJwksServer(): Promise<{ url(path: string): string; serve(path: string, keys: ClientKey[]): void; fetches(path: string): number; close(): Promise<void> }> {
  const sets = new Map<string, JWK[]>();
  const counts = new Map<string, number>();
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://jwks.invalid').pathname;
    counts.set(path, (counts.get(path) ?? 0) + 1);
    const keys = sets.get(path);
    response.writeHead(keys ? 200 : 404, { 'content-type': 'application/json' });
    response.end(JSON.stringify(keys ? { keys } : { error: 'not_found' }));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: (path) => `http://127.0.0.1:${port}${path}`,
    serve: (path, keys) => void sets.set(path, keys.map((key) => key.publicJwk)),
    fetches: (path) => counts.get(path) ?? 0,
    async close() {
      server.closeAllConnections();
      server.close();
    },
  };
}
