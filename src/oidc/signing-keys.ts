import { generateKeyPairSync } from 'node:crypto';
import { calculateJwkThumbprint, type JWK } from 'jose';
import type { Database } from '../db/database.ts';

// RS256 first: it is the default ID token algorithm and what OpenID Connect Basic relying
// parties must support; ES256 is offered to clients that ask for it.
export const signingAlgorithms = ['RS256', 'ES256'] as const;
type SigningAlg = (typeof signingAlgorithms)[number];

// Any constant works; it serialises key generation between instances starting together.
const KEY_LOCK_ID = 7_240_115_932;

async function generateJwk(alg: SigningAlg): Promise<JWK> {
  const { privateKey } = alg === 'RS256'
    ? generateKeyPairSync('rsa', { modulusLength: 2048 })
    : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = privateKey.export({ format: 'jwk' }) as JWK;
  const kid = await calculateJwkThumbprint(jwk, 'sha256');
  return { ...jwk, kid, alg, use: 'sig' };
}

/**
 * The provider's signing keys as private JWKs, generated and stored on first start. Active keys
 * come first so they sign; retired keys stay published so earlier tokens still verify.
 */
export async function loadSigningKeys(db: Database): Promise<JWK[]> {
  return db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [KEY_LOCK_ID]);
    const { rows } = await tx.query<{ alg: string; jwk: JWK; status: string }>(
      `SELECT alg, jwk, status FROM signing_keys ORDER BY status = 'active' DESC, created_at DESC`,
    );
    const keys = rows.map((row) => row.jwk);
    for (const alg of signingAlgorithms) {
      if (rows.some((row) => row.alg === alg && row.status === 'active')) continue;
      const jwk = await generateJwk(alg);
      await tx.query('INSERT INTO signing_keys (kid, alg, jwk) VALUES ($1, $2, $3)', [jwk.kid, alg, jwk]);
      keys.unshift(jwk);
    }
    // Keep the RS256 key ahead of ES256 among active keys: oidc-provider signs with the first match.
    return keys.sort((a, b) => signingAlgorithms.indexOf(a.alg as SigningAlg) - signingAlgorithms.indexOf(b.alg as SigningAlg));
  });
}
