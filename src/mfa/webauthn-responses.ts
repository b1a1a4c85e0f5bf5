import { z } from 'zod';
import type { AuthenticationResponseJSON, RegistrationResponseJSON } from '@simplewebauthn/server';

/*
 * What a browser may send back from a ceremony, checked before any of it reaches the library:
 * types, base64url alphabet (unpadded, as WebAuthn's JSON forms are) and sizes. The library
 * trusts its input's shape and throws TypeErrors on anything else; a person's request must get a
 * plain "invalid" instead. Unknown members are dropped, so nothing unchecked is passed on.
 */

const base64url = (maxChars: number) => z.string().min(1).max(maxChars).regex(/^[A-Za-z0-9_-]+$/);

// A credential id is at most 1023 bytes (WebAuthn L3 §4, "Credential ID"): 1364 characters.
const credentialId = base64url(1364);
// A user handle is at most 64 bytes (§5.4.3): 86 characters.
const userHandle = base64url(86);
// Room for attestation certificate chains, which a browser may pass on despite attestation "none".
const attestationObject = base64url(32 * 1024);
const clientDataJSON = base64url(8 * 1024);
const authenticatorData = base64url(8 * 1024);
// An RSA-4096 signature is 512 bytes; DER ECDSA and EdDSA are far shorter.
const signature = base64url(1024);

const TRANSPORTS = ['ble', 'cable', 'hybrid', 'internal', 'nfc', 'smart-card', 'usb'] as const;

const common = {
  id: credentialId,
  rawId: credentialId,
  type: z.literal('public-key'),
};

const registration = z.object({
  ...common,
  response: z.object({
    clientDataJSON,
    attestationObject,
    // Transports are a hint for later allow lists; unknown ones are dropped, not refused (§5.8.4).
    transports: z.array(z.string().max(32)).max(16).optional()
      .transform((list) => (list ?? []).filter((transport): transport is typeof TRANSPORTS[number] => (TRANSPORTS as readonly string[]).includes(transport))),
  }),
});

const authentication = z.object({
  ...common,
  response: z.object({
    clientDataJSON,
    authenticatorData,
    signature,
    // Absent for a non-discoverable credential; some clients send null rather than leaving it out.
    userHandle: userHandle.nullish(),
  }),
});

export function parseRegistrationResponse(input: unknown): RegistrationResponseJSON | null {
  const parsed = registration.safeParse(input);
  if (!parsed.success) return null;
  const { response, ...rest } = parsed.data;
  return { ...rest, response: { clientDataJSON: response.clientDataJSON, attestationObject: response.attestationObject, transports: response.transports }, clientExtensionResults: {} };
}

export function parseAuthenticationResponse(input: unknown): AuthenticationResponseJSON | null {
  const parsed = authentication.safeParse(input);
  if (!parsed.success) return null;
  const { response, ...rest } = parsed.data;
  return {
    ...rest,
    response: { clientDataJSON: response.clientDataJSON, authenticatorData: response.authenticatorData, signature: response.signature, ...(response.userHandle ? { userHandle: response.userHandle } : {}) },
    clientExtensionResults: {},
  };
}
