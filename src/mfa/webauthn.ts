import type {
  generateAuthenticationOptions, generateRegistrationOptions, verifyAuthenticationResponse, verifyRegistrationResponse,
  PublicKeyCredentialCreationOptionsJSON, PublicKeyCredentialRequestOptionsJSON,
} from '@simplewebauthn/server';
import type { Database } from '../db/database.ts';
import type { Clock } from '../clock.ts';
import type { AttemptStore } from '../federation/attempt-store.ts';
import {
  credentialIdTaken, findCredentialById, findCredentialsByAccount, insertCredential, recordCredentialUse, renameCredential,
} from './credentials-repository.ts';
import { parseAuthenticationResponse, parseRegistrationResponse } from './webauthn-responses.ts';
import { accountIdOf, isUuid, userHandleOf } from './user-handle.ts';

interface WebAuthnLibrary {
  generateRegistrationOptions: typeof generateRegistrationOptions;
  verifyRegistrationResponse: typeof verifyRegistrationResponse;
  generateAuthenticationOptions: typeof generateAuthenticationOptions;
  verifyAuthenticationResponse: typeof verifyAuthenticationResponse;
}
let library: Promise<WebAuthnLibrary> | undefined;
/** @simplewebauthn/server on the first ceremony, not at start-up (about 8 MiB that token requests never need). */
const webauthnLibrary = (): Promise<WebAuthnLibrary> => (library ??= import('@simplewebauthn/server'));

export type WebAuthn = ReturnType<typeof createWebAuthn>;

export type RegistrationResult = { ok: true; factorId: string } | { ok: false; reason: 'expired' | 'invalid' | 'duplicate' };
export type AuthenticationResult =
  | { ok: true; accountId: string; factorId: string; amr: string[]; userVerified: boolean }
  | { ok: false; reason: 'expired' | 'invalid' | 'unknown_credential' | 'wrong_account' | 'cloned' };

/** What a ceremony's options left behind for its verification, under `webauthn:<ceremony>`. */
interface PendingCeremony {
  kind: 'registration' | 'authentication';
  challenge: string;
  /** Registration: the account enrolling. Authentication: the account signing in, null when passwordless. */
  accountId: string | null;
  /** By the service's clock (src/clock.ts); the store's own expiry only collects it. */
  expiresAt: number;
}

// Long enough to find a security key and type its PIN; WebAuthn L3 §15.1 recommends 5 to 10 minutes.
const CEREMONY_SECONDS = 300;
// EdDSA, ES256, RS256: what passkey providers and security keys use, the most preferred first.
const ALGORITHMS = [-8, -7, -257];
const DEFAULT_NAME = 'Passkey';

/** A passkey's name as people typed it: one line, trimmed, 1 to 64 characters (the column's check). */
function passkeyName(input: unknown): string {
  const line = (typeof input === 'string' ? input : '').replace(/[\p{Cc}\s]+/gu, ' ').trim();
  return Array.from(line).slice(0, 64).join('').trim() || DEFAULT_NAME;
}

/** The library throws on anything it does not like; every such throw is just a refused response. */
async function refusedOnThrow<T>(verify: () => Promise<T>): Promise<T | null> {
  try {
    return await verify();
  } catch {
    return null;
  }
}

/**
 * RFC 8176 methods of a passkey assertion: a key that may be synced to other devices (backup
 * eligible) is software-secured ("swk"), one bound to its device hardware-secured ("hwk"); the
 * person touched it ("user"); with user verification (PIN, biometrics) the key alone is two
 * factors ("mfa"), something held and something known or been.
 */
const amrOf = (multiDevice: boolean, userVerified: boolean): string[] => [multiDevice ? 'swk' : 'hwk', 'user', ...(userVerified ? ['mfa'] : [])];

/**
 * Passkeys and security keys (WebAuthn Level 3, issue 13) through @simplewebauthn/server: the
 * options for a ceremony, and the verification of its answer. Knows no HTTP. `ceremony` is the
 * caller's key for one ceremony (`interaction:<uid>`, `account:<session>`); its challenge is
 * kept where provider state lives, for one verification only, whatever its outcome.
 */
export function createWebAuthn(deps: { db: Database; issuer: string; brandName: string; clock: Clock; challenges: AttemptStore }) {
  const { db, clock, challenges } = deps;
  const issuer = new URL(deps.issuer);
  // The relying party id is the issuer's host: credentials are scoped to it, and only pages of
  // this origin can use them (WebAuthn L3 §4, "RP ID"), which is what makes them phishing-resistant.
  const rpId = issuer.hostname;
  const origin = issuer.origin;
  const keyOf = (ceremony: string) => `webauthn:${ceremony}`;

  async function remember(ceremony: string, kind: PendingCeremony['kind'], challenge: string, accountId: string | null): Promise<void> {
    const pending: PendingCeremony = { kind, challenge, accountId, expiresAt: clock.now() + CEREMONY_SECONDS * 1000 };
    // A new ceremony under the same key replaces the last one: only the newest options are good.
    await challenges.put(keyOf(ceremony), pending, CEREMONY_SECONDS);
  }

  /** Takes the ceremony (once, atomically), so no response, good or bad, can be verified twice. */
  async function take(ceremony: string): Promise<PendingCeremony | null> {
    const pending = await challenges.take<PendingCeremony>(keyOf(ceremony));
    return pending && pending.expiresAt > clock.now() ? pending : null;
  }

  return {
    rpId,
    origin,

    /** Options to create a discoverable passkey for the account, excluding the ones it has. */
    async registrationOptions(ceremony: string, account: { id: string; email: string; name?: string | null }): Promise<PublicKeyCredentialCreationOptionsJSON> {
      const userID = userHandleOf(account.id);
      const existing = await findCredentialsByAccount(db, account.id);
      const options = await (await webauthnLibrary()).generateRegistrationOptions({
        rpName: deps.brandName,
        rpID: rpId,
        userID,
        userName: account.email,
        userDisplayName: account.name || account.email,
        timeout: CEREMONY_SECONDS * 1000,
        attestationType: 'none',
        excludeCredentials: existing.map((credential) => ({ id: credential.credentialId, transports: credential.transports })),
        // Discoverable ("resident") so the same passkey can also sign in without a password.
        authenticatorSelection: { residentKey: 'required', userVerification: 'preferred' },
        supportedAlgorithmIDs: ALGORITHMS,
      });
      await remember(ceremony, 'registration', options.challenge, account.id);
      return options;
    },

    async verifyRegistration(ceremony: string, accountId: string, response: unknown, name: string): Promise<RegistrationResult> {
      const pending = await take(ceremony);
      if (!pending) return { ok: false, reason: 'expired' };
      if (pending.kind !== 'registration' || pending.accountId !== accountId) return { ok: false, reason: 'invalid' };
      const parsed = parseRegistrationResponse(response);
      if (!parsed) return { ok: false, reason: 'invalid' };
      const verified = await refusedOnThrow(() => webauthnLibrary().then((webauthn) => webauthn.verifyRegistrationResponse({
        response: parsed,
        expectedChallenge: pending.challenge,
        expectedOrigin: origin,
        expectedRPID: rpId,
        // Verification is preferred, not required: a security key without a PIN is still a
        // good second factor. Passwordless sign-in demands it at authentication instead.
        requireUserVerification: false,
        supportedAlgorithmIDs: ALGORITHMS,
      })));
      if (!verified?.verified) return { ok: false, reason: 'invalid' };
      const info = verified.registrationInfo;
      // The id in the authenticator data is the one the key signs for; the JSON's must agree.
      if (info.credential.id !== parsed.id) return { ok: false, reason: 'invalid' };
      if (await credentialIdTaken(db, info.credential.id)) return { ok: false, reason: 'duplicate' };
      const factorId = await insertCredential(db, {
        accountId,
        name: passkeyName(name),
        credentialId: info.credential.id,
        publicKey: info.credential.publicKey,
        signCount: info.credential.counter,
        transports: parsed.response.transports ?? [],
        backupEligible: info.credentialDeviceType === 'multiDevice',
        backedUp: info.credentialBackedUp,
        deviceType: info.credentialDeviceType,
        aaguid: info.aaguid,
      });
      return factorId ? { ok: true, factorId } : { ok: false, reason: 'duplicate' };
    },

    /**
     * With an account (a second factor after its password): that account's credentials, user
     * verification welcome. Without (passwordless): any discoverable credential of ours, and
     * user verification required, so the passkey alone is two factors.
     */
    async authenticationOptions(ceremony: string, accountId?: string | null): Promise<PublicKeyCredentialRequestOptionsJSON> {
      const credentials = accountId ? await findCredentialsByAccount(db, accountId) : [];
      const options = await (await webauthnLibrary()).generateAuthenticationOptions({
        rpID: rpId,
        allowCredentials: credentials.map((credential) => ({ id: credential.credentialId, transports: credential.transports })),
        userVerification: accountId ? 'preferred' : 'required',
        timeout: CEREMONY_SECONDS * 1000,
      });
      await remember(ceremony, 'authentication', options.challenge, accountId ?? null);
      return options;
    },

    async verifyAuthentication(ceremony: string, response: unknown, expectAccountId?: string | null): Promise<AuthenticationResult> {
      const pending = await take(ceremony);
      if (!pending) return { ok: false, reason: 'expired' };
      if (pending.kind !== 'authentication') return { ok: false, reason: 'invalid' };
      const parsed = parseAuthenticationResponse(response);
      if (!parsed) return { ok: false, reason: 'invalid' };
      const credential = await findCredentialById(db, parsed.id);
      if (!credential) return { ok: false, reason: 'unknown_credential' };
      const verified = await refusedOnThrow(() => webauthnLibrary().then((webauthn) => webauthn.verifyAuthenticationResponse({
        response: parsed,
        expectedChallenge: pending.challenge,
        expectedOrigin: origin,
        expectedRPID: rpId,
        // Counter 0 turns off the library's own counter check, which runs before the signature
        // is checked; ours below runs after it, so only a genuine assertion is called a clone.
        credential: { id: credential.credentialId, publicKey: credential.publicKey, counter: 0, transports: credential.transports },
        // Checked below, with the rest of our rules; the library still requires user presence.
        requireUserVerification: false,
      })));
      if (!verified?.verified) return { ok: false, reason: 'invalid' };
      const info = verified.authenticationInfo;
      const passwordless = pending.accountId === null;
      // §7.2 step 6: the user handle, when sent, must name the credential's account; a
      // passwordless sign-in identifies the account by it alone, so there it must be sent.
      const userHandle = parsed.response.userHandle;
      if (userHandle ? accountIdOf(userHandle) !== credential.accountId : passwordless) return { ok: false, reason: 'invalid' };
      // A second factor must be a key of the account whose password was just shown.
      for (const wanted of [pending.accountId, expectAccountId]) {
        if (wanted && wanted !== credential.accountId) return { ok: false, reason: 'wrong_account' };
      }
      if (passwordless && !info.userVerified) return { ok: false, reason: 'invalid' };
      // §7.2 (backup state): backup eligibility is fixed when the credential is made; our amr rests on it.
      const multiDevice = info.credentialDeviceType === 'multiDevice';
      if (credential.backupEligible !== null && credential.backupEligible !== multiDevice) return { ok: false, reason: 'invalid' };
      // §6.1.1: a counter that did not move forward means the key may have been copied.
      if (credential.signCount > 0 && info.newCounter <= credential.signCount) return { ok: false, reason: 'cloned' };
      if (!(await recordCredentialUse(db, credential.factorId, { signCount: info.newCounter, backedUp: info.credentialBackedUp }))) {
        return { ok: false, reason: 'cloned' };
      }
      return { ok: true, accountId: credential.accountId, factorId: credential.factorId, amr: amrOf(multiDevice, info.userVerified), userVerified: info.userVerified };
    },

    /** Renames one of the account's passkeys; false when it has no such passkey. */
    async renamePasskey(accountId: string, factorId: string, name: string): Promise<boolean> {
      if (!isUuid(accountId) || !isUuid(factorId)) return false;
      return renameCredential(db, accountId, factorId, passkeyName(name));
    },

    hasPasskey: async (accountId: string): Promise<boolean> => (await findCredentialsByAccount(db, accountId)).length > 0,
  };
}
