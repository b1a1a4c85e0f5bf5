import { hkdfSync } from 'node:crypto';
import type { JWK } from 'jose';
import { createSecretBox, MfaSecretError } from '../../mfa/secret-box.ts';

/** Seals and opens private signing JWKs; `kid` binds each sealed value to its row. */
export interface KeySealer {
  seal(jwk: JWK, kid: string): string;
  /** Throws KeySealError when the value cannot be opened with the configured keys. */
  open(sealed: string, kid: string): JWK;
}

export class KeySealError extends Error {
  override name = 'KeySealError';
}

/**
 * Private signing keys are sealed with AES-256-GCM under the configured encryption keys (the
 * same ENCRYPTION_KEYS that seal second-factor secrets, src/mfa/secret-box.ts), so a database
 * dump alone cannot forge tokens. Each configured key is first stretched into a key of its own
 * for this purpose (HKDF, RFC 5869, with its own label), so the two uses never share an AES key;
 * newest first: sealing uses the first, opening whichever sealed the value.
 */
export function createKeySealer(encryptionKeys: string[]): KeySealer {
  const derived = encryptionKeys.map((key) => Buffer.from(hkdfSync('sha256', Buffer.from(key, 'base64'), Buffer.alloc(0), 'idp signing keys', 32)).toString('base64url'));
  const box = createSecretBox(derived);
  const context = (kid: string) => `signing_key:${kid}`;
  return {
    seal: (jwk, kid) => box.seal(JSON.stringify(jwk), context(kid)),
    open(sealed, kid) {
      try {
        return JSON.parse(box.open(sealed, context(kid))) as JWK;
      } catch (error) {
        const reason = error instanceof MfaSecretError && error.code === 'mfa.sealed_unknown_key'
          ? 'it was sealed with an encryption key that is not configured (ENCRYPTION_KEYS must keep older keys after newer ones; a development install keeps its generated key in instance_secrets.mfa_keys)'
          : 'it does not open with the configured ENCRYPTION_KEYS';
        throw new KeySealError(`signing key ${kid} cannot be read: ${reason}`);
      }
    },
  };
}
