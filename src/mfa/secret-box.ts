import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/**
 * Factor secrets (TOTP seeds) are symmetric: whoever reads the column can mint codes, so a
 * database dump alone must not be enough (NIST SP 800-63B §5.1.4.2: OTP secrets "SHALL be
 * strongly protected against unauthorized disclosure"). They are sealed with AES-256-GCM under
 * an application key that lives in configuration, not in the database.
 */

export type MfaSecretErrorCode =
  | 'mfa.key_invalid'
  | 'mfa.sealed_malformed'
  | 'mfa.sealed_unknown_key'
  | 'mfa.sealed_unauthentic';

export class MfaSecretError extends Error {
  override name = 'MfaSecretError';
  readonly code: MfaSecretErrorCode;

  constructor(code: MfaSecretErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

export type SecretBox = {
  /** Encrypts with the newest key; `context` (factor id, account id) must be given again to open. */
  seal(plaintext: string, context: string): string;
  /** Decrypts with whichever configured key sealed it; throws MfaSecretError otherwise. */
  open(sealed: string, context: string): string;
};

const VERSION = 'v1';
const KEY_BYTES = 32;
// 96-bit IVs are the size GCM is defined for without an extra GHASH step (NIST SP 800-38D §8.2);
// random IVs stay safe far beyond the number of factors one deployment will ever seal.
const IV_BYTES = 12;
// Pinned on decrypt too: without authTagLength Node accepts truncated tags, which weakens GCM.
const TAG_BYTES = 16;

const BASE64 = /^[A-Za-z0-9+/_-]+={0,2}$/;

/**
 * Validates one configured key: base64 or base64url of exactly 32 bytes. The message is written
 * to follow a configuration key path ("mfa.keys[0] must be …") and never echoes the value.
 */
export function parseSecretKey(value: string): Buffer {
  const trimmed = value.trim();
  const key = BASE64.test(trimmed) ? Buffer.from(trimmed, 'base64') : null;
  // Node's decoder silently skips what it cannot read; re-encoding shows whether it skipped any.
  const canonical = trimmed.replace(/=+$/, '').replaceAll('+', '-').replaceAll('/', '_');
  const decoded = key !== null && key.toString('base64url') === canonical;
  if (!decoded || key.length !== KEY_BYTES) {
    const got = decoded ? ` (got ${key.length} bytes)` : '';
    throw new MfaSecretError(
      'mfa.key_invalid',
      `must be ${KEY_BYTES} bytes, base64${got}: generate one with \`openssl rand -base64 32\``,
    );
  }
  return key;
}

/** Short public name of a key, stored beside the ciphertext so open() goes straight to it. */
function keyIdOf(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 8);
}

// The header is authenticated along with the context, so no part of the sealed string can be
// swapped without the tag failing; the key id has a fixed length, so the join is unambiguous.
function aad(keyId: string, context: string): Buffer {
  return Buffer.from(`${VERSION}.${keyId}.${context}`, 'utf8');
}

/** `keys` newest first: seal with the first, open with any, so old keys can be rotated out. */
export function createSecretBox(keys: string[]): SecretBox {
  if (keys.length === 0) throw new MfaSecretError('mfa.key_invalid', 'needs at least one key');
  const byId = new Map<string, Buffer>();
  keys.forEach((value, index) => {
    let key: Buffer;
    try {
      key = parseSecretKey(value);
    } catch (error) {
      throw new MfaSecretError('mfa.key_invalid', `[${index}] ${(error as Error).message}`);
    }
    const id = keyIdOf(key);
    if (byId.has(id)) throw new MfaSecretError('mfa.key_invalid', `[${index}] repeats an earlier key`);
    byId.set(id, key);
  });
  const [currentId, currentKey] = byId.entries().next().value as [string, Buffer];

  return {
    seal(plaintext, context) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', currentKey, iv, { authTagLength: TAG_BYTES });
      cipher.setAAD(aad(currentId, context));
      const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      const tag = cipher.getAuthTag();
      return [VERSION, currentId, iv, ciphertext, tag]
        .map((part) => (typeof part === 'string' ? part : part.toString('base64url')))
        .join('.');
    },

    open(sealed, context) {
      const parts = sealed.split('.');
      const [version, keyId, ivText, ciphertextText, tagText] = parts;
      if (
        parts.length !== 5 ||
        version !== VERSION ||
        keyId === undefined ||
        !/^[0-9a-f]{8}$/.test(keyId) ||
        ivText === undefined ||
        ciphertextText === undefined ||
        tagText === undefined ||
        ![ivText, ciphertextText, tagText].every((part) => /^[A-Za-z0-9_-]*$/.test(part))
      ) {
        throw new MfaSecretError('mfa.sealed_malformed', `sealed secret is not in the ${VERSION} format`);
      }
      const iv = Buffer.from(ivText, 'base64url');
      const tag = Buffer.from(tagText, 'base64url');
      if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) {
        throw new MfaSecretError('mfa.sealed_malformed', 'sealed secret has a wrong IV or tag length');
      }
      const key = byId.get(keyId);
      if (!key) {
        // Usually a key retired from configuration while rows sealed under it remain.
        throw new MfaSecretError('mfa.sealed_unknown_key', `sealed under key ${keyId}, which is not configured`);
      }
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
        decipher.setAAD(aad(keyId, context));
        decipher.setAuthTag(tag);
        const plaintext = Buffer.concat([decipher.update(Buffer.from(ciphertextText, 'base64url')), decipher.final()]);
        return plaintext.toString('utf8');
      } catch {
        throw new MfaSecretError(
          'mfa.sealed_unauthentic',
          'sealed secret failed authentication: tampered, or sealed for another context',
        );
      }
    },
  };
}
