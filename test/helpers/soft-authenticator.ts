import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import type {
  AuthenticationResponseJSON, PublicKeyCredentialCreationOptionsJSON, PublicKeyCredentialRequestOptionsJSON, RegistrationResponseJSON,
} from '@simplewebauthn/server';

/*
 * A software WebAuthn authenticator and client, for tests in Node: ES256 (P-256) keys from
 * node:crypto, attestation "none", discoverable credentials. It answers options the way a
 * browser and an authenticator together would (WebAuthn L3 §6.1 authenticator data, §5.8.1
 * client data), and each knob makes one part of the answer wrong, so a test can show that the
 * server refuses exactly that.
 */

// --- A CBOR encoder (RFC 8949) for what attestation objects and COSE keys use: unsigned and
// negative integers, byte strings, text strings and maps, in definite lengths.

export type Cbor = number | string | Uint8Array | Map<number | string, Cbor>;

function cborHead(major: number, length: number): Buffer {
  if (length < 24) return Buffer.from([(major << 5) | length]);
  if (length < 0x100) return Buffer.from([(major << 5) | 24, length]);
  if (length < 0x10000) {
    const head = Buffer.alloc(3);
    head[0] = (major << 5) | 25;
    head.writeUInt16BE(length, 1);
    return head;
  }
  const head = Buffer.alloc(5);
  head[0] = (major << 5) | 26;
  head.writeUInt32BE(length, 1);
  return head;
}

export function encodeCbor(value: Cbor): Buffer {
  if (typeof value === 'number') {
    if (!Number.isInteger(value) || Math.abs(value) > 0xffffffff) throw new RangeError('this encoder writes 32-bit integers only');
    return value >= 0 ? cborHead(0, value) : cborHead(1, -1 - value);
  }
  if (typeof value === 'string') {
    const bytes = Buffer.from(value, 'utf8');
    return Buffer.concat([cborHead(3, bytes.length), bytes]);
  }
  if (value instanceof Uint8Array) return Buffer.concat([cborHead(2, value.length), value]);
  const parts = [cborHead(5, value.size)];
  for (const [key, item] of value) parts.push(encodeCbor(key), encodeCbor(item));
  return Buffer.concat(parts);
}

// --- The authenticator.

const FLAG = { UP: 0x01, UV: 0x04, BE: 0x08, BS: 0x10, AT: 0x40 } as const;

const b64url = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64url');
const sha256 = (data: Uint8Array | string): Buffer => createHash('sha256').update(data).digest();

interface SoftCredential {
  id: Buffer;
  privateKey: KeyObject;
  rpId: string;
  /** base64url, as the options' user.id. */
  userHandle: string;
  counter: number;
  backupEligible: boolean;
  backedUp: boolean;
}

/** What every answer can get wrong. */
export interface AnswerKnobs {
  /** clientData origin; default the authenticator's origin. */
  origin?: string;
  /** The RP id hashed into the authenticator data; default the options' RP id. */
  rpId?: string;
  /** The UV flag (PIN, biometrics); default true. */
  userVerified?: boolean;
  /** The UP flag; default true. */
  userPresent?: boolean;
  /** clientData type; default webauthn.create / webauthn.get. */
  type?: string;
  /** clientData challenge; default the options'. */
  challenge?: string;
}

export interface RegisterKnobs extends AnswerKnobs {
  /** BE: may be synced (a passkey provider's); default false, a device-bound key. */
  backupEligible?: boolean;
  /** BS: is backed up now; default as backupEligible. */
  backedUp?: boolean;
  /** The signature counter it starts at; default 0. An authenticator without counter stays at 0. */
  counter?: number;
  transports?: string[];
  /** Makes the new credential under this id (base64url), as a copied key would, ignoring excludeCredentials. */
  credentialId?: string;
}

export interface AuthenticateKnobs extends AnswerKnobs {
  /** Answers with this credential (base64url), whatever the allow list says. */
  credentialId?: string;
  /** The counter to report; default one more than last time (0 stays 0: no counter). */
  counter?: number;
  backupEligible?: boolean;
  backedUp?: boolean;
  /** The user handle to send (base64url); null sends none. Default the credential's. */
  userHandle?: string | null;
}

export interface SoftAuthenticator {
  register(options: PublicKeyCredentialCreationOptionsJSON, knobs?: RegisterKnobs): RegistrationResponseJSON;
  authenticate(options: PublicKeyCredentialRequestOptionsJSON, knobs?: AuthenticateKnobs): AuthenticationResponseJSON;
  /** The ids of the credentials it holds, oldest first. */
  credentialIds(): string[];
}

export function createSoftAuthenticator(settings: { origin: string; rpId: string }): SoftAuthenticator {
  const credentials: SoftCredential[] = [];

  const clientData = (type: string, challenge: string, origin: string): Buffer =>
    Buffer.from(JSON.stringify({ type, challenge, origin, crossOrigin: false }), 'utf8');

  function flags(knobs: AnswerKnobs, backupEligible: boolean, backedUp: boolean, extra = 0): number {
    return (knobs.userPresent === false ? 0 : FLAG.UP) | (knobs.userVerified === false ? 0 : FLAG.UV)
      | (backupEligible ? FLAG.BE : 0) | (backedUp ? FLAG.BS : 0) | extra;
  }

  function counterBytes(counter: number): Buffer {
    const bytes = Buffer.alloc(4);
    bytes.writeUInt32BE(counter);
    return bytes;
  }

  /** COSE_Key of an EC2 P-256 public key for ES256 (RFC 9053 §7.1.1, RFC 9052 §7). */
  function coseKey(privateKey: KeyObject): Buffer {
    const jwk = privateKey.export({ format: 'jwk' });
    return encodeCbor(new Map<number, Cbor>([
      [1, 2], // kty: EC2
      [3, -7], // alg: ES256
      [-1, 1], // crv: P-256
      [-2, Buffer.from(jwk.x!, 'base64url')],
      [-3, Buffer.from(jwk.y!, 'base64url')],
    ]));
  }

  return {
    register(options, knobs = {}) {
      const rpId = options.rp.id ?? settings.rpId;
      const excluded = new Set((options.excludeCredentials ?? []).map((descriptor) => descriptor.id));
      if (!knobs.credentialId && credentials.some((held) => held.rpId === rpId && excluded.has(b64url(held.id)))) {
        throw new Error('InvalidStateError: this authenticator already holds a credential the options exclude');
      }
      const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const id = knobs.credentialId ? Buffer.from(knobs.credentialId, 'base64url') : randomBytes(32);
      const backupEligible = knobs.backupEligible ?? false;
      const credential: SoftCredential = {
        id, privateKey, rpId, userHandle: options.user.id, counter: knobs.counter ?? 0, backupEligible, backedUp: knobs.backedUp ?? backupEligible,
      };
      const idLength = Buffer.alloc(2);
      idLength.writeUInt16BE(id.length);
      const authData = Buffer.concat([
        sha256(knobs.rpId ?? rpId),
        Buffer.from([flags(knobs, credential.backupEligible, credential.backedUp, FLAG.AT)]),
        counterBytes(credential.counter),
        Buffer.alloc(16), // AAGUID: zeros, as attestation "none" may send
        idLength, id, coseKey(privateKey),
      ]);
      const attestationObject = encodeCbor(new Map<string, Cbor>([['fmt', 'none'], ['attStmt', new Map()], ['authData', authData]]));
      credentials.splice(0, credentials.length, ...credentials.filter((held) => !held.id.equals(id)), credential);
      return {
        id: b64url(id),
        rawId: b64url(id),
        type: 'public-key',
        response: {
          clientDataJSON: b64url(clientData(knobs.type ?? 'webauthn.create', knobs.challenge ?? options.challenge, knobs.origin ?? settings.origin)),
          attestationObject: b64url(attestationObject),
          transports: knobs.transports ?? ['internal'],
        },
        clientExtensionResults: {},
        authenticatorAttachment: 'platform',
      };
    },

    authenticate(options, knobs = {}) {
      const rpId = options.rpId ?? settings.rpId;
      const allowed = new Set((options.allowCredentials ?? []).map((descriptor) => descriptor.id));
      const mine = credentials.filter((held) => held.rpId === rpId);
      // An empty allow list is a discoverable request: the authenticator offers its own (the newest).
      const credential = knobs.credentialId
        ? credentials.find((held) => b64url(held.id) === knobs.credentialId)
        : (allowed.size ? mine.filter((held) => allowed.has(b64url(held.id))) : mine).at(-1);
      if (!credential) throw new Error('NotAllowedError: no credential of this authenticator fits the options');
      credential.counter = knobs.counter ?? (credential.counter === 0 ? 0 : credential.counter + 1);
      const authData = Buffer.concat([
        sha256(knobs.rpId ?? rpId),
        Buffer.from([flags(knobs, knobs.backupEligible ?? credential.backupEligible, knobs.backedUp ?? credential.backedUp)]),
        counterBytes(credential.counter),
      ]);
      const clientDataJSON = clientData(knobs.type ?? 'webauthn.get', knobs.challenge ?? options.challenge, knobs.origin ?? settings.origin);
      // §6.3.3: the assertion signs authenticatorData ‖ SHA-256(clientDataJSON); ECDSA in DER.
      const signature = sign('sha256', Buffer.concat([authData, sha256(clientDataJSON)]), credential.privateKey);
      const userHandle = knobs.userHandle === undefined ? credential.userHandle : knobs.userHandle;
      return {
        id: b64url(credential.id),
        rawId: b64url(credential.id),
        type: 'public-key',
        response: {
          clientDataJSON: b64url(clientDataJSON),
          authenticatorData: b64url(authData),
          signature: b64url(signature),
          ...(userHandle === null ? {} : { userHandle }),
        },
        clientExtensionResults: {},
        authenticatorAttachment: 'platform',
      };
    },

    credentialIds: () => credentials.map((held) => b64url(held.id)),
  };
}
