import { hkdfSync, randomBytes } from 'node:crypto';
import { createSecretBox } from '../../mfa/secret-box.ts';

/**
 * A signing secret in the Standard Webhooks form: `whsec_` and the base64 of random bytes (the
 * specification asks for 24 to 64; https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md#signature-scheme).
 * The receiver passes it as it is to the library's `new Webhook(secret)`.
 */
export const generateWebhookSecret = (): string => `whsec_${randomBytes(32).toString('base64')}`;

/** Seals and opens webhook secrets; `webhookId` binds each sealed value to its row. */
export interface WebhookSealer {
  seal(secret: string, webhookId: string): string;
  open(sealed: string, webhookId: string): string;
}

/**
 * The receiver holds the same secret, so whoever reads it can forge deliveries: it is sealed with
 * AES-256-GCM under the configured ENCRYPTION_KEYS (src/mfa/secret-box.ts), each stretched first
 * into a key for this purpose alone (HKDF, RFC 5869, with its own label), as the signing keys are
 * (src/oidc/keys/sealing.ts). Newest key first: sealing uses it, opening whichever sealed the value.
 */
export function createWebhookSealer(encryptionKeys: string[]): WebhookSealer {
  const derived = encryptionKeys.map((key) => Buffer.from(hkdfSync('sha256', Buffer.from(key, 'base64'), Buffer.alloc(0), 'idp webhook secrets', 32)).toString('base64url'));
  const box = createSecretBox(derived);
  const context = (webhookId: string) => `webhook:${webhookId}`;
  return {
    seal: (secret, webhookId) => box.seal(secret, context(webhookId)),
    open: (sealed, webhookId) => box.open(sealed, context(webhookId)),
  };
}
