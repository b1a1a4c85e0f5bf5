/*
 * The WebAuthn user handle (user.id) is the account's UUID as its 16 bytes: opaque, no personal
 * data, and at most 64 bytes as WebAuthn L3 §5.4.3 asks. A discoverable credential returns it
 * at sign-in, naming the account before anything else is known.
 */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const isUuid = (value: unknown): value is string => typeof value === 'string' && UUID.test(value);

export function userHandleOf(accountId: string): Uint8Array<ArrayBuffer> {
  if (!isUuid(accountId)) throw new TypeError('an account id is a UUID');
  return new Uint8Array(Buffer.from(accountId.replaceAll('-', ''), 'hex'));
}

/** The account a user handle (base64url) names, or null when it is not 16 bytes. */
export function accountIdOf(userHandle: string): string | null {
  const bytes = Buffer.from(userHandle, 'base64url');
  if (bytes.length !== 16) return null;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
